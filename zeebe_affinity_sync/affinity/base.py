"""What the hub client and the Redis client share: settings, per-process state, life cycle.

:class:`AffinityClientBase` is a :class:`~zeebe_affinity_sync.zeebe.client.ZeebeClient` that adds
the affinity calls. Its parts, one module each:

* :mod:`.requests`: the request side (begin, wait, deliver, ``with_result``);
* :mod:`.relay`: the relay side (``create_affinity_worker`` and its handler);
* :mod:`.transport`: the interface a flavour implements (:mod:`.hub_transport` for
  :class:`ZBAffinityClient`, :mod:`.redis_transport` for :class:`RedisAffinity`), each owning
  its late-outcome policy;
* this module: the settings and :class:`ProcessState`, everything that belongs to one process.

Everything starts lazily, in the process that uses it (``os.getpid()`` is checked), so a client
made before a gunicorn ``--preload`` fork is safe; ``close()`` stops it all.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Tuple

from .. import checks, defaults
from ..errors import AffinityUnavailable
from ..zeebe.client import ZeebeClient
from ..zeebe.worker import JobWorker
from .checks import STRATEGIES, check_strategy
from .relay import RelaySide
from .requests import RequestSide, _run_error_callback
from .transport import Deliver, Transport
from .waiters import DeadlineWatcher, Waiter, WaiterRegistry

__all__ = ["AffinityClientBase", "ProcessState", "Transport", "STRATEGIES"]

logger = logging.getLogger(__name__)

class ProcessState:
    """Everything that belongs to one process (pid): rebuilt after a fork, never inherited.

    ``closed`` is set once, under ``lock``, by :meth:`close`; after that nothing new starts here
    (no pool, no watcher, no worker), and a ``cb=`` call racing the close is told through its
    ``on_error`` (see :meth:`watch_deadline`).
    """

    def __init__(self, pid: int, registry: WaiterRegistry, *, callback_threads: int, max_pending: int) -> None:
        self.pid = pid
        self.registry = registry
        self.transport: Optional[Transport] = None  # set once by the owner, under its state lock
        self.lock = threading.Lock()  # guards the fields below
        self.closed = False
        self._callback_threads = callback_threads
        self._max_pending = max_pending
        self._callbacks: Optional[ThreadPoolExecutor] = None  # cb= callbacks; created on first use
        self._with_result: Optional[ThreadPoolExecutor] = None  # with_result + cb= blocking calls
        self._watcher: Optional[DeadlineWatcher] = None  # cb= deadlines; created on first use
        self.workers: List[JobWorker] = []  # relay workers started by this process

    def submit_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run an outcome / error callback on the callback pool (never the reader thread).
        After close the pool still runs what it was given; later callbacks run inline."""
        with self.lock:
            if self._callbacks is None and not self.closed:
                self._callbacks = ThreadPoolExecutor(
                    max_workers=self._callback_threads, thread_name_prefix="zeebe-affinity-cb"
                )
            pool = self._callbacks
        if pool is not None:
            try:
                pool.submit(fn, *args)
                return
            except RuntimeError:  # shut down by close() in the meantime
                pass
        fn(*args)

    def submit_with_result(self, fn: Callable[[], None], waiter: Waiter) -> "Future[None]":
        """Run a ``with_result`` + ``cb=`` call on its own pool (at most ``max_pending`` threads,
        which admission control already bounds), apart from the callback pool."""
        with self.lock:
            if self.closed:
                pool = None
            else:
                if self._with_result is None:
                    self._with_result = ThreadPoolExecutor(
                        max_workers=self._max_pending, thread_name_prefix="zeebe-affinity-with-result"
                    )
                pool = self._with_result
        if pool is None:
            self.registry.cancel(waiter)
            raise AffinityUnavailable("this affinity client was closed")
        return pool.submit(fn)

    def watch_deadline(self, waiter: Waiter, on_expired: Callable[[Waiter], None]) -> bool:
        """Expire a ``cb=`` waiter at its deadline; False if closed (the caller tells on_error)."""
        with self.lock:
            if self.closed:
                return False
            if self._watcher is None:
                self._watcher = DeadlineWatcher(on_expired, name="zeebe-affinity-deadlines")
                self._watcher.start()
            watcher = self._watcher
        return watcher.watch(waiter)

    def add_worker(self, worker: JobWorker) -> None:
        with self.lock:
            if self.closed:
                raise AffinityUnavailable("this affinity client was closed")
            self.workers.append(worker)

    def close(self, error: AffinityUnavailable, timeout: float) -> None:
        """Stop relay workers, fail every wait with ``error``, stop the transport and threads."""
        with self.lock:
            self.closed = True
            workers, self.workers = self.workers, []
            watcher, self._watcher = self._watcher, None
        for worker in workers:
            try:
                worker.stop()
            except Exception:  # pragma: no cover - stopping is best effort at close
                logger.exception("stopping a relay worker failed")
        failed = self.registry.close(error)
        if self.transport is not None:
            self.transport.stop(timeout)
        if watcher is not None:
            watcher.stop()
            watcher.join(timeout)
        for waiter in failed:  # cb= calls in flight learn about it too, on a callback thread
            if waiter.callback is not None:
                self.submit_callback(_run_error_callback, waiter, error)
        with self.lock:
            pools = [p for p in (self._callbacks, self._with_result) if p is not None]
        for pool in pools:
            pool.shutdown(wait=False)  # queued callbacks still run


class AffinityClientBase(RequestSide, RelaySide, ZeebeClient):
    """Shared implementation of :class:`ZBAffinityClient` and :class:`RedisAffinity`.

    Args:
        gateway_address: Zeebe gateway ``host:port`` (see :class:`ZeebeClient`).
        affinity_timeout: Default wait for an outcome, seconds (default 30); also how long
            ``connect()`` and ``create_affinity_worker()`` wait for the hub / Redis.
        max_pending: At most this many waits at once in this process; one more raises
            :class:`~zeebe_affinity_sync.errors.AffinityOverloaded` (default 128, sized for a
            gunicorn gthread worker). ``with_result`` + ``cb=`` calls count too.
        retry_after: Seconds suggested with ``AffinityOverloaded`` (default 1).
        ack_timeout: How long a relay worker waits in total for the hand-over to be confirmed,
            seconds (default 5); after that the job is failed and retried.
        collect_ttl: Seconds a late outcome is kept for ``get_outcome`` in this process, and how
            long a timed-out request keeps listening for it (default 300).
        callback_threads: Threads running ``cb=`` callbacks (default 4).
        connect_timeout: One connection attempt to the hub / Redis, seconds (default 5); also the
            longest a request waits for a connection that is down before it fails.
        reconnect_initial: First reconnect backoff, seconds (default 0.1); it doubles, with
            jitter, up to ``reconnect_max``.
        reconnect_max: Reconnect backoff cap, seconds (default 5).
        relay_job_timeout: Lock of a relay job activated by ``create_affinity_worker``, seconds
            (default 10): a crashed relay worker's jobs come back to another one this soon.
        relay_task_type: The relay task type named in timeout messages (default
            ``"publish-outcome"``).
        strategy: ``"hub"`` (default) or ``"with_result"`` (Zeebe's CreateProcessInstanceWithResult,
            no transport needed).
        **client_kwargs: Passed to :class:`ZeebeClient`.

    Raises:
        ConfigurationError: A bad value (before any I/O).
    """

    def __init__(
        self,
        gateway_address: Optional[str] = None,
        *,
        affinity_timeout: float = defaults.AFFINITY_TIMEOUT,
        max_pending: int = defaults.AFFINITY_MAX_PENDING,
        retry_after: float = defaults.AFFINITY_RETRY_AFTER,
        ack_timeout: float = defaults.AFFINITY_ACK_TIMEOUT,
        collect_ttl: float = defaults.AFFINITY_COLLECT_TTL,
        callback_threads: int = defaults.AFFINITY_CALLBACK_THREADS,
        connect_timeout: float = defaults.AFFINITY_CONNECT_TIMEOUT,
        reconnect_initial: float = defaults.AFFINITY_RECONNECT_INITIAL,
        reconnect_max: float = defaults.AFFINITY_RECONNECT_MAX,
        relay_job_timeout: float = defaults.AFFINITY_RELAY_JOB_TIMEOUT,
        relay_task_type: str = defaults.AFFINITY_TASK_TYPE,
        strategy: str = "hub",
        **client_kwargs: Any,
    ) -> None:
        checks.seconds(affinity_timeout, "affinity_timeout")
        for name, value in (("connect_timeout", connect_timeout), ("reconnect_initial", reconnect_initial),
                            ("reconnect_max", reconnect_max), ("ack_timeout", ack_timeout),
                            ("relay_job_timeout", relay_job_timeout)):
            checks.seconds(value, name)
        checks.seconds(retry_after, "retry_after", allow_zero=True)
        checks.seconds(collect_ttl, "collect_ttl", allow_zero=True)
        checks.count(max_pending, "max_pending")
        checks.count(callback_threads, "callback_threads")
        self.strategy = check_strategy(strategy)
        super().__init__(gateway_address, **client_kwargs)
        self.affinity_timeout = float(affinity_timeout)
        self.max_pending = max_pending
        self.retry_after = float(retry_after)
        self.ack_timeout = float(ack_timeout)
        self.collect_ttl = float(collect_ttl)
        self.callback_threads = callback_threads
        self.relay_job_timeout = float(relay_job_timeout)
        self.relay_task_type = str(relay_task_type)
        # one connection attempt is never allowed longer than a whole wait
        self._connect_timeout = min(float(connect_timeout), self.affinity_timeout)
        self._reconnect_initial = float(reconnect_initial)
        self._reconnect_max = float(reconnect_max)
        self._state_lock = threading.Lock()  # guards _state replacement and _affinity_closed
        self._state: Optional[ProcessState] = None  # this pid's state; replaced after a fork
        self._affinity_closed = False

    # ------------------------------------------------------------------ for subclasses

    def _make_transport(self, deliver: Deliver, registry: WaiterRegistry, role: str = "client") -> Transport:
        """Build this flavour's transport: ``deliver(frame)`` hands it outcomes (returns the
        waiters it woke); ``registry`` tells which keys are awaited (for re-subscribing);
        ``role`` is what the process first used it for (``"worker"``: a relay worker)."""
        raise NotImplementedError

    @property
    def _transport_name(self) -> str:
        return "transport"

    # ------------------------------------------------------------------ per-process state

    def _process_state(self, *, start_transport: bool = True, role: str = "client") -> ProcessState:
        state = self._state
        pid = os.getpid()
        if state is not None and state.pid == pid and (state.transport is not None or not start_transport):
            return state
        with self._state_lock:
            if self._affinity_closed:
                raise RuntimeError(f"this {type(self).__name__} is closed: create a new one")
            state = self._state
            if state is None or state.pid != pid:
                if state is not None:
                    # inherited over fork: the parent's threads do not exist here and its sockets
                    # belong to the parent; drop the references without touching them
                    logger.debug("pid changed (%d -> %d): new affinity state", state.pid, pid)
                registry = WaiterRegistry(
                    self.max_pending, retry_after=self.retry_after, collect_ttl=self.collect_ttl
                )
                state = ProcessState(pid, registry, callback_threads=self.callback_threads,
                                     max_pending=self.max_pending)
                self._state = state
            if start_transport and state.transport is None:
                transport = self._make_transport(
                    lambda frame, _s=state: self.deliver(_s, frame), state.registry, role
                )
                transport.start()
                state.transport = transport
            return state

    def _ready_transport(
        self, timeout: float, *, connect_wait: Optional[float] = None, role: str = "client"
    ) -> Tuple[ProcessState, Transport]:
        """The transport, connected. A request waits at most ``connect_timeout`` for a connection
        that is down (a hub that is down costs each request that, not its whole timeout), and
        not at all when the hub refused us (401/403/404)."""
        state = self._process_state(role=role)
        transport = state.transport
        assert transport is not None
        limit = min(timeout, self._connect_timeout if connect_wait is None else connect_wait)
        if not transport.wait_ready(limit):
            cause = transport.last_error or "no connection yet"
            if transport.refused:
                raise AffinityUnavailable(
                    f"the affinity {self._transport_name} at {transport.target} refused the connection: {cause}"
                )
            raise AffinityUnavailable(
                f"the affinity {self._transport_name} at {transport.target} cannot be reached "
                f"within {limit:g}s ({cause}): check that it runs and that the URL / token are right"
            )
        return state, transport

    def connect(self, timeout: Optional[float] = None) -> None:
        """Connect now (optional: the first affinity call connects on its own).

        Call it in the process that will use the client (e.g. a gunicorn ``post_fork`` hook),
        not before a fork.

        Raises:
            AffinityUnavailable: not reachable within ``timeout`` (default ``affinity_timeout``),
                or refused (wrong token / path: at once).
        """
        wait = self.affinity_timeout if timeout is None else float(timeout)
        self._ready_transport(wait, connect_wait=wait)

    # ------------------------------------------------------------------ introspection

    @property
    def pending_count(self) -> int:
        """Requests of this process waiting for an outcome right now."""
        state = self._state
        return state.registry.pending_count if state is not None and state.pid == os.getpid() else 0

    @property
    def watched_key_count(self) -> int:
        """Routing keys requests of this process wait on right now (returns to zero when idle;
        the watch a timed-out request keeps for its late outcome is not counted)."""
        state = self._state
        return state.registry.key_count if state is not None and state.pid == os.getpid() else 0

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop relay workers, the transport and callback threads; fail waits in progress with
        :class:`AffinityUnavailable`; close the gRPC channel. Idempotent."""
        with self._state_lock:
            self._affinity_closed = True
            state, self._state = self._state, None
        if state is not None and state.pid == os.getpid():
            state.close(AffinityUnavailable(f"this {type(self).__name__} was closed"), 5.0)
        super().close()

    def __enter__(self) -> "AffinityClientBase":
        return self

