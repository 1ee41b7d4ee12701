"""What the hub client and the Redis client share: the request/wait logic and the relay worker.

:class:`AffinityClientBase` is a :class:`~zeebe_affinity_sync.zeebe.client.ZeebeClient` that adds
the affinity calls. A subclass only supplies a :class:`Transport` (how routing keys are watched and
how a relay worker hands an outcome over); everything else lives here once:

* every call makes a fresh request id, registers its waiter and watches the id **before** it starts
  the instance (or publishes the message), and passes the id in the reserved variable
  ``protocol.REQUEST_ID_VARIABLE``. An outcome therefore can never be lost to the race of a fast
  process, nor answer a later round of the same instance;
* a blocking call waits on its waiter's ``threading.Event``; a ``cb=`` call returns at once, its
  callback runs on a small executor, and its timeout is watched by one
  :class:`~.waiters.DeadlineWatcher` thread;
* everything starts lazily, in the process that uses it (``os.getpid()`` is checked), so a client
  made before a gunicorn ``--preload`` fork is safe; ``close()`` stops it all.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .. import defaults, protocol
from ..errors import (
    AffinityTimeout,
    AffinityUnavailable,
    ConfigurationError,
    ProcessFailed,
    ZeebeTimeoutError,
)
from ..zeebe.client import ZeebeClient, encode_variables
from ..zeebe.types import Job, ProcessInstance, PublishedMessage
from ..zeebe.worker import JobWorker
from .outcome import ProcessOutcome, strip_reserved
from .waiters import Callback, DeadlineWatcher, ErrorCallback, Waiter, WaiterRegistry

__all__ = ["AffinityClientBase", "Transport", "STRATEGIES"]

logger = logging.getLogger(__name__)

#: ``"hub"`` (the transport: hub or Redis) or ``"with_result"`` (CreateProcessInstanceWithResult).
STRATEGIES = ("hub", "with_result")


class Transport:
    """How outcomes reach this process and how a relay worker hands one over.

    The methods called by request threads must not block for long (``watch`` may wait for one
    confirmation round trip when ``confirm`` is asked for). ``deliver`` (given to the constructor
    of a concrete transport) is called on the transport's reader thread with each outcome frame.
    """

    #: Where the transport connects to, for messages.
    target = ""
    #: Why the last connection attempt failed (``None`` if it did not).
    last_error: Optional[str] = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, timeout: float) -> None:
        raise NotImplementedError

    def wait_ready(self, timeout: Optional[float]) -> bool:
        """Block until outcomes can flow (True), or ``timeout`` seconds passed (False)."""
        raise NotImplementedError

    def watch(self, keys: Sequence[str], *, collect: bool = False, timeout: float = 0.0) -> Optional[Dict[str, Any]]:
        """Start routing outcomes for ``keys`` here.

        Args:
            keys: Routing keys (request ids, or an instance key when ``collect``).
            collect: Also look for an outcome already stored for the keys (``get_outcome``); may
                wait up to ``timeout`` seconds for the subscription to be confirmed first.

        Returns:
            A stored outcome frame found while collecting, else ``None``.
        """
        raise NotImplementedError

    def unwatch(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def publish_outcome(self, frame: Dict[str, Any], timeout: float) -> None:
        """Hand an outcome over; return only once it is delivered or safely stored.

        Raises:
            AffinityUnavailable: it could not be handed over within ``timeout`` seconds.
        """
        raise NotImplementedError

    def new_request_id(self) -> str:
        return uuid.uuid4().hex


class _ProcessState:
    """Everything that belongs to one process (pid): rebuilt after a fork, never inherited."""

    def __init__(self, pid: int, registry: WaiterRegistry, transport: Optional[Transport]) -> None:
        self.pid = pid
        self.registry = registry
        self.transport = transport
        self.lock = threading.Lock()  # guards executor and watcher creation
        self.executor: Optional[ThreadPoolExecutor] = None  # created on the first callback
        self.watcher: Optional[DeadlineWatcher] = None  # created on the first cb= call
        self.workers: List[JobWorker] = []  # relay workers started by this process; under lock


class AffinityClientBase(ZeebeClient):
    """Shared implementation of :class:`ZBAffinityClient` and :class:`RedisAffinity`.

    Args:
        gateway_address: Zeebe gateway ``host:port`` (see :class:`ZeebeClient`).
        affinity_timeout: Default wait for an outcome, and for the hub / Redis at first use,
            seconds (default 30).
        max_pending: At most this many waits at once in this process; one more raises
            :class:`~zeebe_affinity_sync.errors.AffinityOverloaded` (default 128, sized for a gunicorn gthread worker).
        retry_after: Seconds suggested with ``AffinityOverloaded`` (default 1).
        ack_timeout: How long a relay worker waits for the hand-over to be confirmed, seconds
            (default 5); after that the job is failed and retried.
        collect_ttl: Seconds a late outcome is kept for ``get_outcome`` in this process
            (default 300).
        callback_threads: Threads running ``cb=`` callbacks (default 4).
        connect_timeout: One connection attempt to the hub / Redis, seconds (default 5).
        reconnect_initial: First reconnect backoff, seconds (default 0.1); it doubles, with
            jitter, up to ``reconnect_max``.
        reconnect_max: Reconnect backoff cap, seconds (default 5).
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
        strategy: str = "hub",
        **client_kwargs: Any,
    ) -> None:
        _positive(affinity_timeout, "affinity_timeout")
        for name, value in (("connect_timeout", connect_timeout),
                            ("reconnect_initial", reconnect_initial), ("reconnect_max", reconnect_max)):
            _positive(value, name)
        _positive(ack_timeout, "ack_timeout")
        _positive(retry_after, "retry_after", allow_zero=True)
        _positive(collect_ttl, "collect_ttl", allow_zero=True)
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ConfigurationError(f"max_pending must be an int >= 1, got {max_pending!r}")
        if isinstance(callback_threads, bool) or not isinstance(callback_threads, int) or callback_threads < 1:
            raise ConfigurationError(f"callback_threads must be an int >= 1, got {callback_threads!r}")
        self.strategy = _check_strategy(strategy)
        super().__init__(gateway_address, **client_kwargs)
        self.affinity_timeout = float(affinity_timeout)
        self.max_pending = max_pending
        self.retry_after = float(retry_after)
        self.ack_timeout = float(ack_timeout)
        self.collect_ttl = float(collect_ttl)
        self.callback_threads = callback_threads
        # one connection attempt is never allowed longer than a whole wait
        self._connect_timeout = min(float(connect_timeout), self.affinity_timeout)
        self._reconnect_initial = float(reconnect_initial)
        self._reconnect_max = float(reconnect_max)
        self._state_lock = threading.Lock()  # guards _state replacement and _affinity_closed
        self._state: Optional[_ProcessState] = None  # this pid's state; replaced after a fork
        self._affinity_closed = False

    # ------------------------------------------------------------------ for subclasses

    def _make_transport(self, deliver: Callable[[Dict[str, Any]], bool], registry: WaiterRegistry) -> Transport:
        """Build this flavour's transport: ``deliver(frame)`` hands it outcomes (returns False if
        nobody waited); ``registry`` tells which keys are awaited (for re-subscribing)."""
        raise NotImplementedError

    @property
    def _transport_name(self) -> str:
        return "transport"

    # ------------------------------------------------------------------ per-process state

    def _process_state(self, *, start_transport: bool = True) -> _ProcessState:
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
                state = _ProcessState(pid, registry, None)
                self._state = state
            if start_transport and state.transport is None:
                registry = state.registry
                transport = self._make_transport(
                    lambda frame, _s=state: self._on_outcome(_s, frame), registry
                )
                transport.start()
                state.transport = transport
            return state

    def _ready_transport(self, timeout: float) -> Tuple[_ProcessState, Transport]:
        state = self._process_state()
        transport = state.transport
        assert transport is not None
        if not transport.wait_ready(timeout):
            raise AffinityUnavailable(
                f"the affinity {self._transport_name} at {transport.target} cannot be reached "
                f"within {timeout:g}s ({transport.last_error or 'no connection yet'}): check that it "
                "runs and that the URL / token are right"
            )
        return state, transport

    def connect(self, timeout: Optional[float] = None) -> None:
        """Connect now (optional: the first affinity call connects on its own).

        Call it in the process that will use the client (e.g. a gunicorn ``post_fork`` hook),
        not before a fork.

        Raises:
            AffinityUnavailable: not reachable within ``timeout`` (default ``affinity_timeout``).
        """
        self._ready_transport(self.affinity_timeout if timeout is None else float(timeout))

    # ------------------------------------------------------------------ introspection

    @property
    def pending_count(self) -> int:
        """Requests of this process waiting for an outcome right now."""
        state = self._state
        return state.registry.pending_count if state is not None and state.pid == os.getpid() else 0

    @property
    def watched_key_count(self) -> int:
        """Routing keys this process currently watches (returns to zero when idle)."""
        state = self._state
        return state.registry.key_count if state is not None and state.pid == os.getpid() else 0

    # ------------------------------------------------------------------ the affinity calls

    def create_process_instance_with_affinity(
        self,
        bpmn_process_id: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        version: Optional[int] = None,
        timeout: Optional[float] = None,
        cb: Optional[Callback] = None,
        on_error: Optional[ErrorCallback] = None,
        strategy: Optional[str] = None,
        tenant_id: Optional[str] = None,
    ) -> Union[ProcessOutcome, ProcessInstance]:
        """Start an instance and wait for the outcome its relay task reports.

        Args:
            bpmn_process_id: The process to start.
            variables: Its variables (a ``dict``).
            version: A specific deployed version (default: latest).
            timeout: Seconds to wait for the outcome (default ``affinity_timeout``), counted
                from the call.
            cb: Callback style: return the started :class:`ProcessInstance` at once and call
                ``cb(outcome)`` on a callback thread when the outcome arrives.
            on_error: With ``cb``: called with the :class:`AffinityTimeout` or
                :class:`ProcessFailed` instead of ``cb`` (logged if not given).
            strategy: Override the client's strategy for this call.
            tenant_id: The tenant whose process to start (default: the client's ``tenant_id``).

        Returns:
            The :class:`ProcessOutcome`. With ``cb``: the :class:`ProcessInstance` (with
            ``strategy="with_result"`` and ``cb``: a ``concurrent.futures.Future``, as no
            instance key is known before the process ends).

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            AffinityTimeout: No outcome within ``timeout``; has ``process_instance_key``.
            ProcessFailed: The relay task reported a failure outcome.
            AffinityOverloaded: ``max_pending`` requests already wait (fail fast, retry later).
            AffinityUnavailable: The hub / Redis cannot be reached.
            ZeebeError: The gateway refused to start the instance.
        """
        payload = _check_variables(variables)
        wait = self._timeout(timeout)
        if _check_strategy(strategy or self.strategy) == "with_result":
            return self._with_result(bpmn_process_id, payload, version, wait, cb, on_error, tenant_id)
        state, transport, waiter, deadline = self._begin_request(payload, wait, cb, on_error)
        try:
            instance = self.create_process_instance(bpmn_process_id, payload, version=version, tenant_id=tenant_id)
            waiter.process_instance_key = instance.process_instance_key
            if cb is not None:
                return instance
            return self._wait(state, transport, waiter, deadline, wait)
        except BaseException:
            # any way out (gateway error, KeyboardInterrupt while waiting...) leaves no waiter;
            # a no-op when the waiter is already completed or cancelled
            self._abandon(state, transport, waiter)
            raise

    def publish_message_with_affinity(
        self,
        name: str,
        correlation_key: str,
        process_instance_key: int,
        variables: Optional[Dict[str, Any]] = None,
        *,
        time_to_live: float = defaults.MESSAGE_TIME_TO_LIVE,
        message_id: Optional[str] = None,
        timeout: Optional[float] = None,
        cb: Optional[Callback] = None,
        on_error: Optional[ErrorCallback] = None,
        tenant_id: Optional[str] = None,
    ) -> Union[ProcessOutcome, PublishedMessage]:
        """Publish a message to a running instance and wait for the next outcome it reports.

        Each call uses a fresh request id, sent as a message variable: the message's variables
        reach the instance's scope, so the relay task answers *this* request. An outcome left
        over from an earlier round (e.g. after a timeout) never answers a later call. The message
        catch event must not hide ``_affinity_request_id`` with output mappings.

        Args:
            name: Message name.
            correlation_key: The correlation key the instance waits with.
            process_instance_key: The instance the message is for (reported in timeouts).
            variables: Message variables (a ``dict``).
            time_to_live: Seconds the message is buffered if the instance is not waiting yet.
            message_id: Optional unique id (Zeebe refuses duplicates while buffered).
            timeout: Seconds to wait (default ``affinity_timeout``).
            cb: Callback style, as in :meth:`create_process_instance_with_affinity`; returns
                the :class:`PublishedMessage` at once.
            on_error: With ``cb``: gets the timeout / failure.
            tenant_id: The instance's tenant (default: the client's ``tenant_id``).

        Returns:
            The :class:`ProcessOutcome` (or, with ``cb``, the :class:`PublishedMessage`).

        Raises:
            TypeError: bad variables / key types.
            AffinityTimeout, ProcessFailed, AffinityOverloaded, AffinityUnavailable, ZeebeError:
                as for :meth:`create_process_instance_with_affinity`.
            ConfigurationError: with ``strategy="with_result"`` (a message round needs the hub or
                Redis).
        """
        if isinstance(process_instance_key, bool) or not isinstance(process_instance_key, int):
            raise TypeError(
                f"process_instance_key must be an int, got {process_instance_key!r}: "
                "use the key of the ProcessOutcome / ProcessInstance"
            )
        if not isinstance(correlation_key, str):
            raise TypeError(f"correlation_key must be a str, got {type(correlation_key).__name__}: use str(...)")
        payload = _check_variables(variables)
        wait = self._timeout(timeout)
        if self.strategy == "with_result":
            raise ConfigurationError(
                "publish_message_with_affinity needs a hub or Redis: strategy='with_result' can only "
                "wait for the end of a process it starts"
            )
        state, transport, waiter, deadline = self._begin_request(payload, wait, cb, on_error)
        waiter.process_instance_key = process_instance_key
        try:
            message = self.publish_message(
                name, correlation_key, payload, time_to_live=time_to_live, message_id=message_id,
                tenant_id=tenant_id,
            )
            if cb is not None:
                return message
            return self._wait(state, transport, waiter, deadline, wait)
        except BaseException:
            self._abandon(state, transport, waiter)  # see create_process_instance_with_affinity
            raise

    def get_outcome(self, process_instance_key: int, timeout: Optional[float] = None) -> ProcessOutcome:
        """Collect the outcome of an instance whose request timed out (from any replica).

        The outcome may already have arrived (it is kept for a while by the hub / Redis and by
        this process) or may still come; this waits up to ``timeout`` seconds for it. With
        ``timeout=0`` it only looks at what is kept, which still takes one round trip to the hub
        / Redis (bounded by ``ack_timeout``, like connecting at first use). With the hub, an
        outcome kept there is handed to the first replica that collects it; that replica keeps it
        too (``collect_ttl``), so collecting it again there returns it again.

        Raises:
            AffinityTimeout: Nothing within ``timeout`` (default ``affinity_timeout``).
            ProcessFailed: The outcome is a failure outcome.
            AffinityUnavailable: The hub / Redis cannot be reached.
        """
        if isinstance(process_instance_key, bool) or not isinstance(process_instance_key, int):
            raise TypeError(f"process_instance_key must be an int, got {process_instance_key!r}")
        wait = self._timeout(timeout, allow_zero=True)
        deadline = time.monotonic() + wait
        key = str(process_instance_key)
        state = self._process_state(start_transport=False)
        kept = state.registry.take_late(key)
        if kept is not None:
            return _result(kept)
        # even timeout=0 ("only what is kept now") needs the connection and one round trip
        state, transport = self._ready_transport(max(wait, self.ack_timeout))
        waiter = self._begin(state, transport, (key,), deadline, None, None, collect=True)
        waiter.process_instance_key = process_instance_key
        try:
            kept = state.registry.take_late(key)  # arrived between the first look and register()
            if kept is not None and self._abandon(state, transport, waiter):
                return _result(kept)
            return self._wait(state, transport, waiter, deadline, wait)
        except BaseException:
            self._abandon(state, transport, waiter)  # see create_process_instance_with_affinity
            raise

    # ------------------------------------------------------------------ the relay worker

    def create_affinity_worker(self, task_type: str = defaults.AFFINITY_TASK_TYPE, **worker_options: Any) -> JobWorker:
        """Start a worker that relays each job's variables to the waiting request.

        The handler sends the outcome the moment the job arrives, routed by the job's
        ``_affinity_request_id`` (and its instance key, for seed clients), waits until the hub
        / Redis confirms the hand-over (at most ``ack_timeout``), and only then completes the job.
        If it cannot hand the outcome over, the job is failed with a clear message and a retry
        backoff (an incident appears when retries run out). A task header
        ``affinity-status: error`` marks the outcome as a failure (``ProcessFailed``).

        Args:
            task_type: The relay task's type (default ``"publish-outcome"``).
            **worker_options: ``timeout``, ``fetch_variables``, ``max_jobs_to_activate`` and
                ``retry_backoff`` (default 1 s) go to the task; the rest (``name``,
                ``max_running_jobs``, ``poll_request_timeout``...) to :class:`JobWorker`.

        Returns:
            The started :class:`~zeebe_affinity_sync.zeebe.worker.JobWorker` (stop it, or
            ``close()`` this client, to end it).

        Raises:
            AffinityUnavailable: The hub / Redis cannot be reached within ``affinity_timeout``.
        """
        task_options = {
            k: worker_options.pop(k)
            for k in ("timeout", "fetch_variables", "max_jobs_to_activate", "retry_backoff")
            if k in worker_options
        }
        task_options.setdefault("retry_backoff", defaults.AFFINITY_WORKER_RETRY_BACKOFF)
        state, _ = self._ready_transport(self.affinity_timeout)
        worker = JobWorker(self, **worker_options)
        worker.register(task_type, self._relay, **task_options)
        worker.start()
        with state.lock:
            state.workers.append(worker)
        return worker

    def _relay(self, job: Job) -> None:
        """Relay handler: hand the job's variables over as the outcome, then complete the job."""
        variables = job.variables or {}
        request_id = variables.get(protocol.REQUEST_ID_VARIABLE)
        if not isinstance(request_id, str) or not request_id:
            request_id = None
        header = str((job.custom_headers or {}).get(defaults.AFFINITY_STATUS_HEADER, "")).strip().lower()
        status = protocol.STATUS_ERROR if header == protocol.STATUS_ERROR else protocol.STATUS_OK
        frame = protocol.process_outcome(
            job.process_instance_key, strip_reserved(variables), request_id=request_id, status=status
        )
        state = self._process_state()
        assert state.transport is not None
        try:
            state.transport.publish_outcome(frame, self.ack_timeout)
        except AffinityUnavailable as exc:
            raise AffinityUnavailable(
                f"outcome of process instance {job.process_instance_key} not handed over, job "
                f"failed so that it is retried: {exc}"
            ) from exc
        return None

    # ------------------------------------------------------------------ waiting

    def _begin_request(
        self, payload: Dict[str, Any], wait: float, cb: Optional[Callback], on_error: Optional[ErrorCallback]
    ) -> Tuple[_ProcessState, Transport, Waiter, float]:
        """Put a fresh request id in ``payload`` and register and watch it, before the call that
        may answer it (an outcome can then never arrive unawaited)."""
        deadline = time.monotonic() + wait
        state, transport = self._ready_transport(wait)
        request_id = transport.new_request_id()
        payload[protocol.REQUEST_ID_VARIABLE] = request_id
        waiter = self._begin(state, transport, (request_id,), deadline, cb, on_error)
        return state, transport, waiter, deadline

    def _begin(
        self,
        state: _ProcessState,
        transport: Transport,
        keys: Tuple[str, ...],
        deadline: float,
        cb: Optional[Callback],
        on_error: Optional[ErrorCallback],
        *,
        collect: bool = False,
    ) -> Waiter:
        waiter = state.registry.register(
            keys, callback=cb, on_error=on_error, deadline=deadline if cb is not None else None,
            keep=collect,
        )
        # a collecting wait looks at what is already kept even with timeout=0: that takes one
        # confirmed round trip, bounded like a hand-over (ack_timeout)
        confirm = max(deadline - time.monotonic(), self.ack_timeout if collect else 0.0)
        try:
            stored = transport.watch(keys, collect=collect, timeout=confirm)
        except BaseException:
            self._abandon(state, transport, waiter)
            raise
        if stored is not None:
            self._on_outcome(state, stored)
        if cb is not None:
            self._watcher(state).watch(waiter)
        return waiter

    def _abandon(self, state: _ProcessState, transport: Transport, waiter: Waiter) -> bool:
        """Cancel a waiter and stop watching its keys; False if it had completed already."""
        if state.registry.cancel(waiter):
            transport.unwatch(waiter.keys)
            return True
        return False

    def _wait(
        self, state: _ProcessState, transport: Transport, waiter: Waiter, deadline: float, wait: float
    ) -> ProcessOutcome:
        if not waiter.event.wait(max(0.0, deadline - time.monotonic())):
            if self._abandon(state, transport, waiter):
                raise _timeout_error(waiter, wait)
            # completed between the wait's end and cancel(): the outcome is there
        if waiter.error is not None:
            raise AffinityUnavailable(str(waiter.error))
        assert waiter.outcome is not None
        return _result(waiter.outcome)

    def _on_outcome(self, state: _ProcessState, frame: Dict[str, Any]) -> bool:
        """Reader thread: wake the waiters of an outcome; hand callbacks to the executor.

        Returns:
            False if nobody here waited for it (it came late); the transport then keeps it
            where other replicas can collect it.
        """
        try:
            outcome = ProcessOutcome.from_frame(frame)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("ignoring an outcome with a bad processInstanceKey: %s", exc)
            return True
        keys = protocol.routing_keys(frame)
        woken = state.registry.deliver(outcome, keys)
        if not woken:
            logger.debug("outcome for %s arrived with nobody waiting: kept for collection", keys)
            return False
        transport = state.transport
        for waiter in woken:
            if transport is not None:
                transport.unwatch(waiter.keys)
            if waiter.callback is not None:
                self._executor(state).submit(_run_callback, waiter, outcome)
        return True

    def _on_expired(self, state: _ProcessState, waiter: Waiter) -> None:
        """Watcher thread: a ``cb=`` call ran out of time."""
        if not state.registry.cancel(waiter):
            return
        if state.transport is not None:
            state.transport.unwatch(waiter.keys)
        error = _timeout_error(waiter, None)
        self._executor(state).submit(_run_error_callback, waiter, error)

    def _watcher(self, state: _ProcessState) -> DeadlineWatcher:
        with state.lock:
            if state.watcher is None:
                state.watcher = DeadlineWatcher(
                    lambda w, _s=state: self._on_expired(_s, w), name="zeebe-affinity-deadlines"
                )
                state.watcher.start()
            return state.watcher

    def _executor(self, state: _ProcessState) -> ThreadPoolExecutor:
        with state.lock:
            if state.executor is None:
                state.executor = ThreadPoolExecutor(
                    max_workers=self.callback_threads, thread_name_prefix="zeebe-affinity-cb"
                )
            return state.executor

    def _with_result(
        self,
        bpmn_process_id: str,
        payload: Dict[str, Any],
        version: Optional[int],
        wait: float,
        cb: Optional[Callback],
        on_error: Optional[ErrorCallback],
        tenant_id: Optional[str] = None,
    ) -> Any:
        def call() -> ProcessOutcome:
            try:
                result = self.create_process_instance_with_result(
                    bpmn_process_id, payload, version=version, timeout=wait, tenant_id=tenant_id
                )
            except ZeebeTimeoutError as exc:
                raise AffinityTimeout(
                    f"process {bpmn_process_id!r} did not complete within {wait:g}s", timeout=wait
                ) from exc
            return ProcessOutcome(result.process_instance_key, strip_reserved(result.variables))

        if cb is None:
            return call()
        state = self._process_state(start_transport=False)

        def run() -> None:
            waiter = Waiter((), cb, on_error)
            try:
                outcome = call()
            except Exception as exc:
                _run_error_callback(waiter, exc)
                return
            _run_callback(waiter, outcome)

        return self._executor(state).submit(run)

    def _timeout(self, timeout: Optional[float], *, allow_zero: bool = False) -> float:
        if timeout is None:
            return self.affinity_timeout
        return _positive(timeout, "timeout", allow_zero=allow_zero)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop relay workers, the transport and callback threads; fail waits in progress with
        :class:`AffinityUnavailable`; close the gRPC channel. Idempotent."""
        with self._state_lock:
            self._affinity_closed = True
            state, self._state = self._state, None
        if state is not None and state.pid == os.getpid():
            with state.lock:
                workers, state.workers = state.workers, []
            for worker in workers:
                try:
                    worker.stop()
                except Exception:  # pragma: no cover - stopping is best effort at close
                    logger.exception("stopping a relay worker failed")
            error = AffinityUnavailable(f"this {type(self).__name__} was closed")
            failed = state.registry.fail_all(error)
            if state.transport is not None:
                state.transport.stop(5.0)
            if state.watcher is not None:
                state.watcher.stop()
                state.watcher.join(5.0)
            callbacks = [waiter for waiter in failed if waiter.callback is not None]
            if callbacks:  # cb= calls in flight learn about it too, on a callback thread
                executor = self._executor(state)
                for waiter in callbacks:
                    executor.submit(_run_error_callback, waiter, error)
            if state.executor is not None:
                state.executor.shutdown(wait=False)  # queued callbacks still run
        super().close()

    def __enter__(self) -> "AffinityClientBase":
        return self


# ---------------------------------------------------------------------------- helpers


def _check_variables(variables: Any) -> Dict[str, Any]:
    encode_variables(variables)  # TypeError with a clear message for anything but a JSON dict
    payload = dict(variables or {})
    if protocol.REQUEST_ID_VARIABLE in payload:
        raise ValueError(
            f"{protocol.REQUEST_ID_VARIABLE!r} is reserved for the affinity layer: rename that variable"
        )
    return payload


def _check_strategy(strategy: Any) -> str:
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}, got {strategy!r}")
    return str(strategy)


def _positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigurationError(f"{name} must be {'>=' if allow_zero else '>'} 0 seconds, got {value!r}")
    return float(value)


def _timeout_error(waiter: Waiter, wait: Optional[float]) -> AffinityTimeout:
    key = waiter.process_instance_key
    span = f"within {wait:g}s" if wait is not None else "before its deadline"
    if key is None:
        message = f"no outcome {span}"
    else:
        message = (
            f"no outcome from process instance {key} {span}; it keeps running: collect its "
            f"outcome later with get_outcome({key})"
        )
    return AffinityTimeout(message, process_instance_key=key, timeout=wait or 0.0)


def _failure(outcome: ProcessOutcome) -> ProcessFailed:
    return ProcessFailed(
        f"process instance {outcome.process_instance_key} reported a failure outcome",
        process_instance_key=outcome.process_instance_key,
        variables=outcome.variables,
    )


def _result(outcome: ProcessOutcome) -> ProcessOutcome:
    if outcome.failed:
        raise _failure(outcome)
    return outcome


def _run_callback(waiter: Waiter, outcome: ProcessOutcome) -> None:
    if outcome.failed:
        _run_error_callback(waiter, _failure(outcome))
        return
    try:
        assert waiter.callback is not None
        waiter.callback(outcome)
    except Exception:
        logger.exception("affinity callback raised")


def _run_error_callback(waiter: Waiter, error: BaseException) -> None:
    if waiter.on_error is None:
        logger.warning("affinity call failed and no on_error callback was given: %s", error)
        return
    try:
        waiter.on_error(error)
    except Exception:
        logger.exception("affinity on_error callback raised")

