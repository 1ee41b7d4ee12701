"""One background thread that runs callbacks at given monotonic times (heap + Condition).

Used by the runtime for timer catch events, job deadlines, retry backoffs and message TTLs. No
polling: the thread sleeps on a :class:`threading.Condition` until the earliest entry is due or a
new, earlier entry arrives. Callbacks run on this thread, *without* the scheduler's lock held, so
they may take the engine lock (lock order: engine lock -> scheduler lock, never the reverse).
Cancelled entries are dropped lazily and the heap is compacted when they pile up, so entries for
jobs that completed long before their deadline do not accumulate.

Due times are on the engine clock (:class:`~.clock.EngineClock`, monotonic time + offset). When
the clock is moved forward, :meth:`Scheduler.run_due` runs every entry that became due, in due
order, on the calling thread; ``_fire`` (a lock held around taking an entry and running it) makes
the scheduler thread and such a caller take turns, so entries still run one at a time, in order.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

from .clock import EngineClock

logger = logging.getLogger(__name__)

__all__ = ["Scheduler", "Handle"]

_MAX_WAIT = 60.0  # s, longest single wait of the scheduler thread
# s: run_due also runs entries, scheduled before it began, that are due this little after its
# cutoff. A timer's due time is "now + delay" with now read a few microseconds before the
# scheduler reads its clock, so moving the clock to exactly a timer's date (increase_time(due -
# now())) would otherwise leave that timer a few microseconds short, to fire on the thread just
# after increase_time returned. Zeebe's clock counts milliseconds; this is far below that.
_DUE_GRACE = 0.001
_monotonic = time.monotonic
_heappush = heapq.heappush


class Handle:
    """A scheduled call; :meth:`Scheduler.cancel` it to drop it."""

    __slots__ = ("due", "callback", "args", "cancelled", "queued")

    def __init__(self, due: float, callback: Callable[..., Any], args: Tuple[Any, ...]) -> None:
        self.due = due
        self.callback = callback
        self.args = args
        self.cancelled = False
        self.queued = True  # in the heap (guarded by the scheduler's lock)


class Scheduler:
    """Runs ``callback(*args)`` once ``clock.monotonic() >= due``, on one daemon thread."""

    _COMPACT_MIN = 1024  # entries; below this the heap is never compacted

    def __init__(self, name: str = "zeebe-engine-scheduler", clock: Optional[EngineClock] = None) -> None:
        self._name = name
        self.clock = clock if clock is not None else EngineClock()
        # _mutex is _cond's lock: the hot paths (call_at, cancel) take it directly (a C-level
        # context manager, where the Condition's is Python code)
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        # _heap, _cancelled, _stopping, _running: guarded by _mutex; the heap is consumed by
        # the scheduler thread (and by run_due callers)
        self._heap: List[Tuple[float, int, Handle]] = []
        self._seq = itertools.count()
        self._cancelled = 0
        self._stopping = False
        self._running = 0  # callbacks taken from the heap and not finished yet
        # held while an entry is taken and run: one entry at a time, in due order. Never taken
        # while holding the engine lock (callbacks take that one inside it).
        self._fire = threading.RLock()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: Optional[float] = None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Handle:
        """Schedule ``callback(*args)`` in ``delay`` seconds (<= 0: as soon as possible)."""
        return self._push(_monotonic() + self.clock.offset + (delay if delay > 0.0 else 0.0), callback, args)

    def call_at(self, due: float, callback: Callable[..., Any], *args: Any) -> Handle:
        return self._push(due, callback, args)

    def _push(self, due: float, callback: Callable[..., Any], args: Tuple[Any, ...]) -> Handle:
        handle = Handle(due, callback, args)
        with self._mutex:
            heap = self._heap
            first = not heap or due < heap[0][0]
            _heappush(heap, (due, next(self._seq), handle))
            if first:
                self._cond.notify()
        return handle

    def cancel(self, handle: Optional[Handle]) -> None:
        if handle is None or handle.cancelled:
            return
        with self._mutex:
            # flag and count together, under the lock: flagged outside it, the thread could drop
            # the entry (and its count) before it is counted, and len() would go negative
            if handle.cancelled:
                return
            handle.cancelled = True
            if not handle.queued:
                return  # already taken from the heap (ran or running): nothing left to drop
            self._cancelled += 1
            if self._cancelled > self._COMPACT_MIN and self._cancelled * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap) - self._cancelled

    def busy(self) -> Tuple[int, int]:
        """(entries due now, callbacks running now): both 0 when the scheduler has nothing to do yet."""
        now = self.clock.monotonic()
        with self._cond:
            due = sum(1 for entry in self._heap if entry[0] <= now and not entry[2].cancelled)
            return due, self._running

    def clear(self) -> None:
        """Drop every entry (reset); a callback already running finishes."""
        with self._cond:
            for entry in self._heap:
                entry[2].cancelled = True
            self._heap = []
            self._cancelled = 0
            self._cond.notify_all()

    def advance(self, seconds: float) -> int:
        """Move the clock forward and run what became due, here, in due order.

        Returns:
            The number of callbacks run.
        """
        self.clock.advance(seconds)
        with self._cond:
            self._cond.notify_all()  # the thread recomputes its wait
        return self.run_due()

    def run_due(self) -> int:
        """Run every entry due on the engine clock now, in due order, including entries the
        callbacks schedule for a time not later than now (a repeating timer's next cycles).
        Entries scheduled for later — such as the continuation of a token flow that yielded
        (due "as soon as possible", i.e. after this call began) — are left to the thread, so a
        process that loops forever cannot keep the caller here. Entries that were already
        scheduled count as due up to ``_DUE_GRACE`` (1 ms) after now (see there)."""
        cutoff = self.clock.monotonic()
        with self._mutex:
            scheduled_before = next(self._seq)  # entries with a lower sequence number existed already
        count = 0
        while True:
            with self._fire:
                handle = self._pop_due(cutoff, scheduled_before)
                if handle is None:
                    return count
                self._call(handle)
                count += 1

    def _pop_due(self, cutoff: Optional[float] = None, scheduled_before: Optional[int] = None) -> Optional[Handle]:
        with self._cond:
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
                self._cancelled = max(0, self._cancelled - 1)
            if not self._heap:
                return None
            due, seq, _ = self._heap[0]
            limit = self.clock.monotonic() if cutoff is None else cutoff
            if due > limit and not (scheduled_before is not None and seq < scheduled_before
                                    and due <= limit + _DUE_GRACE):
                return None
            self._running += 1
            handle = heapq.heappop(self._heap)[2]
            handle.queued = False
            return handle

    def _call(self, handle: Handle) -> None:
        try:
            handle.callback(*handle.args)
        except Exception:  # a failing callback must not kill the scheduler
            logger.exception("scheduled callback %r failed", handle.callback)
        finally:
            with self._cond:
                self._running -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                        self._cancelled = max(0, self._cancelled - 1)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - self.clock.monotonic()
                    if delay > 0:
                        # bounded: a far-off entry (a job timeout of 2^62 ms) must not overflow the
                        # wait, and a moved engine clock is noticed anyway
                        self._cond.wait(min(delay, _MAX_WAIT))
                        continue
                    break
            with self._fire:
                handle = self._pop_due()  # None if a run_due caller took it meanwhile
                if handle is not None:
                    self._call(handle)
