"""``EngineLock``: the engine's one re-entrant lock, with a fair hand-off and deferred logging.

Two things a plain ``RLock`` does not give the engine:

- **Fairness for long token flows.** A process that loops without a wait state runs in chunks
  (the step budget); between chunks the scheduler thread lets go of the lock. With a plain lock
  that thread takes it straight back: a blocked command only gets in if the OS happens to run it
  in the microseconds the lock is free, which on a busy machine can take seconds.
  :meth:`EngineLock.let_waiters_in` makes the flow wait, *without* the lock, until as many
  commands as were blocked at that moment have had it.
- **No I/O under the lock.** :meth:`EngineLock.log_later` queues a log record while the lock is
  held; the outermost release emits it after the lock is free, so a slow log handler never
  stalls every other RPC.

Lock order: ``_lock`` may be held while ``_meta`` is taken briefly, never the reverse.
"""
from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Callable, List, Optional, Tuple

from .feel import temporal

__all__ = ["EngineLock"]

_Record = Tuple[logging.Logger, int, str, Tuple[Any, ...]]
_get_ident = threading.get_ident

# Every engine lock, so FEEL's now() can find the clock of the one the evaluating thread holds
# (asked only when now()/today() is evaluated, so holding the lock costs nothing for it). The
# set is added to under _registry_lock; readers copy it under that lock.
_registry_lock = threading.Lock()
_locks: "weakref.WeakSet[EngineLock]" = weakref.WeakSet()


def _held_clock() -> Optional[Callable[[], Any]]:
    """The clock of an engine lock the calling thread holds (None: it holds none with a clock).
    A thread holds one engine's lock at a time: engines never call each other under their locks."""
    me = _get_ident()
    with _registry_lock:
        locks = list(_locks)
    for lock in locks:
        if lock._owner == me and lock.clock is not None:
            return lock.clock
    return None


temporal.add_clock_source(_held_clock)


class EngineLock:
    """Re-entrant lock used as ``with lock:``; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # _depth, _owner, _deferred: written only by the thread that holds _lock
        self._depth = 0
        self._owner: Optional[int] = None
        self._deferred: List[_Record] = []
        #: called by the thread holding the lock just before its outermost release (the engine
        #: stamps the records the command wrote); set once, before the lock is shared
        self.on_release: Optional[Callable[[], None]] = None
        #: the engine's clock (a callable giving an aware datetime): FEEL's now()/today() read it
        #: while a thread holds the lock, so they follow increase_time(); set once, before sharing
        self.clock: Optional[Callable[[], Any]] = None
        self._meta = threading.Condition(threading.Lock())
        with _registry_lock:
            _locks.add(self)
        # _blocked, _passed, _yielding: guarded by _meta
        self._blocked = 0    # threads waiting in __enter__ right now
        self._passed = 0     # waits in __enter__ that have ended with the lock (ever)
        self._yielding = 0   # threads inside let_waiters_in()

    def __enter__(self) -> "EngineLock":
        if not self._lock.acquire(False):  # the uncontended (and re-entrant) path stays cheap
            with self._meta:
                self._blocked += 1
            self._lock.acquire()
            with self._meta:
                self._blocked -= 1
                self._passed += 1
                if self._yielding:
                    self._meta.notify_all()
        if self._depth:
            self._depth += 1
        else:
            self._depth = 1
            self._owner = _get_ident()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._depth != 1:
            self._depth -= 1
            self._lock.release()
            return
        hook = self.on_release
        if hook is not None:
            try:
                hook()
            except Exception:  # pragma: no cover - must never keep the lock held
                logging.getLogger(__name__).exception("engine lock release hook failed")
        self._depth = 0
        self._owner = None
        if not self._deferred:
            self._lock.release()
            return
        records, self._deferred = self._deferred, []
        self._lock.release()
        for logger, level, message, args in records:
            logger.log(level, message, *args)

    def log_later(self, logger: logging.Logger, level: int, message: str, *args: Any) -> None:
        """Log ``message % args`` once the lock is released (the caller holds it)."""
        if logger.isEnabledFor(level):
            self._deferred.append((logger, level, message, args))

    def held(self) -> bool:
        """True if the calling thread holds the lock."""
        return self._owner == threading.get_ident()

    @property
    def blocked(self) -> int:
        """Threads waiting for the lock right now (monitoring and tests)."""
        with self._meta:
            return self._blocked

    @property
    def yielding(self) -> int:
        """Threads inside :meth:`let_waiters_in` right now (monitoring and tests)."""
        with self._meta:
            return self._yielding

    def let_waiters_in(self) -> None:
        """Wait (not holding the lock) until the threads blocked on it right now have had a turn.

        Returns at once when nobody is waiting. Counted, not ordered: a newcomer may take the
        turn of an older waiter, but the lock changes hands at least that many times.
        """
        with self._meta:
            target = self._passed + self._blocked
            if self._passed >= target:
                return
            self._yielding += 1
            try:
                while self._passed < target:
                    self._meta.wait()
            finally:
                self._yielding -= 1
