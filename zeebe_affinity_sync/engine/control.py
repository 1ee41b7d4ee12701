"""Engine control for tests and tools: the record log, idleness, the engine clock and reset.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine` (contract C2 in the project's
coordination notes; ``EmbeddedZeebe`` exposes the same methods):

- :meth:`records`: the bounded record log (:mod:`.records`) as plain dicts.
- :meth:`is_idle` / :meth:`wait_for_idle`: the engine has nothing to do *on its own* — no token
  flow queued or running, no scheduled callback due on the engine clock or running. A job waiting
  for a worker, an open message subscription and a timer not yet due all count as idle.
- :meth:`increase_time`: move the engine clock forward; every timer, job deadline, backoff and
  message TTL that became due fires before it returns, in due order.
- :meth:`reset`: back to empty, the server keeps running.

Never call these while holding the engine lock (``increase_time`` runs callbacks that take it).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from .. import defaults
from ..errors import EngineBusyError

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

__all__ = ["ControlMixin"]

_IDLE_POLL = 0.002  # s between idleness checks in wait_for_idle (bounded by its timeout)
_MAX_OFFSET = 1000 * 365.25 * 86_400.0  # s: beyond it dates stop being representable soon


class ControlMixin:
    def __init__(self) -> None:
        # called by reset() under the engine lock, after the core state is cleared: mixins that
        # keep state of their own append a function that clears it (guarded by the engine lock)
        self._reset_hooks: List[Callable[[], None]] = []

    # ------------------------------------------------------------------ records
    def records(self: "Engine", *, value_type: Optional[str] = None, intent: Optional[str] = None,
                process_instance_key: Optional[int] = None, element_id: Optional[str] = None,
                since_position: int = 0, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Records of the log as plain dicts, oldest first; each filter ``None`` matches all."""
        with self._lock:
            return self._log.query(self._clock.time(), self._definitions, value_type=value_type, intent=intent, process_instance_key=process_instance_key,
                                   element_id=element_id, since_position=since_position, limit=limit)

    def last_position(self: "Engine") -> int:
        """Position of the newest record (0 if none): pass it as ``since_position`` later."""
        with self._lock:
            return self._log.last_position()

    # ------------------------------------------------------------------ idleness
    def busy_reasons(self: "Engine") -> List[str]:
        """What the engine still has to do on its own (empty: idle)."""
        reasons = []
        with self._lock:
            if self._agenda:
                reasons.append(f"{len(self._agenda)} token-flow steps queued")
        due, running = self._scheduler.busy()
        if due:
            reasons.append(f"{due} scheduled callbacks due (timers, deadlines, a yielded token flow...)")
        if running:
            reasons.append(f"{running} scheduled callbacks running")
        return reasons

    def is_idle(self: "Engine") -> bool:
        return not self.busy_reasons()

    def wait_for_idle(self: "Engine", timeout: float = defaults.ENGINE_IDLE_TIMEOUT) -> None:
        """Block until :meth:`is_idle` (checked twice in a row, so a hand-off between a timer
        firing and the flow it starts is not mistaken for idleness).

        Raises:
            EngineBusyError: Still busy after ``timeout`` seconds; says with what.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        quiet = 0
        while True:
            reasons = self.busy_reasons()
            quiet = quiet + 1 if not reasons else 0
            if quiet >= 2:
                return
            if time.monotonic() >= deadline and reasons:
                raise EngineBusyError(f"the embedded engine was still busy after {timeout:g} s: "
                                      + "; ".join(reasons), busy=reasons)
            time.sleep(_IDLE_POLL)

    # ------------------------------------------------------------------ clock
    def now(self: "Engine") -> datetime:
        """The engine clock's current time (UTC, aware)."""
        return self._clock.now()

    def increase_time(self: "Engine", amount: Union[float, int, timedelta]) -> int:
        """Move the engine clock forward and fire what became due, before returning.

        Args:
            amount: Seconds, or a :class:`~datetime.timedelta`; must not be negative.

        Returns:
            The number of scheduled callbacks that ran.

        Raises:
            ValueError: Negative or not a number.
            RuntimeError: Called while holding the engine lock.
        """
        seconds = amount.total_seconds() if isinstance(amount, timedelta) else amount
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds or seconds < 0:
            raise ValueError(f"increase_time takes seconds >= 0 or a timedelta, got {amount!r}")
        if self._clock.offset + seconds > _MAX_OFFSET:
            raise ValueError(f"increase_time({amount!r}) would move the engine clock more than 1000 years ahead")
        if self._lock.held():
            raise RuntimeError("increase_time() must not be called while holding the engine lock")
        return self._scheduler.advance(float(seconds))

    # ------------------------------------------------------------------ reset
    def reset(self: "Engine") -> None:
        """Forget every definition, instance, job, message, timer, incident and record; put the
        clock back to real time. Parked long polls and open job streams stay (they get jobs of
        new instances); with-result callers of forgotten instances time out. Keys keep counting
        up, so a key from before the reset never names something new."""
        with self._lock:
            self._agenda.clear()
            self._scheduler.clear()
            self._definitions.clear()
            self._versions.clear()
            self._instances.clear()
            self._element_instances.clear()
            self._incidents.clear()
            self._result_waiters.clear()
            self._history.clear()
            self._jobs.clear()
            self._activatable.clear()
            self._subscriptions.clear()
            self._buffer.clear()
            self._message_ids.clear()
            self._start_subscriptions.clear()
            self._message_started.clear()
            self._user_tasks.clear()
            self._log.clear()
            self._clock.offset = 0.0
            for hook in self._reset_hooks:
                hook()
