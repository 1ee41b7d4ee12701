"""One consistent look at a process instance, built from the engine's record log and state.

:class:`InstanceSnapshot` is what every assertion evaluates: the path taken (each element
instance in activation order with its last lifecycle intent), the completion order, the active
and terminated elements, the root variables, the open incidents, the open message subscriptions
and the child instances started by call activities. :meth:`InstanceSnapshot.describe` renders
it for failure messages.
"""
from __future__ import annotations

import json
import threading
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING, Any, DefaultDict, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import EmbeddedZeebe

__all__ = ["InstanceSnapshot", "RecordIndex", "index_of", "take"]

_ENDED = ("ELEMENT_COMPLETED", "ELEMENT_TERMINATED")
_STATE_OF = {"ELEMENT_COMPLETED": "completed", "ELEMENT_TERMINATED": "terminated"}
_MAX_VARIABLES_TEXT = 600


class RecordIndex:
    """The engine's records by process instance, read incrementally (``since_position``).

    A filtered ``records()`` call decodes the whole log; an assertion polls, and a test with many
    instances asserts on each, so the log is read once and kept here by instance key (and child
    instances by parent key). It notices a reset (the log got shorter) and starts over;
    :meth:`clear` does that at once (``ZeebeTestEngine.reset``). Thread-safe (``_lock``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # all below guarded by _lock; any thread that asserts updates them
        self._position = 0
        self._by_instance: DefaultDict[Any, List[Dict[str, Any]]] = defaultdict(list)
        self._children: DefaultDict[Any, List[Tuple[str, Any]]] = defaultdict(list)

    def clear(self) -> None:
        with self._lock:
            self._position = 0
            self._by_instance.clear()
            self._children.clear()

    def update(self, engine: "EmbeddedZeebe") -> None:
        with self._lock:
            last = engine.last_position()
            if last < self._position:  # the log was cleared (reset) since we read it
                self._position = 0
                self._by_instance.clear()
                self._children.clear()
            if last == self._position:
                return
            for record in engine.records(since_position=self._position):
                self._by_instance[record.get("process_instance_key")].append(record)
                if (record.get("value_type") == "PROCESS_INSTANCE" and record.get("bpmn_element_type") == "PROCESS"
                        and record.get("intent") == "ELEMENT_ACTIVATING"):
                    parent = record.get("parent_process_instance_key")
                    if parent is not None and parent != -1:
                        self._children[parent].append((record.get("bpmn_process_id", ""),
                                                       record.get("process_instance_key")))
                self._position = max(self._position, int(record.get("position", 0)))

    def of(self, key: int) -> List[Dict[str, Any]]:
        with self._lock:
            return list(self._by_instance.get(key, ()))

    def children(self, key: int) -> List[Tuple[str, Any]]:
        with self._lock:
            return list(self._children.get(key, ()))


_indexes: "weakref.WeakKeyDictionary[Any, RecordIndex]" = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def index_of(engine: "EmbeddedZeebe") -> RecordIndex:
    """The record index of ``engine`` (made on first use, dropped with the engine)."""
    with _indexes_lock:
        index = _indexes.get(engine)
        if index is None:
            index = _indexes[engine] = RecordIndex()
        return index


class InstanceSnapshot:
    """The state of one process instance at one moment (plain data, no engine references)."""

    def __init__(self, key: int) -> None:
        self.key = key
        self.exists = False
        self.bpmn_process_id = ""
        self.version = 0
        self.process_definition_key: Optional[int] = None
        self.state = "unknown"                       # active | completed | terminated | unknown
        self.path: List[Tuple[str, str]] = []        # (element id, state) per element instance
        self.completed: List[str] = []               # element ids in completion order
        self.activated: List[str] = []
        self.terminated: List[str] = []
        self.active: List[str] = []
        self.variables: Dict[str, Any] = {}
        self.incidents: List[Dict[str, Any]] = []
        self.waiting_messages: List[str] = []
        self.children: List[Tuple[str, int]] = []    # (bpmn process id, child instance key)

    @property
    def ended(self) -> bool:
        return self.state in ("completed", "terminated")

    def describe(self) -> str:
        """The multi-line block shown under an assertion's failure line."""
        if not self.exists:
            return "  (the engine knows no process instance with this key: deployed, created, reset?)"
        path = " -> ".join(f"{eid} ({state})" for eid, state in self.path) or "(nothing activated yet)"
        variables = json.dumps(self.variables, sort_keys=True, default=str)
        if len(variables) > _MAX_VARIABLES_TEXT:
            variables = variables[:_MAX_VARIABLES_TEXT] + f"... ({len(self.variables)} variables)"
        if self.incidents:
            incidents = "; ".join(f"{i.get('error_type')} at {i.get('element_id')}: {i.get('error_message')!r}"
                                  for i in self.incidents)
        else:
            incidents = "none"
        lines = [
            f"  path taken:      {path}",
            f"  active elements: {', '.join(self.active) or 'none'}",
            f"  variables:       {variables}",
            f"  incidents:       {incidents}",
        ]
        if self.waiting_messages:
            lines.append(f"  waiting for:     {', '.join(self.waiting_messages)} (messages)")
        if self.children:
            lines.append("  called:          " + ", ".join(f"{pid} ({key})" for pid, key in self.children))
        return "\n".join(lines)

    def title(self) -> str:
        if not self.exists:
            return f"process instance {self.key}"
        return f"process instance {self.key} of {self.bpmn_process_id!r} v{self.version} ({self.state})"


def take(engine: "EmbeddedZeebe", key: int) -> InstanceSnapshot:
    """Read the instance ``key`` from ``engine`` now.

    Its records (from the :class:`RecordIndex`) give the path, the message subscriptions, the
    child instances and the variables of an instance the engine's history no longer holds.
    """
    snap = InstanceSnapshot(key)
    index = index_of(engine)
    index.update(engine)
    own = index.of(key)
    records = [r for r in own if r.get("value_type") == "PROCESS_INSTANCE"]
    last: Dict[int, str] = {}            # element instance key -> last intent
    order: List[Tuple[int, str]] = []     # (element instance key, element id) in activation order
    for record in records:
        intent = record.get("intent", "")
        if record.get("bpmn_element_type") == "PROCESS":
            snap.exists = True
            snap.bpmn_process_id = record.get("bpmn_process_id", "")
            snap.version = record.get("version", 0)
            snap.process_definition_key = record.get("process_definition_key")
            if intent == "ELEMENT_COMPLETED":
                snap.state = "completed"
            elif intent == "ELEMENT_TERMINATED":
                snap.state = "terminated"
            elif snap.state == "unknown":
                snap.state = "active"
            continue
        element_key = record.get("key")
        if element_key not in last:
            order.append((element_key, record.get("element_id", "")))
            snap.activated.append(record.get("element_id", ""))
        last[element_key] = intent
        if intent == "ELEMENT_COMPLETED":
            snap.completed.append(record.get("element_id", ""))
        elif intent == "ELEMENT_TERMINATED":
            snap.terminated.append(record.get("element_id", ""))
    for element_key, element_id in order:
        intent = last[element_key]
        state = _STATE_OF.get(intent, "active")
        snap.path.append((element_id, state))
        if state == "active":
            snap.active.append(element_id)
    view = engine.process_instance(key)
    if view is not None:
        snap.exists = True
        snap.variables = dict(view.get("variables") or {})
        snap.bpmn_process_id = snap.bpmn_process_id or view.get("bpmn_process_id", "")
        snap.version = snap.version or view.get("version", 0)
        if snap.process_definition_key is None:
            snap.process_definition_key = view.get("process_definition_key")
        if snap.state == "unknown":
            state = str(view.get("state", "")).upper()
            snap.state = "active" if state == "ACTIVE" else "completed" if state == "COMPLETED" else "terminated"
    elif snap.exists:
        snap.variables = _variables_from_records(own, key)
    snap.incidents = [i for i in engine.incidents() if i.get("process_instance_key") == key]
    snap.waiting_messages = _open_subscriptions(own)
    snap.children = index.children(key)
    return snap


def _variables_from_records(own: List[Dict[str, Any]], key: int) -> Dict[str, Any]:
    # The instance fell out of the engine's bounded history: rebuild its root scope from the log.
    variables: Dict[str, Any] = {}
    for record in own:
        if record.get("value_type") == "VARIABLE" and record.get("scope_key") == key:
            variables[record.get("name", "")] = record.get("value")
    return variables


def _open_subscriptions(own: List[Dict[str, Any]]) -> List[str]:
    open_: Dict[Any, str] = {}  # subscription key -> message name
    for record in own:
        if record.get("value_type") != "MESSAGE_SUBSCRIPTION":
            continue
        intent = record.get("intent")
        if intent == "CREATED":
            open_[record.get("key")] = record.get("message_name", "")
        elif intent in ("DELETED", "REJECTED") or (intent == "CORRELATED" and record.get("interrupting", True)):
            # a non-interrupting boundary event keeps its subscription after correlating
            open_.pop(record.get("key"), None)
    return sorted(set(open_.values()))
