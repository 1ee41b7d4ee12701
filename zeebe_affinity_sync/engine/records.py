"""The record log: a bounded, ordered log of what the engine did, modelled on Zeebe's exported records.

Tests and tools read it as plain dicts (:meth:`RecordLog.query`); the engine writes it from the
token machinery and the job / message / timer / incident code, always under the engine lock.

Writing is on the hot path (some 30 records per instance of a two-task process), so a record is
two list appends of shared objects, and the dict form is built only when someone reads:

- An entry is a shared ``(value_type, intent)`` pair plus a *subject*. The subject holds only
  values that never change after it is written — keys, ids, copies of a job's retries and worker,
  a variable's value (values are treated as immutable) — never a live engine object, so the log
  does not keep finished instances alive. The hot subjects are packed ``bytes`` (``struct``):
  an element instance's is built once and shared by its lifecycle records, a job's record is its
  stub (built once) plus the fields that change from record to record. Packing costs a fraction
  of formatting keys as decimal text, and bytes, unlike tuples, are never tracked by the garbage
  collector: ~15 tuples per instance made it run twice as often (and sweep the whole heap more
  often). The element's and definition's details are looked up by key when the log is read.
- Positions are not stored: entry ``i`` is at position ``dropped + i + 1``.
- Timestamps are not stored per entry: when the engine lock is released after a command,
  :meth:`RecordLog.seal` (the hook :meth:`RecordLog.sealer` gives the lock) notes the
  engine-clock time for the entries written since the last seal (``marks`` and ``mark_times``,
  two parallel lists, so a mark allocates no tuple for the collector to count); each record gets
  the time of the command that wrote it.

Bounded: at most ``size`` records once a command is done (oldest dropped first, in chunks, at
the seal; positions keep counting). ``size=0`` turns the log off.
"""
from __future__ import annotations

import bisect
import json
import struct
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from . import model, state

__all__ = ["RecordLog", "instance_info", "element_type", "event_type", "DEFAULT_TENANT"]

DEFAULT_TENANT = "<default>"

_time = time.time

_EVENT_TYPES = {model.NONE: "NONE", model.MESSAGE: "MESSAGE", model.TIMER: "TIMER", model.ERROR: "ERROR",
                model.TERMINATE: "TERMINATE"}

# The hot subjects are packed bytes: bytes, like str, are never tracked by the garbage collector
# (a tuple is counted as a new container until a collection has seen it, and ~15 of them per
# instance made the collector run twice as often), and packing costs far less than formatting
# the keys as decimal text.
#: process instance key, definition key, parent process instance key, parent element instance key
InstanceInfo = bytes
_INFO = struct.Struct("<4q")
#: element instance key, flow scope key, body flag, has-element flag; then the instance info,
#: then the element id (UTF-8)
ElementStub = bytes
_ELEMENT = struct.Struct("<qqBB")
_ELEMENT_ID_AT = _ELEMENT.size + _INFO.size
#: job key, element instance key, lengths of type / element id / headers; the instance info;
#: then those three texts. A record appends retries, deadline, lengths of worker / error message
#: and those two texts.
JobStub = bytes
_JOB = struct.Struct("<qqIII")
_JOB_FIELDS = struct.Struct("<qqII")
# any str round-trips, lone surrogates included (a Python caller's error message may have one)
_UTF8, _ANY = "utf-8", "surrogatepass"
Definitions = Mapping[int, model.ProcessDefinition]


def instance_info(instance: state.ProcessInstance) -> InstanceInfo:
    """What every record of an instance says about it (computed once per instance)."""
    parent = instance.parent_element
    if parent is None:
        return _INFO.pack(instance.key, instance.definition.key, -1, -1)
    return _INFO.pack(instance.key, instance.definition.key, parent.instance.key, parent.key)


def element_stub(ei: state.ElementInstance) -> ElementStub:
    """The subject of ``ei``'s lifecycle records: built on its first record, kept in ``ei.rec``."""
    parent = ei.parent
    element = ei.element
    if element is None:
        stub = _ELEMENT.pack(ei.key, parent.key if parent is not None else -1, ei.body, 0) + ei.instance.info
    else:
        stub = b"".join((_ELEMENT.pack(ei.key, parent.key if parent is not None else -1, ei.body, 1),
                         ei.instance.info, element.id.encode(_UTF8, _ANY)))
    ei.rec = stub
    return stub


def job_stub(job: state.Job) -> JobStub:
    """What every record of ``job`` says about it: built on its first record, kept in ``job.rec``."""
    ei = job.element_instance
    job_type = job.type.encode(_UTF8, _ANY)
    element_id = (ei.element.id if ei.element is not None else "").encode(_UTF8, _ANY)
    headers = job.headers.encode(_UTF8, _ANY)
    stub = job.rec = b"".join((_JOB.pack(job.key, ei.key, len(job_type), len(element_id), len(headers)),
                               ei.instance.info, job_type, element_id, headers))
    return stub


def job_subject(job: state.Job) -> bytes:
    """The subject of one JOB record: the job's stub, then the fields as they are now."""
    worker = job.worker.encode(_UTF8, _ANY)
    error = job.error_message.encode(_UTF8, _ANY)
    return b"".join((job.rec or job_stub(job), _JOB_FIELDS.pack(job.retries, job.deadline, len(worker), len(error)),
                     worker, error))


def _info(data: bytes, offset: int) -> Tuple[int, int, int, int]:
    return _INFO.unpack_from(data, offset)  # type: ignore[return-value]


def element_type(element: Optional[model.Element]) -> str:
    """Zeebe's ``bpmnElementType`` of an element (``None``: the process)."""
    from .elements import behaviour_of  # the behaviours import the runtime's pieces; import late

    return behaviour_of(element).bpmn_element_type


def event_type(element: Optional[model.Element], bpmn_element_type: str) -> str:
    """Zeebe's ``bpmnEventType``: the event definition of an event, UNSPECIFIED for the rest."""
    if element is None or not bpmn_element_type.endswith("_EVENT"):
        return "UNSPECIFIED"
    return _EVENT_TYPES.get(element.event, element.event.upper())


def _tenant(definition: model.ProcessDefinition) -> str:
    return getattr(definition, "tenant_id", DEFAULT_TENANT) or DEFAULT_TENANT


def _instance_fields(info: Tuple[int, int, int, int], definitions: Definitions) -> Dict[str, Any]:
    key, definition_key, parent_instance, parent_element = info
    d = definitions.get(definition_key)
    return {
        "process_instance_key": key, "bpmn_process_id": d.bpmn_process_id if d is not None else "",
        "version": d.version if d is not None else -1, "process_definition_key": definition_key,
        "parent_process_instance_key": parent_instance, "parent_element_instance_key": parent_element,
        "tenant_id": _tenant(d) if d is not None else DEFAULT_TENANT,
    }


def _element(definitions: Definitions, info: Tuple[int, int, int, int],
             element_id: Optional[str]) -> Optional[model.Element]:
    d = definitions.get(info[1])
    if d is None or element_id is None:
        return None
    return d.process.elements.get(element_id)


#: the (value_type, intent) pairs of the hot records, built once (a record stores a reference)
_KINDS: Dict[Tuple[str, str], Tuple[str, str]] = {}


def kind(value_type: str, intent: str) -> Tuple[str, str]:
    """The shared ``(value_type, intent)`` tuple for a record kind."""
    pair = (value_type, intent)
    return _KINDS.setdefault(pair, pair)


class Kinds(Dict[str, Tuple[str, str]]):
    """intent -> the shared ``(value_type, intent)`` pair of one value type (one lookup on the hot path)."""

    def __init__(self, value_type: str) -> None:
        super().__init__()
        self.value_type = value_type

    def __missing__(self, intent: str) -> Tuple[str, str]:
        pair = self[intent] = kind(self.value_type, intent)
        return pair


PI_ACTIVATING = kind("PROCESS_INSTANCE", "ELEMENT_ACTIVATING")
PI_ACTIVATED = kind("PROCESS_INSTANCE", "ELEMENT_ACTIVATED")
PI_COMPLETING = kind("PROCESS_INSTANCE", "ELEMENT_COMPLETING")
PI_COMPLETED = kind("PROCESS_INSTANCE", "ELEMENT_COMPLETED")
PI_TERMINATING = kind("PROCESS_INSTANCE", "ELEMENT_TERMINATING")
PI_TERMINATED = kind("PROCESS_INSTANCE", "ELEMENT_TERMINATED")
VARIABLE_CREATED = kind("VARIABLE", "CREATED")
VARIABLE_UPDATED = kind("VARIABLE", "UPDATED")


def _fields(value_type: str, subject: Any, definitions: Definitions) -> Tuple[int, Dict[str, Any]]:
    """(key, fields) of a record from its stored subject."""
    if value_type == "PROCESS_INSTANCE":
        key, scope_key, body_flag, has_element = _ELEMENT.unpack_from(subject, 0)
        info = _info(subject, _ELEMENT.size)
        element_id = subject[_ELEMENT_ID_AT:].decode(_UTF8, _ANY) if has_element else None
        body = bool(body_flag)
        fields = _instance_fields(info, definitions)
        element = _element(definitions, info, element_id)
        kind_name = "MULTI_INSTANCE_BODY" if body else element_type(element)
        fields.update({
            "element_id": element_id if element_id is not None else fields["bpmn_process_id"],
            "element_instance_key": key, "bpmn_element_type": kind_name,
            "bpmn_event_type": event_type(element, kind_name), "flow_scope_key": scope_key,
        })
        return key, fields
    if value_type == "JOB":
        key, ei_key, type_len, id_len, headers_len = _JOB.unpack_from(subject, 0)
        info = _info(subject, _JOB.size)
        at = _JOB.size + _INFO.size
        job_type = subject[at:at + type_len].decode(_UTF8, _ANY)
        at += type_len
        element_id = subject[at:at + id_len].decode(_UTF8, _ANY)
        at += id_len
        headers = subject[at:at + headers_len].decode(_UTF8, _ANY)
        at += headers_len
        retries, deadline, worker_len, error_len = _JOB_FIELDS.unpack_from(subject, at)
        at += _JOB_FIELDS.size
        worker = subject[at:at + worker_len].decode(_UTF8, _ANY)
        at += worker_len
        error_message = subject[at:at + error_len].decode(_UTF8, _ANY)
        fields = _instance_fields(info, definitions)
        fields.update({
            "type": job_type, "retries": retries, "worker": worker, "deadline": deadline,
            "error_message": error_message, "element_id": element_id or "",
            "element_instance_key": ei_key, "custom_headers": json.loads(headers),
        })
        return key, fields
    if value_type == "VARIABLE":
        name, value, scope_key, info = subject
        fields = _instance_fields(_info(info, 0), definitions)
        for unused in ("parent_process_instance_key", "parent_element_instance_key", "version"):
            del fields[unused]
        fields.update({"name": name, "value": value, "scope_key": scope_key})
        return -1, fields  # the embedded engine gives variables no keys of their own
    key, fields = subject
    return key, dict(fields)


class RecordLog:
    """Bounded record log; every method runs under the engine lock.

    Two parallel lists hold the records: ``kinds[i]`` is a shared ``(value_type, intent)`` tuple
    and ``subjects[i]`` what the record is about (for an element, bytes built once per element
    instance). The garbage collector, which runs every few hundred new container objects, is
    not driven by the hot records at all (a VARIABLE record's tuple is the one container).

    Args:
        size: Records kept (oldest dropped first); 0 disables the log.
    """

    _TRIM_CHUNK = 1024  # records dropped at a time once the log is over its size

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"record_log_size must be an int >= 0 (0 turns the log off), got {size!r}")
        self.size = size
        # all guarded by the engine lock
        self.kinds: Optional[List[Tuple[str, str]]] = [] if size else None
        self.subjects: Optional[List[Any]] = [] if size else None
        self.dropped = 0                              # records dropped from the front, ever
        self.marks: List[int] = []                    # last position written by a command, ascending
        self.mark_times: List[float] = []             # ... and that command's engine time, s
        self._sealed = 0                              # last position with a mark

    def clear(self) -> None:
        if self.kinds is not None and self.subjects is not None:
            self.dropped += len(self.kinds)
            self.kinds.clear()
            self.subjects.clear()
            self.marks.clear()
            self.mark_times.clear()
            self._sealed = self.dropped

    def seal(self, now_s: float) -> None:
        """Stamp the records written since the last seal with ``now_s``; trim to ``size``."""
        kinds = self.kinds
        if kinds is None:
            return
        last = self.dropped + len(kinds)
        if last != self._sealed:
            self.marks.append(last)
            self.mark_times.append(now_s)
            self._sealed = last
            if len(kinds) > self.size:
                self._trim()

    def sealer(self, clock: Any) -> Callable[[], None]:
        """:meth:`seal` at the engine time ``clock`` gives, as one call (the engine lock's release
        hook runs after every command, so it is kept to one frame and no work when nothing was
        written)."""
        kinds, marks, times = self.kinds, self.marks, self.mark_times
        if kinds is None:
            return lambda: None

        def seal_now() -> None:
            last = self.dropped + len(kinds)
            if last != self._sealed:
                marks.append(last)
                times.append(_time() + clock.offset)
                self._sealed = last
                if len(kinds) > self.size:
                    self._trim()
        return seal_now

    def _trim(self) -> None:
        """Drop the oldest records (in chunks) down to ``size``, and their marks."""
        kinds, subjects = self.kinds, self.subjects
        assert kinds is not None and subjects is not None
        excess = len(kinds) - self.size
        if excess > 0:
            cut = min(len(kinds), excess + (self._TRIM_CHUNK if self.size > self._TRIM_CHUNK else 0))
            del kinds[:cut]
            del subjects[:cut]
            self.dropped += cut
            first = self.dropped + 1
            drop_marks = bisect.bisect_left(self.marks, first)
            if drop_marks:
                del self.marks[:drop_marks]
                del self.mark_times[:drop_marks]

    def add(self, value_type: str, intent: str, key: int, fields: Dict[str, Any]) -> None:
        """Append a record whose fields are known now (the value types off the hot path)."""
        if self.kinds is not None and self.subjects is not None:
            self.kinds.append(kind(value_type, intent))
            self.subjects.append((key, fields))

    def _timestamp(self, position: int, fallback: float) -> float:
        index = bisect.bisect_left(self.marks, position)
        return self.mark_times[index] if index < len(self.marks) else fallback

    def query(self, now_s: float, definitions: Definitions, *, value_type: Optional[str] = None,
              intent: Optional[str] = None, process_instance_key: Optional[int] = None,
              element_id: Optional[str] = None, since_position: int = 0,
              limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Records as plain dicts, oldest first, filtered (each filter ``None`` = any)."""
        kinds, subjects = self.kinds, self.subjects
        if kinds is None or subjects is None:
            return []
        self.seal(now_s)
        out: List[Dict[str, Any]] = []
        start = max(0, since_position - self.dropped)
        for index in range(start, len(kinds)):
            record_type, record_intent = kinds[index]
            if (value_type is not None and record_type != value_type) or (intent is not None
                                                                          and record_intent != intent):
                continue
            key, fields = _fields(record_type, subjects[index], definitions)
            if process_instance_key is not None and fields.get("process_instance_key") != process_instance_key:
                continue
            if element_id is not None and fields.get("element_id") != element_id:
                continue
            position = self.dropped + index + 1
            record = {"position": position, "timestamp": int(self._timestamp(position, now_s) * 1000),
                      "value_type": record_type, "intent": record_intent, "key": key, "record_type": "EVENT"}
            record.update(fields)
            out.append(record)
            if limit is not None and len(out) >= limit:
                break
        return out

    def last_position(self) -> int:
        return self.dropped + (len(self.kinds) if self.kinds is not None else 0)
