"""The engine clock: real time plus an offset that tests move forward with ``increase_time``.

Every time the engine reads — timer due times, job deadlines and backoffs, message TTLs, record
and incident timestamps — comes from one :class:`EngineClock`, so moving it forward makes all of
them due together, the way Zeebe's own test engine (``increaseTime``) does. The offset only
grows. ``offset`` is written under the engine lock by ``increase_time`` and by ``reset``; readers
on other threads (the scheduler) read a float attribute, which is atomic in CPython.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["EngineClock"]


class EngineClock:
    """Wall and monotonic time, both shifted by the same ``offset`` (seconds)."""

    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        """Engine wall-clock time, seconds since the epoch."""
        return time.time() + self.offset

    def monotonic(self) -> float:
        """Engine monotonic time, seconds (what the scheduler's due times are in)."""
        return time.monotonic() + self.offset

    def now_ms(self) -> int:
        """Engine wall-clock time in epoch milliseconds (Zeebe's timestamps, job deadlines)."""
        return int((time.time() + self.offset) * 1000)

    def now(self) -> datetime:
        """Engine wall-clock time as an aware UTC datetime."""
        return datetime.fromtimestamp(time.time() + self.offset, tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"the engine clock only moves forward, got {seconds!r} s")
        self.offset += seconds
