"""Timer events: due dates from ``timeDuration`` / ``timeDate`` / ``timeCycle``, timer start
events, and the repetitions of non-interrupting cycle boundary timers.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock (the scheduler's callbacks take it). Zeebe's rules (checked at deploy by :mod:`.bpmn`):

* an intermediate catch event waits for a duration or until a date;
* a boundary timer fires after a duration, at a date, or - non-interrupting only - on a cycle,
  each repetition starting a new token beside the still-running activity, until the cycle's
  repetitions are used up or the activity is left;
* a process-level timer start event creates an instance at its date, or one per repetition of
  its cycle; deploying a new version of the process moves its timers to the new version (the old
  version's timers are cancelled), as Zeebe does.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from . import model, timers
from .expressions import ExpressionError, type_name

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine
    from .scheduler import Handle

logger = logging.getLogger(__name__)

__all__ = ["TimerEventsMixin", "TimerState"]

#: a cycle's state between firings: the cycle, repetitions left (timers.INFINITE), last due date
TimerState = Tuple[timers.Cycle, int, datetime]


class TimerEventsMixin:
    def __init__(self) -> None:
        # bpmn_process_id -> start event id -> the next firing of its latest version; guarded by the lock
        self._timer_starts: Dict[Tuple[str, str], Dict[str, "Handle"]] = {}  # (tenant, bpmn id) -> ...
        self._reset_hooks.append(self._timer_starts.clear)  # the scheduler itself is cleared by reset()

    def _timer_now(self: "Engine") -> datetime:
        """The engine's current time (its clock: real time plus the offset of increase_time)."""
        return self._clock.now()

    def _timer_due(self: "Engine", element: model.Element,
                   context: Mapping[str, Any]) -> Tuple[float, Optional[TimerState]]:
        """Seconds until ``element``'s timer is due, and its cycle state (cycles only).

        Raises:
            ExpressionError: The value is not a duration / date-time / cycle (an incident).
        """
        now = self._timer_now()
        if element.timer_cycle is not None:
            text = element.timer_cycle.evaluate(context)
            if not isinstance(text, str):
                raise ExpressionError(f"Expected result of the expression '{element.timer_cycle.text}' to be "
                                      f"'STRING', but was '{type_name(text)}'.")
            try:
                cycle = timers.parse_cycle(text)
            except ValueError as exc:
                raise ExpressionError(str(exc)) from None
            due = cycle.first_due(now)
            return _seconds(due, now), (cycle, cycle.repetitions, due)
        if element.timer_date is not None:
            due = _date_value(element.timer_date.evaluate(context), element.timer_date.text)
            return _seconds(due, now), None
        assert element.timer_duration is not None
        due = _duration_value(element.timer_duration.evaluate(context), element.timer_duration.text, now)
        return _seconds(due, now), None

    # ------------------------------------------------------------------ cycles of boundary timers
    @staticmethod
    def _next_repetition(timer: Optional[TimerState], now: datetime) -> Optional[Tuple[float, TimerState]]:
        """After a firing: (seconds, state) of the next one, or ``None`` when the cycle is used up."""
        if timer is None:
            return None
        cycle, left, last = timer
        left = cycle.remaining_after_fire(left)
        if left == 0:
            return None
        due = cycle.next_due(last)
        return _seconds(due, now), (cycle, left, due)

    # ------------------------------------------------------------------ timer start events
    def _open_timer_starts(self: "Engine", definition: model.ProcessDefinition) -> None:
        """(Re)schedule the timer start events of the latest version of a process."""
        for handle in self._timer_starts.pop((definition.tenant_id, definition.bpmn_process_id), {}).values():
            self._scheduler.cancel(handle)
        handles: Dict[str, "Handle"] = {}
        for element_id in definition.process.timer_starts:
            element = definition.process.elements[element_id]
            try:
                delay, timer = self._timer_due(element, {})
            except ExpressionError as exc:  # a start timer has no variables: Zeebe refuses it at deploy
                self._lock.log_later(logger, logging.WARNING, "timer start event '%s' of '%s' not scheduled: %s",
                                     element_id, definition.bpmn_process_id, exc)
                continue
            handles[element_id] = self._scheduler.call_later(delay, self._timer_start_fired, definition, element_id,
                                                             timer)
        if handles:
            self._timer_starts[(definition.tenant_id, definition.bpmn_process_id)] = handles

    def _timer_start_fired(self: "Engine", definition: model.ProcessDefinition, element_id: str,
                           timer: Optional[TimerState]) -> None:
        with self._lock:
            handles = self._timer_starts.get((definition.tenant_id, definition.bpmn_process_id))
            latest = self._latest(definition.bpmn_process_id, definition.tenant_id)
            if not handles or latest is None or latest.key != definition.key or self._closed:
                return  # a newer version took over, or the engine stopped
            handles.pop(element_id, None)
            again = self._next_repetition(timer, self._timer_now())
            if again is not None:
                handles[element_id] = self._scheduler.call_later(again[0], self._timer_start_fired, definition,
                                                                 element_id, again[1])
            instance = self._new_instance(definition, {})
            self._lock.log_later(logger, logging.DEBUG, "timer start event '%s' created instance %d of '%s'",
                                 element_id, instance.key, definition.bpmn_process_id)
            self._start_at(instance, [element_id])
            self._drain()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(due: datetime, now: datetime) -> float:
    return max(0.0, (due - now).total_seconds())


def _date_value(value: Any, text: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return timers.parse_date_time(value)
        except ValueError as exc:
            raise ExpressionError(str(exc)) from None
    raise ExpressionError(f"Expected result of the expression '{text}' to be one of '[DATE_TIME, STRING]', but "
                          f"was '{type_name(value)}'.")


def _duration_value(value: Any, text: str, now: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return timers.parse_interval(value).after(now)
        except ValueError as exc:
            raise ExpressionError(str(exc)) from None
    # FEEL durations: days-and-time ones carry ``seconds``, years-and-months ones ``months``
    if hasattr(value, "seconds") or hasattr(value, "months"):
        seconds, months = getattr(value, "seconds", 0), getattr(value, "months", 0)
        if _is_number(seconds) and isinstance(months, int) and not isinstance(months, bool):
            return timers.Interval(months, float(seconds)).after(now)
    raise ExpressionError(f"Expected result of the expression '{text}' to be one of '[DURATION, PERIOD, STRING]', "
                          f"but was '{type_name(value)}'.")



