"""``FairSlots``: the job worker's handler slots, handed out in turn.

Each task type of a :class:`~zeebe_affinity_sync.zeebe.worker.JobWorker` takes slots before it
asks the gateway for jobs (so it never activates a job it cannot start). With more task types
than slots a plain semaphore lets whoever happens to wake first win again and again, and types
registered last may never get a slot. Here takers queue: a free slot goes to the one that has
waited longest, and a taker with others queued behind it gets only its share of the free slots
(``free // waiting``, at least one), so every type that has work gets a turn.

Slots come back one at a time as handlers finish, so a poller that took whatever was free would
ask the gateway for one or two jobs per call while the worker is saturated (three times the
ActivateJobs calls of a semaphore, measured). Like Camunda's Java client, which polls only once
its running jobs drop below an activation threshold (30% of its capacity), a taker at the head of
the line that wants more than is free waits a short while (``gather``, 20 ms by default) for a
batch of about 30% of the slots, shared among the takers in line; after that it takes what is
free. An idle worker is not affected: its slots are free when a poll starts.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Deque

from .. import defaults

__all__ = ["FairSlots"]


class FairSlots:
    """A counting semaphore with a first-come, first-served queue of takers.

    Args:
        size: Number of slots (the worker's ``max_running_jobs``).
    """

    def __init__(self, size: int, gather: float = defaults.WORKER_SLOT_GATHER) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = size
        self.gather = gather  # s a taker waits for a batch of slots (0: take what is free at once)
        self._batch = max(1, round(size * 0.3))  # Camunda's activation threshold: 30% of capacity
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
                gathering_since = 0.0  # when this taker, at the head, started waiting for a batch
                while not stop.is_set():
                    if self._free == 0 or self._queue[0] is not ticket:
                        self._cond.wait()
                        continue
                    want = min(most, max(1, self._batch // len(self._queue)))
                    if self._free >= want or self.gather <= 0:
                        break
                    now = time.monotonic()
                    if not gathering_since:
                        gathering_since = now
                    left = self.gather - (now - gathering_since)
                    if left <= 0:
                        break  # waited long enough: what is free now
                    self._cond.wait(left)
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
