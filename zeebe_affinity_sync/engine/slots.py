"""A bounded count of gRPC requests that hold a server thread while they wait.

A parked ActivateJobs long poll, an open StreamActivatedJobs stream and a
CreateProcessInstanceWithResult call each keep one thread of the gRPC server's pool until they
answer. Without a bound, enough of them take every thread and unary calls (Topology,
CreateProcessInstance, CompleteJob...) queue behind them until a long poll times out. The
servicer takes a slot before such a wait and answers RESOURCE_EXHAUSTED, Zeebe's backpressure
answer that clients back off from, when none is free; the threads beyond the slots stay for
unary calls.
"""
from __future__ import annotations

import threading

__all__ = ["WaitingSlots", "waiting_slots_for"]


def waiting_slots_for(server_threads: int, reserved: int) -> int:
    """How many requests may wait at once in a pool of ``server_threads``: all but ``reserved``
    threads, keeping at least half the pool for unary calls when the pool is small."""
    keep = min(reserved, server_threads // 2)
    return max(1, server_threads - keep)


class WaitingSlots:
    """A counter with a ceiling; thread-safe (its own lock, never held while waiting)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._used = 0  # guarded by _lock

    def try_acquire(self) -> bool:
        with self._lock:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    def release(self) -> None:
        with self._lock:
            if self._used <= 0:
                raise RuntimeError("WaitingSlots released more often than acquired")
            self._used -= 1

    @property
    def used(self) -> int:
        with self._lock:
            return self._used
