"""``EmbeddedZeebe``: the in-memory engine served over real gRPC, plus gRPC health checking."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from zeebe_affinity_sync.gateway import gateway_pb2_grpc as pb_grpc

from .. import defaults
from ..errors import ConfigurationError
from .runtime import DEFAULT_STEP_BUDGET, Engine
from .servicer import GatewayServicer
from .slots import waiting_slots_for
from .tenancy import DEFAULT_TENANT, TenantPolicy

logger = logging.getLogger(__name__)

__all__ = ["EmbeddedZeebe"]

_GATEWAY_SERVICE = "gateway_protocol.Gateway"

Resource = Union[str, Tuple[str, bytes]]


class EmbeddedZeebe:
    """An in-process Zeebe gateway + engine for tests, demos and laptops without a broker.

    Real Zeebe clients (zbctl, pyzeebe, zeebe-node, :class:`~zeebe_affinity_sync.ZeebeClient`)
    talk to it over plaintext gRPC; see ``docs/engine.md`` for what it supports.

    Each parked ActivateJobs long poll, open job stream and with-result call holds one server
    thread while it waits, so the pool is sized generously (``server_threads``, default 256). At
    most ``server_threads - min(32, server_threads // 2)`` requests wait at once; beyond that they
    answer RESOURCE_EXHAUSTED (Zeebe's backpressure answer), so the remaining threads always serve
    unary calls.

    Args:
        host: Interface to bind (default ``127.0.0.1``).
        port: TCP port; 0 picks a free one (read it back from :attr:`port`).
        long_poll_timeout_ms: Long poll of an ActivateJobs request that says ``requestTimeout=0``.
        with_result_timeout_ms: Wait of CreateProcessInstanceWithResult when the request says <= 0.
        server_threads: Size of the gRPC thread pool.
        max_message_bytes: gRPC send/receive limit.
        history_size: Finished instances kept for :meth:`process_instances`.
        record_log_size: Records kept by the record log (:meth:`records`), oldest dropped
            first; 0 turns the log off.
        step_budget: Token-flow steps one command runs under the engine lock before the rest
            continues in the background (a loop without a wait state cannot freeze the engine).
        max_buffered_messages: Messages with a time to live held at once; a publish beyond it
            answers RESOURCE_EXHAUSTED (default 10,000).
        multi_tenancy: Behave like Zeebe with multi-tenancy enabled: every request must name its
            tenant (at most 31 of letters, digits, ``_ . -``); resources, instances, jobs and
            messages belong to a tenant and activation and correlation stay within the requested
            tenants. Off (the default), only the default tenant ``<default>`` exists.
        authorized_tenants: With ``multi_tenancy``, the tenants requests may use; any other is
            refused with PERMISSION_DENIED as for a client not assigned to it (default ``None``:
            every well-formed tenant id).

    Example::

        with EmbeddedZeebe() as zeebe:
            client = ZeebeClient(zeebe.address)
    """

    def __init__(
        self,
        host: str = defaults.ENGINE_HOST,
        port: int = 0,
        *,
        long_poll_timeout_ms: int = defaults.ENGINE_LONG_POLL_TIMEOUT_MS,
        with_result_timeout_ms: int = defaults.ENGINE_WITH_RESULT_TIMEOUT_MS,
        server_threads: int = defaults.ENGINE_SERVER_THREADS,
        max_message_bytes: int = defaults.ENGINE_MAX_MESSAGE_BYTES,
        history_size: int = defaults.ENGINE_HISTORY_SIZE,
        step_budget: int = DEFAULT_STEP_BUDGET,
        record_log_size: int = defaults.ENGINE_RECORD_LOG_SIZE,
        max_buffered_messages: int = defaults.ENGINE_MAX_BUFFERED_MESSAGES,
        multi_tenancy: bool = False,
        authorized_tenants: Optional[Sequence[str]] = None,
    ) -> None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an int in 0..65535 (0 = any free port), got {port!r}")
        if long_poll_timeout_ms < 1 or with_result_timeout_ms < 1:
            raise ConfigurationError("long_poll_timeout_ms and with_result_timeout_ms must be positive (ms)")
        if max_message_bytes < 64 * 1024:
            raise ConfigurationError(f"max_message_bytes must be at least 65536, got {max_message_bytes}")
        if server_threads < 4:
            raise ConfigurationError(f"server_threads must be at least 4, got {server_threads}")
        if isinstance(step_budget, bool) or not isinstance(step_budget, int) or step_budget < 1:
            raise ConfigurationError(f"step_budget must be an int >= 1 (token-flow steps), got {step_budget!r}")
        if isinstance(record_log_size, bool) or not isinstance(record_log_size, int) or record_log_size < 0:
            raise ConfigurationError(f"record_log_size must be an int >= 0 (0 = no record log), got {record_log_size!r}")
        try:
            self.tenants = TenantPolicy(multi_tenancy, authorized_tenants)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        self.host = host
        self._requested_port = port
        self._long_poll_timeout_ms = long_poll_timeout_ms
        self._with_result_timeout_ms = with_result_timeout_ms
        self._server_threads = server_threads
        self._max_message_bytes = max_message_bytes
        if isinstance(max_buffered_messages, bool) or not isinstance(max_buffered_messages, int) \
                or max_buffered_messages < 1:
            raise ConfigurationError(f"max_buffered_messages must be an int >= 1, got {max_buffered_messages!r}")
        self.engine = Engine(history_size=history_size, step_budget=step_budget, record_log_size=record_log_size)
        self.engine.max_buffered_messages = max_buffered_messages
        self._state_lock = threading.Lock()
        # _server, _port, _state: guarded by _state_lock; changed only by start()/stop()
        self._server: Optional[grpc.Server] = None
        self._port: Optional[int] = None
        self._state = "new"
        self._health: Optional[health.HealthServicer] = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "EmbeddedZeebe":
        """Bind and start serving. Returns ``self``.

        Raises:
            RuntimeError: Already started or stopped (an engine is started once).
            OSError: The port could not be bound.
        """
        with self._state_lock:
            if self._state != "new":
                raise RuntimeError(f"EmbeddedZeebe is {self._state}; create a new one to start again")
            options = [
                ("grpc.max_send_message_length", self._max_message_bytes),
                ("grpc.max_receive_message_length", self._max_message_bytes),
                ("grpc.so_reuseport", 0),
                # keepalive pings as Zeebe's gateway allows them (network.minKeepAliveInterval 30 s):
                # gRPC's server default (5 min) would answer a Java client's 45 s pings on an idle
                # job stream with GOAWAY, cutting the stream
                ("grpc.http2.min_ping_interval_without_data_ms", 30_000),
                ("grpc.keepalive_permit_without_calls", 1),
            ]
            server = grpc.server(
                ThreadPoolExecutor(max_workers=self._server_threads, thread_name_prefix="zeebe-engine-rpc"),
                options=options,
                maximum_concurrent_rpcs=None,
            )
            try:
                bound = server.add_insecure_port(f"{self.host}:{self._requested_port}")
            except RuntimeError:  # grpc's way of saying the bind failed
                bound = 0
            if not bound:
                server.stop(None)
                raise OSError(f"could not bind the embedded Zeebe engine to {self.host}:{self._requested_port}; "
                              "is the port in use? (use port=0 for a free one)")
            servicer = GatewayServicer(
                self.engine, long_poll_timeout_ms=self._long_poll_timeout_ms,
                with_result_timeout_ms=self._with_result_timeout_ms, host=self.host, port=bound,
                max_message_bytes=self._max_message_bytes,
                max_waiting=waiting_slots_for(self._server_threads, defaults.ENGINE_RESERVED_UNARY_THREADS),
                tenants=self.tenants,
            )
            pb_grpc.add_GatewayServicer_to_server(servicer, server)
            self._health = health.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
            self.engine.start()
            server.start()
            for service in (_GATEWAY_SERVICE, ""):
                self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
            self._server = server
            self._port = bound
            self._state = "running"
        logger.info("embedded Zeebe engine listening on %s", self.address)
        return self

    def stop(self, grace: Optional[float] = defaults.ENGINE_STOP_GRACE) -> None:
        """Stop serving: parked requests answer at once, in-flight RPCs get ``grace`` seconds.

        Idempotent; the scheduler thread and the server threads are gone when it returns.
        """
        with self._state_lock:
            if self._state != "running":
                self._state = "stopped"
                return
            self._state = "stopped"
            server = self._server
            self._server = None
        if self._health is not None:
            self._health.enter_graceful_shutdown()
        self.engine.close()  # wakes parked long polls / streams / with-result callers
        assert server is not None
        server.stop(grace).wait()
        logger.info("embedded Zeebe engine on %s:%s stopped", self.host, self._port)

    def __enter__(self) -> "EmbeddedZeebe":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: Not started yet.
        """
        if self._port is None:
            raise RuntimeError("EmbeddedZeebe is not started: call start() (or use it as a context manager)")
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` to give a Zeebe client."""
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ convenience + inspection
    @property
    def multi_tenancy(self) -> bool:
        """True if the engine was started with ``multi_tenancy=True``."""
        return self.tenants.multi_tenancy

    def deploy(self, *resources: Resource, tenant_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """Deploy BPMN files (paths or ``(name, bytes)``) without going through gRPC.

        Args:
            tenant_id: The tenant to deploy to, checked as DeployResource checks it; ``None``:
                the default tenant (``<default>``).

        Raises:
            InvalidArgumentError: Invalid or unsupported BPMN, or a tenant id the engine refuses.
            PermissionDeniedError: A tenant outside ``authorized_tenants``.
        """
        tenant = self.tenants.tenant(DEFAULT_TENANT if tenant_id is None else tenant_id, "DeployResource")
        loaded = []
        for resource in resources:
            if isinstance(resource, tuple):
                loaded.append((resource[0], resource[1]))
            else:
                with open(resource, "rb") as fh:
                    loaded.append((str(resource).replace("\\", "/").rsplit("/", 1)[-1], fh.read()))
        _, definitions = self.engine.deploy(loaded, tenant_id=tenant)
        return [{"bpmn_process_id": d.bpmn_process_id, "version": d.version, "process_definition_key": d.key,
                 "resource_name": d.resource_name, "tenant_id": d.tenant_id} for d in definitions]

    def close_job_streams(self) -> int:
        """End every open StreamActivatedJobs call (the stream simply ends, as when a Zeebe
        gateway loses its broker), to test that workers reopen them. Returns how many were open."""
        return self.engine.close_streams()

    def incidents(self) -> List[Dict[str, Any]]:
        """Open incidents (``key``, ``error_type``, ``error_message``, ``process_instance_key``,
        ``element_id``, ``job_key``...). Resolve one with ResolveIncident / :meth:`resolve_incident`."""
        return self.engine.incidents()

    def resolve_incident(self, incident_key: int) -> None:
        self.engine.resolve_incident(incident_key)

    def process_instances(self, include_finished: bool = True) -> List[Dict[str, Any]]:
        """Active instances then the bounded history of finished ones (``state`` says which)."""
        return self.engine.process_instances(include_finished)

    def process_instance(self, process_instance_key: int) -> Optional[Dict[str, Any]]:
        return self.engine.process_instance(process_instance_key)

    def variables(self, process_instance_key: int) -> Dict[str, Any]:
        """Root variables of an active or recently finished instance."""
        return self.engine.variables(process_instance_key)

    def jobs(self) -> List[Dict[str, Any]]:
        """Live jobs with their ``state`` (ACTIVATABLE, ACTIVATED, FAILED, ERROR_THROWN)."""
        return self.engine.jobs()

    def messages(self) -> List[Dict[str, Any]]:
        """Buffered messages (published with a TTL and not yet expired)."""
        return self.engine.messages()

    def user_tasks(self, *, process_instance_key: Optional[int] = None,
                   element_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """Open Camunda user tasks (``zeebe:userTask``), oldest first: ``key``, ``element_id``,
        ``process_instance_key``, ``assignee``, ``candidate_groups``, ``candidate_users``,
        ``due_date``, ``follow_up_date``, ``form_key``, ``form_id``, ``external_form_reference``,
        ``priority``, ``custom_headers``, ``creation_date`` (ms), ``variables`` (visible)...
        (Job-worker user tasks are jobs of type ``io.camunda.zeebe:userTask``: see :meth:`jobs`.)"""
        return self.engine.user_tasks(process_instance_key=process_instance_key, element_id=element_id)

    def complete_user_task(self, key_or_element_id: Union[int, str], variables: Optional[Dict[str, Any]] = None,
                           *, process_instance_key: Optional[int] = None) -> None:
        """Complete an open Camunda user task by key, or by element id (optionally in one
        instance); ``variables`` are merged like a completed job's.

        Raises:
            NotFoundError: No such open user task.
            InvalidArgumentError: The element id names several open tasks.
            TypeError: ``variables`` is not a dict.
        """
        self.engine.complete_user_task(key_or_element_id, variables, process_instance_key=process_instance_key)

    def element_ids(self, process_definition_key: int) -> List[str]:
        """Ids of every flow node of a deployed process version (nested ones too), in document
        order — e.g. to check that an element id a test names exists.

        Raises:
            ProcessNotFoundError: No such process definition.
        """
        return self.engine.element_ids(process_definition_key)

    def definitions(self) -> Sequence[Dict[str, Any]]:
        """Deployed process versions."""
        return self.engine.definitions()

    def evaluate_decision(self, decision_id: str = "", variables: Optional[Dict[str, Any]] = None, *,
                          decision_key: int = -1, tenant_id: str = "<default>") -> Dict[str, Any]:
        """Evaluate the latest version of a deployed DMN decision (or the one with ``decision_key``)
        of ``tenant_id``.

        Returns:
            The evaluation as a plain dict (``decision_output``, ``evaluated_decisions`` with
            inputs and matched rules, ``failed_decision_id`` / ``evaluation_failure_message``
            when it failed), like the ``DECISION_EVALUATION`` record.

        Raises:
            NotFoundError: No such decision.
        """
        from .dmn.registry import result_fields

        deployed, result = self.engine.evaluate_decision(decision_id, variables, decision_key=decision_key,
                                                         tenant_id=tenant_id)
        return result_fields(deployed, result, result.deployed)

    def decisions(self) -> List[Dict[str, Any]]:
        """Every deployed decision version, as plain dicts."""
        return self.engine.decisions()

    def stats(self) -> Dict[str, int]:
        """Sizes of the engine's live structures: instances, jobs, parked polls, timers..."""
        return self.engine.stats()

    # ------------------------------------------------------------------ testing: records, idle, clock, reset
    def records(self, *, value_type: Optional[str] = None, intent: Optional[str] = None,
                process_instance_key: Optional[int] = None, element_id: Optional[str] = None,
                since_position: int = 0, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """The record log as plain dicts, oldest first, modelled on Zeebe's exported records.

        Each record has ``position``, ``timestamp`` (ms, engine clock), ``value_type``
        (PROCESS_INSTANCE, JOB, VARIABLE, INCIDENT, TIMER, MESSAGE, MESSAGE_SUBSCRIPTION,
        PROCESS, DEPLOYMENT...), ``intent`` (ELEMENT_ACTIVATED, CREATED, COMPLETED...), ``key``
        and the value's fields in snake_case (see docs/engine.md). Each filter left ``None``
        matches every record; ``since_position`` keeps only newer records.

        Example — the elements of an instance that completed, in order::

            [r["element_id"] for r in zeebe.records(process_instance_key=key, intent="ELEMENT_COMPLETED")]
        """
        return self.engine.records(value_type=value_type, intent=intent, process_instance_key=process_instance_key,
                                   element_id=element_id, since_position=since_position, limit=limit)

    def last_position(self) -> int:
        """Position of the newest record (0 if none); use as ``records(since_position=...)``."""
        return self.engine.last_position()

    def is_idle(self) -> bool:
        """True when the engine has nothing to do on its own (no queued token flow, no timer or
        deadline due); jobs waiting for workers and open subscriptions count as idle."""
        return self.engine.is_idle()

    def wait_for_idle(self, timeout: float = defaults.ENGINE_IDLE_TIMEOUT) -> None:
        """Block until :meth:`is_idle`.

        Raises:
            EngineBusyError: Still busy after ``timeout`` seconds (the message says with what).
        """
        self.engine.wait_for_idle(timeout)

    def now(self) -> datetime:
        """The engine clock (real time + what :meth:`increase_time` added), UTC aware."""
        return self.engine.now()

    def increase_time(self, amount: Union[float, int, timedelta]) -> None:
        """Move the engine clock forward by seconds or a ``timedelta``; timers, job deadlines,
        backoffs and message TTLs that became due fire before this returns, in due order.

        Raises:
            ValueError: A negative amount.
        """
        self.engine.increase_time(amount)

    def reset(self) -> None:
        """Back to empty — definitions, instances, jobs, messages, timers, incidents, user tasks,
        records, clock offset — while the server keeps running."""
        self.engine.reset()

    def __repr__(self) -> str:
        where = f"{self.host}:{self._port}" if self._port else f"{self.host}:{self._requested_port}"
        return f"<EmbeddedZeebe {where} {self._state}>"
