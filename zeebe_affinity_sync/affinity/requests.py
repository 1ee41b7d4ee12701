"""The request side: begin a request, wait for its outcome, deliver outcomes to waiters.

Every call makes a fresh request id, registers its waiter and watches the id **before** it starts
the instance (or publishes the message), and passes the id in the reserved variable
``protocol.REQUEST_ID_VARIABLE``. An outcome therefore can never be lost to the race of a fast
process, nor answer a later round of the same instance. A blocking call waits on its waiter's
``threading.Event``; a ``cb=`` call returns at once, its callback runs on a small executor, and its
timeout is watched by one :class:`~.waiters.DeadlineWatcher` thread.

A request that times out hands its keys to the transport's late-outcome policy
(:meth:`.Transport.linger`); :meth:`RequestSide.deliver` is what a transport's reader thread calls
with each outcome, and it only wakes waiters: what the transport owes afterwards (unwatching,
receipts, keeping a late outcome) is the transport's job (see :mod:`.transport`).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from .. import checks, defaults, protocol
from ..errors import (
    AffinityTimeout,
    AffinityUnavailable,
    ConfigurationError,
    ProcessFailed,
    ZeebeTimeoutError,
)
from ..zeebe.types import ProcessInstance, PublishedMessage
from .checks import check_strategy, check_variables
from .outcome import ProcessOutcome, outcome_keys, strip_reserved
from .timeouts import timeout_error
from .transport import Transport
from .waiters import Callback, ErrorCallback, Waiter

if TYPE_CHECKING:  # pragma: no cover
    from .base import ProcessState

__all__ = ["RequestSide"]

logger = logging.getLogger(__name__)

class RequestSide:
    """The affinity calls of :class:`~.base.AffinityClientBase` (a mixin; the base supplies the
    per-process state, the transport and the settings)."""

    # supplied by AffinityClientBase
    affinity_timeout: float
    ack_timeout: float
    collect_ttl: float
    strategy: str
    relay_task_type: str

    def _process_state(self, *, start_transport: bool = True) -> "ProcessState":  # pragma: no cover
        raise NotImplementedError

    def _ready_transport(self, timeout: float, *, connect_wait: Optional[float] = None,
                         role: str = "client") -> Tuple["ProcessState", Transport]:  # pragma: no cover
        raise NotImplementedError

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
    ) -> Union[ProcessOutcome, ProcessInstance, Any]:
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
            TypeError: ``variables`` is not a JSON-serialisable dict, or holds text that cannot be
                sent as UTF-8 (a lone surrogate).
            AffinityTimeout: No outcome within ``timeout``; has ``process_instance_key``.
            ProcessFailed: The relay task reported a failure outcome.
            AffinityOverloaded: ``max_pending`` requests already wait (fail fast, retry later).
            AffinityUnavailable: The hub / Redis cannot be reached (within ``connect_timeout``,
                or at once when it refused us), or the client was closed.
            ZeebeError: The gateway refused to start the instance.
        """
        payload = check_variables(variables)
        wait = self._timeout(timeout)
        if check_strategy(strategy or self.strategy) == "with_result":
            return self._with_result(bpmn_process_id, payload, version, wait, cb, on_error, tenant_id)
        state, transport, waiter, deadline = self._begin_request(payload, wait, cb, on_error)
        try:
            instance = self.create_process_instance(  # type: ignore[attr-defined]
                bpmn_process_id, payload, version=version, tenant_id=tenant_id)
            waiter.process_instance_key = instance.process_instance_key
            if cb is not None:
                self._watch_deadline(state, transport, waiter)
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
        payload = check_variables(variables)
        wait = self._timeout(timeout)
        if self.strategy == "with_result":
            raise ConfigurationError(
                "publish_message_with_affinity needs a hub or Redis: strategy='with_result' can only "
                "wait for the end of a process it starts"
            )
        state, transport, waiter, deadline = self._begin_request(payload, wait, cb, on_error)
        waiter.process_instance_key = process_instance_key
        try:
            message = self.publish_message(  # type: ignore[attr-defined]
                name, correlation_key, payload, time_to_live=time_to_live, message_id=message_id,
                tenant_id=tenant_id,
            )
            if cb is not None:
                self._watch_deadline(state, transport, waiter)
                return message
            return self._wait(state, transport, waiter, deadline, wait)
        except BaseException:
            self._abandon(state, transport, waiter)  # see create_process_instance_with_affinity
            raise

    def get_outcome(self, process_instance_key: int, timeout: Optional[float] = None) -> ProcessOutcome:
        """Collect the outcome of an instance whose request timed out (from any replica).

        Where it can be found (see README, "Collect-later"): in the process whose request timed
        out, for ``collect_ttl`` (that process keeps listening for it that long); and in the hub
        (its ``--outcome-ttl``) or on Redis (``collect_ttl``), for any process. With the hub, an
        outcome held there is handed to the first process that collects it (which keeps it for
        ``collect_ttl`` too, so collecting it again there returns it again). This waits up to
        ``timeout`` seconds for it to arrive; with ``timeout=0`` it only looks at what is kept,
        which still takes one round trip to the hub / Redis (bounded by ``ack_timeout``).

        Raises:
            AffinityTimeout: Nothing within ``timeout`` (default ``affinity_timeout``): not here
                yet, already collected by another process, or expired. The library cannot tell
                these apart (web layer: a documented 202 "not here (yet)").
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
            return self._wait(state, transport, waiter, deadline, wait, collecting=True)
        except BaseException:
            self._abandon(state, transport, waiter)  # see create_process_instance_with_affinity
            raise

    # ------------------------------------------------------------------ transport reader thread

    def deliver(self, state: "ProcessState", frame: Dict[str, Any]) -> List[Waiter]:
        """Wake the waiters of an outcome; hand callbacks to the executor.

        Called on the transport's reader thread (one hop: transport -> here -> registry).

        Returns:
            The waiters it completed; empty if nobody here waited (the outcome came late: the
            registry keeps it for ``collect_ttl``, the transport applies its late policy).
        """
        try:
            outcome = ProcessOutcome.from_frame(frame)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("ignoring an outcome with a bad processInstanceKey: %s", exc)
            return []
        woken = state.registry.deliver(outcome, outcome_keys(frame))
        if not woken:
            logger.debug("outcome of instance %s arrived with nobody waiting: kept for collection",
                         outcome.process_instance_key)
        for waiter in woken:
            if waiter.callback is not None:
                state.submit_callback(_run_callback, waiter, outcome)
        return woken

    # ------------------------------------------------------------------ waiting

    def _begin_request(
        self, payload: Dict[str, Any], wait: float, cb: Optional[Callback], on_error: Optional[ErrorCallback]
    ) -> Tuple["ProcessState", Transport, Waiter, float]:
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
        state: "ProcessState",
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
        if stored is not None:  # found while collecting: the transport hands it over here
            for woken in self.deliver(state, stored):
                transport.unwatch(woken.keys)
        return waiter

    def _watch_deadline(self, state: "ProcessState", transport: Transport, waiter: Waiter) -> None:
        """A ``cb=`` call has started: its deadline is watched from now on. If the client closed
        in the meantime, the caller learns it through ``on_error`` (never silence)."""
        if not state.watch_deadline(waiter, lambda w: self._on_expired(state, w)):
            if self._abandon(state, transport, waiter):
                error = AffinityUnavailable(f"this {type(self).__name__} was closed")
                _run_error_callback(waiter, error)

    def _abandon(self, state: "ProcessState", transport: Transport, waiter: Waiter, *, timed_out: bool = False) -> bool:
        """Cancel a waiter and stop watching its keys; False if it had completed already.

        A timed-out request's keys go to the transport's late-outcome policy instead."""
        if state.registry.cancel(waiter):
            if timed_out and self.collect_ttl > 0:
                transport.linger(waiter.keys, self.collect_ttl)
            else:
                transport.unwatch(waiter.keys)
            return True
        return False

    def _wait(
        self,
        state: "ProcessState",
        transport: Transport,
        waiter: Waiter,
        deadline: float,
        wait: float,
        *,
        collecting: bool = False,
    ) -> ProcessOutcome:
        if not waiter.event.wait(max(0.0, deadline - time.monotonic())):
            if self._abandon(state, transport, waiter, timed_out=not collecting):
                raise self._timeout_error(waiter, wait, probe=not collecting)
            # completed between the wait's end and cancel(): the outcome is there
        if waiter.error is not None:
            raise AffinityUnavailable(str(waiter.error))
        assert waiter.outcome is not None
        return _result(waiter.outcome)

    def _on_expired(self, state: "ProcessState", waiter: Waiter) -> None:
        """Watcher thread: a ``cb=`` call ran out of time."""
        if not state.registry.cancel(waiter):
            return
        if state.transport is not None:
            if self.collect_ttl > 0:
                state.transport.linger(waiter.keys, self.collect_ttl)
            else:
                state.transport.unwatch(waiter.keys)
        error = self._timeout_error(waiter, None, probe=False)  # no RPC on the watcher thread
        state.submit_callback(_run_error_callback, waiter, error)

    def _timeout_error(self, waiter: Waiter, wait: Optional[float], *, probe: bool) -> AffinityTimeout:
        return timeout_error(self, waiter, wait, relay_task_type=self.relay_task_type, probe=probe)

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
                result = self.create_process_instance_with_result(  # type: ignore[attr-defined]
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
        # counts against max_pending like any other wait (AffinityOverloaded when full)
        waiter = state.registry.register((), callback=cb, on_error=on_error)

        def run() -> None:
            try:
                outcome = call()
            except Exception as exc:
                if state.registry.cancel(waiter):
                    _run_error_callback(waiter, exc)
                return
            if state.registry.cancel(waiter):  # False: close() failed it (and told on_error)
                _run_callback(waiter, outcome)

        # its own pool: a blocked with-result call never delays the outcome callbacks
        return state.submit_with_result(run, waiter)

    def _timeout(self, timeout: Optional[float], *, allow_zero: bool = False) -> float:
        if timeout is None:
            return self.affinity_timeout
        return checks.seconds(timeout, "timeout", allow_zero=allow_zero)


# ---------------------------------------------------------------------------- helpers


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
