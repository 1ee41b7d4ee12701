"""``FairSlots``: the job worker's handler slots, handed out in turn.

Each task type of a :class:`~zeebe_affinity_sync.zeebe.worker.JobWorker` takes slots before it
asks the gateway for jobs (so it never activates a job it cannot start). With more task types
than slots a plain semaphore lets whoever happens to wake first win again and again, and types
registered last may never get a slot. Here takers queue: a free slot goes to the one that has
waited longest, and a taker with others queued behind it gets only its share of the free slots
(``free // waiting``, at least one), so every type that has work gets a turn.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Deque

__all__ = ["FairSlots"]


class FairSlots:
    """A counting semaphore with a first-come, first-served queue of takers.

    Args:
        size: Number of slots (the worker's ``max_running_jobs``).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = size
        self._cond = threading.Condition()
        self._free = size  # guarded by _cond
        self._queue: Deque[object] = deque()  # waiting takers' tickets, oldest first; under _cond

    def take(self, most: int, stop: threading.Event) -> int:
        """Wait for this caller's turn and at least one free slot; take up to ``most``.

        Returns:
            Slots taken (>= 1), or 0 once ``stop`` is set (:meth:`wake_all` wakes the wait).
        """
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while not stop.is_set() and (self._free == 0 or self._queue[0] is not ticket):
                    self._cond.wait()
                if stop.is_set():
                    return 0
                share = max(1, self._free // len(self._queue))  # others queued behind get theirs
                n = min(most, share)
                self._free -= n
                return n
            finally:
                if self._queue and self._queue[0] is ticket:
                    self._queue.popleft()
                else:
                    self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may go now

    def give(self, n: int = 1) -> None:
        """Return ``n`` slots (n <= 0 is a no-op)."""
        if n <= 0:
            return
        with self._cond:
            self._free += n
            self._cond.notify_all()

    def wake_all(self) -> None:
        """Wake every waiting :meth:`take` so it can see its stop event."""
        with self._cond:
            self._cond.notify_all()

    @property
    def free(self) -> int:
        return self._free

    @property
    def waiting(self) -> int:
        """Takers queued right now (a sign of contention: more task types than free slots)."""
        return len(self._queue)
