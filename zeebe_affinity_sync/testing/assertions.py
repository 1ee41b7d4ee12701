"""``assert_that(instance)``: waiting, chainable assertions on a process instance.

Each assertion first lets the engine settle (:meth:`ZeebeTestEngine.wait_for_idle`, so mocks have
run), then checks; while it does not hold it checks again until ``timeout`` seconds have passed,
so a test never sleeps. It fails early when waiting cannot help: the instance has ended, an
element that must not be activated was, or the instance does not exist. Element ids are checked
against the process model first: a typo fails at once, listing the ids that exist.

The failure message shows the path taken so far, the active elements, the variables and the
incidents (see :class:`~.snapshot.InstanceSnapshot`).
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from . import models
from .errors import ProcessAssertionError
from .settings import DEFAULT_ASSERT_TIMEOUT, current_engine, default_timeout
from .snapshot import InstanceSnapshot, take

__all__ = ["assert_that", "ProcessInstanceAssert", "ANY", "DEFAULT_ASSERT_TIMEOUT"]

_POLL = 0.002
_POLL_MAX = 0.025
# pytest leaves this module's frames out of a failure's traceback: the user's line is what matters
__tracebackhide__ = True


class _Any:
    """``has_variable(name)`` without a value: any value will do."""

    def __repr__(self) -> str:
        return "<any>"


ANY: Any = _Any()


def _instance_key(instance: Any) -> int:
    if isinstance(instance, bool):
        raise TypeError("assert_that() needs a process instance, a ProcessOutcome or an instance key, got a bool")
    if isinstance(instance, int):
        return instance
    if isinstance(instance, str) and instance.isdigit():
        return int(instance)
    if isinstance(instance, Mapping) and "process_instance_key" in instance:
        return int(instance["process_instance_key"])
    key = getattr(instance, "process_instance_key", None)
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    raise TypeError(f"assert_that() needs a ProcessInstance, a ProcessOutcome or an instance key (int), "
                    f"got {type(instance).__name__}")


def assert_that(instance: Any, timeout: Optional[float] = None, *, engine: Any = None) -> "ProcessInstanceAssert":
    """Assertions on one process instance.

    Args:
        instance: A :class:`~zeebe_affinity_sync.zeebe.types.ProcessInstance` (what
            ``create_process_instance`` returns), a
            :class:`~zeebe_affinity_sync.affinity.outcome.ProcessOutcome`, anything with a
            ``process_instance_key``, or the key itself.
        timeout: Seconds each assertion waits for its condition (default ``zeebe_assert_timeout``
            from pytest.ini, else 5).
        engine: The engine to read (default the ``zeebe_engine`` of the running test).

    Raises:
        TypeError: ``instance`` is none of the above.
        RuntimeError: No engine: use the ``zeebe_engine`` fixture (or pass ``engine=``).
    """
    key = _instance_key(instance)
    engine = engine if engine is not None else current_engine()
    if engine is None:
        raise RuntimeError("assert_that() has no engine to read: request the zeebe_engine fixture in the test "
                           "(or pass engine=...)")
    if timeout is None:
        timeout = default_timeout()
    elif not 0 <= float(timeout) < float("inf"):
        raise ValueError(f"timeout must be a finite number of seconds >= 0, got {timeout!r}")
    return ProcessInstanceAssert(engine, key, float(timeout))


# (holds, final, what was found) for one snapshot
Check = Callable[[InstanceSnapshot], Tuple[bool, bool, str]]


class ProcessInstanceAssert:
    """Chainable assertions on one process instance; see :func:`assert_that`.

    Every method returns ``self`` or raises
    :class:`~zeebe_affinity_sync.testing.errors.ProcessAssertionError` (an ``AssertionError``).
    """

    def __init__(self, engine: Any, key: int, timeout: float) -> None:
        self.engine = engine
        self.process_instance_key = key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<assert_that({self.process_instance_key}) timeout={self.timeout:g}s>"

    # ------------------------------------------------------------------ the state
    def is_active(self) -> "ProcessInstanceAssert":
        """The instance is still running (not completed, not terminated)."""
        return self._wait("to be active", lambda s: (s.state == "active", s.ended, f"it is {s.state}"))

    def is_completed(self) -> "ProcessInstanceAssert":
        """The instance reached its end (all its tokens completed)."""
        return self._wait("to be completed", lambda s: (s.state == "completed", s.ended, f"it is {s.state}"))

    def is_terminated(self) -> "ProcessInstanceAssert":
        """The instance was terminated (e.g. cancelled)."""
        return self._wait("to be terminated", lambda s: (s.state == "terminated", s.ended, f"it is {s.state}"))

    # ------------------------------------------------------------------ elements
    def has_completed_elements(self, *element_ids: str) -> "ProcessInstanceAssert":
        """Each of these elements completed (at least once)."""
        ids = self._element_ids(element_ids, "has_completed_elements")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            missing = [e for e in ids if e not in s.completed]
            return not missing, s.ended, f"not completed: {', '.join(missing)}"

        return self._wait(f"to have completed {_names(ids)}", check)

    def has_completed_elements_in_order(self, *element_ids: str) -> "ProcessInstanceAssert":
        """These elements completed in this order (others may come between them)."""
        ids = self._element_ids(element_ids, "has_completed_elements_in_order")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            position = 0
            for element_id in s.completed:
                if position < len(ids) and element_id == ids[position]:
                    position += 1
            return position == len(ids), s.ended, f"completion order: {', '.join(s.completed) or 'nothing'}"

        return self._wait(f"to have completed {_names(ids)} in this order", check)

    def has_active_elements(self, *element_ids: str) -> "ProcessInstanceAssert":
        """Each of these elements is active now (e.g. a task waiting for its worker)."""
        ids = self._element_ids(element_ids, "has_active_elements")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            missing = [e for e in ids if e not in s.active]
            return not missing, s.ended, f"not active: {', '.join(missing)}"

        return self._wait(f"to have active {_names(ids)}", check)

    def has_terminated_elements(self, *element_ids: str) -> "ProcessInstanceAssert":
        """Each of these elements was terminated (interrupted by an event, or the instance cancelled)."""
        ids = self._element_ids(element_ids, "has_terminated_elements")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            missing = [e for e in ids if e not in s.terminated]
            return not missing, s.ended, f"not terminated: {', '.join(missing)}"

        return self._wait(f"to have terminated {_names(ids)}", check)

    def has_not_activated_elements(self, *element_ids: str) -> "ProcessInstanceAssert":
        """None of these elements was ever activated (checked once the engine has settled)."""
        ids = self._element_ids(element_ids, "has_not_activated_elements")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            seen = [e for e in ids if e in s.activated]
            return not seen, True, f"activated: {', '.join(seen)}"  # activated stays activated

        return self._wait(f"not to have activated {_names(ids)}", check)

    # ------------------------------------------------------------------ messages, variables, incidents
    def is_waiting_for_messages(self, *names: str) -> "ProcessInstanceAssert":
        """The instance has an open subscription for each of these message names."""
        wanted = _strings(names, "is_waiting_for_messages", "message names")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            missing = [n for n in wanted if n not in s.waiting_messages]
            return not missing, s.ended, (f"not waiting for {', '.join(missing)}; waiting for "
                                          f"{', '.join(s.waiting_messages) or 'no message'}")

        return self._wait(f"to wait for the message(s) {_names(wanted)}", check)

    def has_variable(self, name: str, value: Any = ANY) -> "ProcessInstanceAssert":
        """The instance has the root variable ``name`` (equal to ``value``, when given)."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"has_variable() needs a variable name, got {name!r}")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            if name not in s.variables:
                return False, s.ended, f"there is no variable {name!r}"
            if value is ANY or s.variables[name] == value:
                return True, True, ""
            return False, s.ended, f"{name} = {_show(s.variables[name])}"

        wanted = name if value is ANY else f"{name} = {_show(value)}"
        return self._wait(f"to have the variable {wanted}", check)

    def has_variables(self, variables: Mapping[str, Any]) -> "ProcessInstanceAssert":
        """The instance has each of these root variables with these values."""
        if not isinstance(variables, Mapping) or not variables:
            raise TypeError(f"has_variables() needs a non-empty dict of name: value, got {variables!r}")
        expected = dict(variables)

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            wrong = []
            for name, value in expected.items():
                if name not in s.variables:
                    wrong.append(f"{name} is missing")
                elif value is not ANY and s.variables[name] != value:
                    wrong.append(f"{name} = {_show(s.variables[name])}")
            return not wrong, s.ended, "; ".join(wrong)

        return self._wait(f"to have the variables {_show(expected)}", check)

    def has_no_incidents(self) -> "ProcessInstanceAssert":
        """The instance has no open incident (checked once the engine has settled)."""
        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            return not s.incidents, True, f"{len(s.incidents)} open incident(s)"

        return self._wait("to have no incidents", check)

    def has_incident(self, error_type: Optional[str] = None,
                     message_contains: Optional[str] = None) -> "ProcessInstanceAssert":
        """The instance has an open incident (of ``error_type``, e.g. ``"JOB_NO_RETRIES"``, whose
        message contains ``message_contains``, when given)."""
        def matches(incident: Dict[str, Any]) -> bool:
            if error_type is not None and incident.get("error_type") != error_type:
                return False
            return message_contains is None or message_contains in str(incident.get("error_message", ""))

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            found = any(matches(i) for i in s.incidents)
            return found, s.ended, "no matching incident"

        what = "an incident"
        if error_type is not None:
            what += f" of type {error_type}"
        if message_contains is not None:
            what += f" whose message contains {message_contains!r}"
        return self._wait(f"to have {what}", check)

    def has_called_process(self, bpmn_process_id: str) -> "ProcessInstanceAssert":
        """A call activity of the instance started an instance of ``bpmn_process_id``."""
        if not isinstance(bpmn_process_id, str) or not bpmn_process_id:
            raise TypeError(f"has_called_process() needs a BPMN process id, got {bpmn_process_id!r}")

        def check(s: InstanceSnapshot) -> Tuple[bool, bool, str]:
            called = [pid for pid, _ in s.children]
            return bpmn_process_id in called, s.ended, f"called: {', '.join(called) or 'no process'}"

        return self._wait(f"to have called the process {bpmn_process_id!r}", check)

    # ------------------------------------------------------------------ machinery
    def _element_ids(self, element_ids: Iterable[str], method: str) -> List[str]:
        ids = _strings(element_ids, method, "element ids")
        snap = self._snapshot()
        if snap.process_definition_key is None:
            return ids  # unknown instance: the wait reports it
        known = models.element_ids(self.engine.engine, snap.process_definition_key)
        unknown = [e for e in ids if e not in known]
        if known and unknown:
            hints = "".join(models.suggest(e, known) for e in unknown)
            raise ProcessAssertionError(
                f"{method}(): no element {', '.join(repr(e) for e in unknown)} in process "
                f"{snap.bpmn_process_id!r}{hints}; its element ids: {', '.join(known)}")
        return ids

    def _snapshot(self) -> InstanceSnapshot:
        return take(self.engine, self.process_instance_key)

    def _settle(self, deadline: float) -> None:
        wait = getattr(self.engine, "wait_for_idle", None)
        if wait is None:
            return
        try:
            wait(max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            pass  # still busy (a loop, a real worker): check what is there and keep polling

    def _wait(self, expectation: str, check: Check) -> "ProcessInstanceAssert":
        start = time.monotonic()
        deadline = start + self.timeout
        delay = _POLL
        while True:
            self._settle(deadline)
            snap = self._snapshot()
            holds, final, found = check(snap) if snap.exists else (False, True, "it does not exist")
            if holds:
                return self
            now = time.monotonic()
            if final or now >= deadline:
                waited = "" if final and now < deadline else f" (waited {now - start:.1f} s)"
                raise ProcessAssertionError(
                    f"expected {snap.title()} {expectation}, but {found}{waited}\n{snap.describe()}")
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, _POLL_MAX)


def _strings(values: Iterable[str], method: str, what: str) -> List[str]:
    items = list(values)
    if not items:
        raise TypeError(f"{method}() needs at least one of the {what}")
    for item in items:
        if not isinstance(item, str) or not item:
            raise TypeError(f"{method}(): {what} are non-empty strings, got {item!r}")
    return items


def _names(ids: List[str]) -> str:
    return ", ".join(ids)


def _show(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)
