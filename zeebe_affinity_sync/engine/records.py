"""The record log: a bounded, ordered log of what the engine did, modelled on Zeebe's exported records.

Tests and tools read it as plain dicts (:meth:`RecordLog.query`); the engine writes it from the
token machinery and the job / message / timer / incident code, always under the engine lock.

Writing is on the hot path (some 30 records per instance of a two-task process), so a record is
a shared ``(value_type, intent)`` pair appended to ``kinds`` and a few references appended to
one flat list, ``items``; the dict form is built only when someone reads:

- A record's items are values that never change after it is written — keys, ids, the element
  id, a job's retries / deadline / worker / error message as they are now, a variable's value
  (values are treated as immutable) — never a live engine object, so the log does not keep
  finished instances alive, and a record read later shows the state at the time of its event.
  How many items a record has follows from its value type (:data:`WIDTH`).
- Flat, because a record costs no object of its own: a tuple kept per element or job record
  is a container the garbage collector counts until it is collected (kept in the log, the
  dozen per instance of a two-task process made it collect twice as often), and packing the
  values into ``bytes`` instead costs more than the record itself. An element instance's items
  are one tuple built once (``ei.rec``, copied into the list by each of its lifecycle records;
  it dies with the instance), a job's first six the same (``job.rec``), and an instance's keys
  one ``bytes`` (never tracked by the collector). The element's and definition's details are
  looked up by key when the log is read.
- Positions are not stored: record ``i`` is at position ``dropped + i + 1``.
- Timestamps are not stored per record: when the engine lock is released after a command,
  :meth:`RecordLog.seal` (the hook :meth:`RecordLog.sealer` gives the lock) notes the
  engine-clock time for the records written since the last seal (``marks`` and
  ``mark_times``, two parallel lists, so a mark allocates no tuple); each record gets the time
  of the command that wrote it.
- A reader finds a record's items by walking the widths from where the last reader stopped
  (a cursor), so polling with ``since_position`` reads only what is new.

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

#: process instance key, definition key, parent process instance key, parent element instance
#: key, packed (``bytes`` are never tracked by the garbage collector)
InstanceInfo = bytes
_INFO = struct.Struct("<4q")
#: element instance key, flow scope key (-1: none), body flag, element id (None: the process), instance info
ElementStub = Tuple[int, int, bool, Optional[str], InstanceInfo]
Definitions = Mapping[int, model.ProcessDefinition]

# The items of a record, by value type (any other value type: key, fields dict):
# PROCESS_INSTANCE: the element stub (5 items).
# JOB: job key, element instance key, element id, instance info, type, headers (JSON text) (the
#      job's stub, built once per job), then retries, deadline, worker, error message as they are.
# VARIABLE: name, value, scope key, instance info.
#: items per record, by value type
WIDTH: Dict[str, int] = {"PROCESS_INSTANCE": 5, "JOB": 10, "VARIABLE": 4}
_OTHER_WIDTH = 2


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
    stub = ei.rec = (ei.key, parent.key if parent is not None else -1, ei.body,
                     element.id if element is not None else None, ei.instance.info)
    return stub


def job_stub(job: state.Job) -> Tuple[Any, ...]:
    """The first items of every record of ``job`` (they never change): built once, kept in ``job.rec``."""
    ei = job.element_instance
    stub = job.rec = (job.key, ei.key, ei.element.id if ei.element is not None else "", ei.instance.info, job.type,
                      job.headers)
    return stub


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


def _instance_fields(info: bytes, definitions: Definitions) -> Dict[str, Any]:
    key, definition_key, parent_instance, parent_element = _INFO.unpack(info)
    d = definitions.get(definition_key)
    return {
        "process_instance_key": key, "bpmn_process_id": d.bpmn_process_id if d is not None else "",
        "version": d.version if d is not None else -1, "process_definition_key": definition_key,
        "parent_process_instance_key": parent_instance, "parent_element_instance_key": parent_element,
        "tenant_id": _tenant(d) if d is not None else DEFAULT_TENANT,
    }


def _element(definitions: Definitions, definition_key: int,
             element_id: Optional[str]) -> Optional[model.Element]:
    d = definitions.get(definition_key)
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
JOB_CREATED = kind("JOB", "CREATED")
JOB_ACTIVATED = kind("JOB", "ACTIVATED")
JOB_COMPLETED = kind("JOB", "COMPLETED")
VARIABLE_CREATED = kind("VARIABLE", "CREATED")
VARIABLE_UPDATED = kind("VARIABLE", "UPDATED")


def _fields(value_type: str, items: List[Any], at: int, definitions: Definitions) -> Tuple[int, Dict[str, Any]]:
    """(key, fields) of the record whose items start at ``items[at]``."""
    if value_type == "PROCESS_INSTANCE":
        key, scope_key, body, element_id, info = items[at:at + 5]
        fields = _instance_fields(info, definitions)
        element = _element(definitions, fields["process_definition_key"], element_id)
        kind_name = "MULTI_INSTANCE_BODY" if body else element_type(element)
        fields.update({
            "element_id": element_id if element_id is not None else fields["bpmn_process_id"],
            "element_instance_key": key, "bpmn_element_type": kind_name,
            "bpmn_event_type": event_type(element, kind_name), "flow_scope_key": scope_key,
        })
        return key, fields
    if value_type == "JOB":
        key, ei_key, element_id, info, job_type, headers, retries, deadline, worker, error_message = \
            items[at:at + 10]
        fields = _instance_fields(info, definitions)
        fields.update({
            "type": job_type, "retries": retries, "worker": worker, "deadline": deadline,
            "error_message": error_message, "element_id": element_id or "",
            "element_instance_key": ei_key, "custom_headers": json.loads(headers),
        })
        return key, fields
    if value_type == "VARIABLE":
        name, value, scope_key, info = items[at:at + 4]
        fields = _instance_fields(info, definitions)
        for unused in ("parent_process_instance_key", "parent_element_instance_key", "version"):
            del fields[unused]
        fields.update({"name": name, "value": value, "scope_key": scope_key})
        return -1, fields  # the embedded engine gives variables no keys of their own
    key, fields = items[at:at + 2]
    return key, dict(fields)


class RecordLog:
    """Bounded record log; every method runs under the engine lock.

    ``kinds[i]`` is record ``i``'s shared ``(value_type, intent)`` tuple; its items (see the
    module docstring) follow the items of record ``i - 1`` in ``items``.

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
        self.items: Optional[List[Any]] = [] if size else None
        self.dropped = 0                              # records dropped from the front, ever
        self.dropped_items = 0                        # ... and their items
        self.marks: List[int] = []                    # last position written by a command, ascending
        self.mark_times: List[float] = []             # ... and that command's engine time, s
        self._sealed_len = 0                          # records in ``kinds`` that have a mark
        # where a reader last was: (records before it, items before it), both counted ever; a
        # reader walks the items from there (or from the front) to the record it wants
        self._cursor: Tuple[int, int] = (0, 0)

    def clear(self) -> None:
        if self.kinds is not None and self.items is not None:
            self.dropped += len(self.kinds)
            self.dropped_items += len(self.items)
            self.kinds.clear()
            self.items.clear()
            self.marks.clear()
            self.mark_times.clear()
            self._sealed_len = 0

    def seal(self, now_s: float) -> None:
        """Stamp the records written since the last seal with ``now_s``; trim to ``size``."""
        kinds = self.kinds
        if kinds is None:
            return
        written = len(kinds)
        if written != self._sealed_len:
            self._sealed_len = written
            self.marks.append(self.dropped + written)
            self.mark_times.append(now_s)
            if written > self.size:
                self._trim()

    def sealer(self, clock: Any) -> Callable[[], None]:
        """:meth:`seal` at the engine time ``clock`` gives, as one call (the engine lock's release
        hook runs after every command, so it is kept to one frame and no work when nothing was
        written)."""
        kinds, marks, times, size, log = self.kinds, self.marks, self.mark_times, self.size, self
        if kinds is None:
            return lambda: None

        def seal_now() -> None:
            written = len(kinds)
            if written != log._sealed_len:
                log._sealed_len = written
                marks.append(log.dropped + written)
                times.append(_time() + clock.offset)
                if written > size:
                    log._trim()
        return seal_now

    def _offset(self, index: int) -> int:
        """Where record ``index``'s items start in ``items`` (walked from the cursor or the front)."""
        kinds = self.kinds
        assert kinds is not None
        records_before, items_before = self._cursor
        if self.dropped <= records_before <= self.dropped + index:
            start, at = records_before - self.dropped, items_before - self.dropped_items
        else:
            start, at = 0, 0
        width = WIDTH.get
        for i in range(start, index):
            at += width(kinds[i][0], _OTHER_WIDTH)
        self._cursor = (self.dropped + index, self.dropped_items + at)
        return at

    def _trim(self) -> None:
        """Drop the oldest records (in chunks) down to ``size``, their items and their marks."""
        kinds, items = self.kinds, self.items
        assert kinds is not None and items is not None
        excess = len(kinds) - self.size
        if excess > 0:
            cut = min(len(kinds), excess + (self._TRIM_CHUNK if self.size > self._TRIM_CHUNK else 0))
            cut_items = self._offset(cut)
            del kinds[:cut]
            del items[:cut_items]
            self.dropped += cut
            self.dropped_items += cut_items
            self._sealed_len = max(0, self._sealed_len - cut)
            drop_marks = bisect.bisect_right(self.marks, self.dropped)
            if drop_marks:
                del self.marks[:drop_marks]
                del self.mark_times[:drop_marks]

    def add(self, value_type: str, intent: str, key: int, fields: Dict[str, Any]) -> None:
        """Append a record whose fields are known now (the value types off the hot path)."""
        if self.kinds is not None and self.items is not None:
            self.kinds.append(kind(value_type, intent))
            self.items += (key, fields)

    def _timestamp(self, position: int, fallback: float) -> float:
        index = bisect.bisect_left(self.marks, position)
        return self.mark_times[index] if index < len(self.marks) else fallback

    def query(self, now_s: float, definitions: Definitions, *, value_type: Optional[str] = None,
              intent: Optional[str] = None, process_instance_key: Optional[int] = None,
              element_id: Optional[str] = None, since_position: int = 0,
              limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Records as plain dicts, oldest first, filtered (each filter ``None`` = any)."""
        kinds, items = self.kinds, self.items
        if kinds is None or items is None:
            return []
        self.seal(now_s)
        out: List[Dict[str, Any]] = []
        start = max(0, since_position - self.dropped)
        at = self._offset(start) if start < len(kinds) else 0
        width = WIDTH.get
        for index in range(start, len(kinds)):
            record_type, record_intent = kinds[index]
            here = at
            at += width(record_type, _OTHER_WIDTH)
            if (value_type is not None and record_type != value_type) or (intent is not None
                                                                          and record_intent != intent):
                continue
            key, fields = _fields(record_type, items, here, definitions)
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
        if start < len(kinds):
            self._cursor = (self.dropped + index + 1, self.dropped_items + at)
        return out

    def last_position(self) -> int:
        return self.dropped + (len(self.kinds) if self.kinds is not None else 0)
