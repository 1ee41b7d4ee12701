"""The waiter registry: which request thread waits for which routing key.

One :class:`WaiterRegistry` per client process. Request threads register a :class:`Waiter` under
its routing keys (a fresh request id, or a process instance key for ``get_outcome``) and block on
the waiter's ``threading.Event``; the transport's reader thread calls :meth:`WaiterRegistry.deliver`
with each outcome, which wakes exactly the waiters registered under the outcome's keys. Everything
is guarded by one lock, held only for dict operations (never while doing I/O or running callbacks).

An outcome nobody waits for (it came after its request timed out) is kept for ``collect_ttl``
seconds so that ``get_outcome(process_instance_key)`` in this process can still return it.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import defaults
from ..errors import AffinityOverloaded, AffinityUnavailable
from .outcome import ProcessOutcome

__all__ = ["Waiter", "WaiterRegistry", "DeadlineWatcher"]

logger = logging.getLogger(__name__)

Callback = Callable[[ProcessOutcome], Any]
ErrorCallback = Callable[[BaseException], Any]


class Waiter:
    """One request waiting for its outcome.

    ``outcome`` / ``error`` are written once, under the registry lock, before ``event`` is set;
    the waiting thread reads them only after ``event.wait()`` returned True or after
    :meth:`WaiterRegistry.cancel` told it the waiter was already completed.
    """

    __slots__ = (
        "keys", "event", "outcome", "error", "callback", "on_error", "deadline",
        "process_instance_key", "done", "keep",
    )

    def __init__(
        self,
        keys: Tuple[str, ...],
        callback: Optional[Callback] = None,
        on_error: Optional[ErrorCallback] = None,
        deadline: Optional[float] = None,
        keep: bool = False,
    ) -> None:
        self.keys = keys
        self.keep = keep  # also keep its outcome for later collection (get_outcome waits)
        self.event = threading.Event()
        self.outcome: Optional[ProcessOutcome] = None
        self.error: Optional[BaseException] = None
        self.callback = callback
        self.on_error = on_error
        self.deadline = deadline  # time.monotonic() value, for callback-style waits
        self.process_instance_key: Optional[int] = None
        self.done = False  # guarded by the registry lock

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Waiter keys={self.keys} done={self.done}>"


class WaiterRegistry:
    """Waiters by routing key, with admission control and a small cache of late outcomes.

    Args:
        max_pending: At most this many waiters at once; one more raises
            :class:`~zeebe_affinity_sync.errors.AffinityOverloaded`.
        retry_after: Seconds suggested to overloaded callers (``Retry-After``).
        collect_ttl: Seconds a late outcome (no waiter) is kept for ``get_outcome``.
        max_collected: Count bound of kept late outcomes (oldest dropped first).
        clock: Monotonic clock, replaceable in unit tests.
    """

    def __init__(
        self,
        max_pending: int = defaults.AFFINITY_MAX_PENDING,
        *,
        retry_after: float = defaults.AFFINITY_RETRY_AFTER,
        collect_ttl: float = defaults.AFFINITY_COLLECT_TTL,
        max_collected: int = defaults.AFFINITY_MAX_COLLECTED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending!r}")
        self.max_pending = max_pending
        self.retry_after = retry_after
        self.collect_ttl = collect_ttl
        self.max_collected = max_collected
        self._clock = clock
        self._lock = threading.Lock()
        # routing key -> waiters registered under it; guarded by _lock, written by request threads
        # (register/cancel) and the transport reader thread (deliver)
        self._by_key: Dict[str, List[Waiter]] = {}
        self._count = 0  # waiters not yet done; guarded by _lock
        # every waiter not yet done, keyless ones (with_result + cb=) included; guarded by _lock
        self._pending: Dict[int, Waiter] = {}
        self._closed: Optional[BaseException] = None  # set once by close(); guarded by _lock
        # routing key -> (expiry, outcome) of outcomes that found no waiter; guarded by _lock
        self._late: "OrderedDict[str, Tuple[float, ProcessOutcome]]" = OrderedDict()

    # ------------------------------------------------------------------ request threads

    def register(
        self,
        keys: Sequence[str],
        *,
        callback: Optional[Callback] = None,
        on_error: Optional[ErrorCallback] = None,
        deadline: Optional[float] = None,
        keep: bool = False,
    ) -> Waiter:
        """Add a waiter under ``keys``.

        ``keep=True`` (collecting waits) keeps the outcome it gets for ``collect_ttl`` too, so
        collecting the same instance again in this process returns it again.

        Raises:
            AffinityOverloaded: ``max_pending`` waiters already exist.
            AffinityUnavailable: the registry was closed (the client is closing).
        """
        waiter = Waiter(tuple(str(k) for k in keys), callback, on_error, deadline, keep)
        with self._lock:
            if self._closed is not None:
                raise AffinityUnavailable(str(self._closed))
            if self._count >= self.max_pending:
                raise AffinityOverloaded(
                    f"{self._count} requests are already waiting for process outcomes "
                    f"(max_pending={self.max_pending}); retry after {self.retry_after:g}s or "
                    "raise max_pending if the hub and workers can take more",
                    retry_after=self.retry_after,
                )
            self._count += 1
            self._pending[id(waiter)] = waiter
            for key in waiter.keys:
                self._by_key.setdefault(key, []).append(waiter)
        return waiter

    def cancel(self, waiter: Waiter) -> bool:
        """Remove a waiter that gave up (timeout, error, close).

        Returns:
            True if it was still pending and is now removed; False if it had already been
            completed (its ``outcome`` / ``error`` is then set and must be used).
        """
        with self._lock:
            if waiter.done:
                return False
            self._finish(waiter)
            return True

    def take_late(self, key: str) -> Optional[ProcessOutcome]:
        """The kept late outcome routed under ``key``, if any (it stays kept until its TTL)."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            entry = self._late.get(str(key))
            return entry[1] if entry is not None else None

    # ------------------------------------------------------------------ reader thread

    def deliver(self, outcome: ProcessOutcome, keys: Sequence[str]) -> List[Waiter]:
        """Complete every waiter registered under any of ``keys`` with ``outcome``.

        The waiters' events are set; the returned list is for the caller to run callbacks of
        callback-style waiters (never under the lock). An outcome that completes nobody is kept
        for ``collect_ttl`` seconds.
        """
        woken: List[Waiter] = []
        with self._lock:
            for key in keys:
                for waiter in self._by_key.get(key, ()):
                    if not waiter.done:
                        woken.append(waiter)
            for waiter in woken:
                if waiter.done:  # registered under two of the keys
                    continue
                waiter.outcome = outcome
                self._finish(waiter)
            if not woken or any(w.keep for w in woken):
                self._keep_late(outcome, keys)
        for waiter in woken:
            waiter.event.set()
        return woken

    def fail_all(self, error: BaseException) -> List[Waiter]:
        """Complete every pending waiter with ``error``."""
        with self._lock:
            waiters = list(self._pending.values())
            for waiter in waiters:
                waiter.error = error
                self._finish(waiter)
        for waiter in waiters:
            waiter.event.set()
        return waiters

    def close(self, error: BaseException) -> List[Waiter]:
        """Fail every pending waiter with ``error`` and refuse new ones, in one step (a request
        registering while the client closes either is failed here or gets ``error`` raised)."""
        with self._lock:
            self._closed = error
        return self.fail_all(error)

    # ------------------------------------------------------------------ introspection

    @property
    def pending_count(self) -> int:
        """Waiters not yet completed or cancelled."""
        with self._lock:
            return self._count

    @property
    def key_count(self) -> int:
        """Routing keys with at least one waiter (what the transport is subscribed to)."""
        with self._lock:
            return len(self._by_key)

    @property
    def late_count(self) -> int:
        """Late outcomes currently kept for collection."""
        with self._lock:
            self._expire(self._clock())
            return len(self._late)

    def is_pending(self, key: str) -> bool:
        """Whether some waiter still waits under ``key``."""
        with self._lock:
            return key in self._by_key

    def pending_keys(self) -> List[str]:
        """Snapshot of the keys to (re-)subscribe to."""
        with self._lock:
            return list(self._by_key)

    # ------------------------------------------------------------------ internals (lock held)

    def _finish(self, waiter: Waiter) -> None:
        waiter.done = True
        self._count -= 1
        self._pending.pop(id(waiter), None)
        for key in waiter.keys:
            waiters = self._by_key.get(key)
            if waiters is None:
                continue
            try:
                waiters.remove(waiter)
            except ValueError:
                pass
            if not waiters:
                del self._by_key[key]

    def _keep_late(self, outcome: ProcessOutcome, keys: Sequence[str]) -> None:
        if self.collect_ttl <= 0 or self.max_collected <= 0:
            return
        now = self._clock()
        self._expire(now)
        for key in keys:
            self._late.pop(key, None)
            self._late[key] = (now + self.collect_ttl, outcome)
        while len(self._late) > self.max_collected:
            self._late.popitem(last=False)

    def _expire(self, now: float) -> None:
        # entries are in insertion order and share one TTL, so the oldest expire first
        while self._late:
            key, (expiry, _) = next(iter(self._late.items()))
            if expiry > now:
                break
            del self._late[key]


_COMPACT_MIN = 1024


class DeadlineWatcher:
    """One thread that expires callback-style waiters when their deadline passes.

    Blocking waits time out in their own thread; a callback-style call returns at once, so its
    timeout has to be watched by somebody: this. ``on_expired(waiter)`` runs on the watcher thread
    (it must be quick: it only cancels the waiter and hands the error to the callback executor).
    """

    def __init__(self, on_expired: Callable[[Waiter], None], *, name: str) -> None:
        self._on_expired = on_expired
        self._name = name
        self._cond = threading.Condition()
        # (deadline, seq, waiter) min-heap; guarded by _cond, pushed by request threads
        self._heap: List[Tuple[float, int, Waiter]] = []
        self._seq = itertools.count()
        self._compact_at = _COMPACT_MIN  # heap size that triggers dropping finished waiters
        self._stopping = False  # guarded by _cond
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def watch(self, waiter: Waiter) -> bool:
        """Expire ``waiter`` at ``waiter.deadline`` unless it completes first.

        Returns:
            False if the watcher is stopped (nobody would expire it: the caller must fail it).
        """
        if waiter.deadline is None:
            return True
        with self._cond:
            if self._stopping:
                return False
            if len(self._heap) >= self._compact_at:
                # waiters answered long before their deadline would pile up until it: drop them
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._compact_at = max(_COMPACT_MIN, 2 * len(self._heap))
            heapq.heappush(self._heap, (waiter.deadline, next(self._seq), waiter))
            if self._heap[0][2] is waiter:
                self._cond.notify()
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._cond.notify()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def watched_count(self) -> int:
        with self._cond:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    # drop finished waiters from the top so the heap does not keep them alive
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay <= 0:
                        break
                    self._cond.wait(delay)
                if self._stopping:
                    return
                _, _, waiter = heapq.heappop(self._heap)
            try:
                self._on_expired(waiter)
            except Exception:  # a bug in the hook must not kill the watcher
                logger.exception("expiring a waiter failed")
