"""The gRPC ``gateway_protocol.Gateway`` service, mapped onto the in-memory :class:`Engine`.

Each RPC validates its request the way the Zeebe gateway does (JSON variables, tenant ids,
activation parameters), calls the engine, and turns the library's :class:`ZeebeError` into the
matching gRPC status. JSON is parsed and serialised here, outside the engine lock.

Threads: every RPC runs on a thread of the gRPC server's pool. A parked ActivateJobs long poll and
an open StreamActivatedJobs stream each hold one of those threads while they wait on their own
``Event``; a client that goes away wakes its request through ``context.add_callback`` and any
jobs already activated for it are given back.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator, List, Optional, Tuple, TypeVar

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc as pb_grpc

from .. import defaults
from ..errors import ZeebeError
from . import rejections, state
from .jobs import ActivatedJobData
from .runtime import Engine
from .dmn import responses as dmn_responses
from .slots import WaitingSlots
from .tenancy import DEFAULT_TENANT, TenantPolicy
from .variables import dumps, parse_document

logger = logging.getLogger(__name__)

__all__ = ["GatewayServicer", "DEFAULT_TENANT", "GATEWAY_VERSION"]

GATEWAY_VERSION = "8.4.13"  # plain semver: clients may parse it

_T = TypeVar("_T")
_RESPONSE_OVERHEAD = 1024  # bytes kept free in a message for framing
_FIELD_OVERHEAD = 8        # bytes of tag + length prefix per job in a response


def _clamp_request_timeout(ms: int) -> int:
    """A client's requestTimeout, at most ENGINE_MAX_REQUEST_TIMEOUT_MS (2^62 ms would overflow the
    wait; nobody waits on an embedded engine for longer than an hour)."""
    return min(ms, defaults.ENGINE_MAX_REQUEST_TIMEOUT_MS)


def _job_message(data: ActivatedJobData) -> pb.ActivatedJob:
    return pb.ActivatedJob(
        key=data.key, type=data.type, processInstanceKey=data.process_instance_key,
        bpmnProcessId=data.bpmn_process_id, processDefinitionVersion=data.process_definition_version,
        processDefinitionKey=data.process_definition_key, elementId=data.element_id,
        elementInstanceKey=data.element_instance_key, customHeaders=data.custom_headers,
        worker=data.worker, retries=data.retries, deadline=data.deadline,
        variables=dumps(data.variables), tenantId=data.tenant_id,
    )


def _raise(error: ZeebeError) -> None:
    raise error


class GatewayServicer(pb_grpc.GatewayServicer):
    """Zeebe's Gateway service over an :class:`Engine`.

    Args:
        engine: The runtime.
        long_poll_timeout_ms: ActivateJobs long-poll time when the request says 0.
        with_result_timeout_ms: CreateProcessInstanceWithResult wait when the request says <= 0.
        host / port: What Topology reports.
        max_message_bytes: Largest response message; bigger job batches are split.
        max_waiting: How many requests may hold a server thread while they wait (parked long
            polls, open job streams, with-result calls); beyond it they answer RESOURCE_EXHAUSTED.
            ``None``: unbounded (the server sizes it from its thread pool).
        tenants: The gateway's tenant rules (default: multi-tenancy off).
    """

    def __init__(self, engine: Engine, *, long_poll_timeout_ms: int = defaults.ENGINE_LONG_POLL_TIMEOUT_MS,
                 with_result_timeout_ms: int = defaults.ENGINE_WITH_RESULT_TIMEOUT_MS,
                 host: str = "0.0.0.0", port: int = 26500,
                 max_message_bytes: int = defaults.ENGINE_MAX_MESSAGE_BYTES,
                 max_waiting: Optional[int] = None, tenants: Optional[TenantPolicy] = None) -> None:
        self.engine = engine
        self.waiting = WaitingSlots(max_waiting if max_waiting is not None else 1 << 30)
        self.tenants = tenants if tenants is not None else TenantPolicy()
        self.max_message_bytes = max_message_bytes
        self.long_poll_timeout_ms = long_poll_timeout_ms
        self.with_result_timeout_ms = with_result_timeout_ms
        self.host = host
        self.port = port

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _call(context: grpc.ServicerContext, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except ZeebeError as exc:
            context.abort(exc.grpc_code or grpc.StatusCode.INTERNAL, str(exc))
            raise  # unreachable: abort raises

    def _tenant(self, tenant_id: str, command: str) -> str:
        """The tenant a request runs in, checked as Zeebe's gateway does (raises ZeebeError)."""
        return self.tenants.tenant(tenant_id, command)

    # ------------------------------------------------------------------ cluster
    def Topology(self, request: pb.TopologyRequest, context: grpc.ServicerContext) -> pb.TopologyResponse:
        partition = pb.Partition(partitionId=1, role=pb.Partition.LEADER, health=pb.Partition.HEALTHY)
        broker = pb.BrokerInfo(nodeId=0, host=self.host, port=self.port, partitions=[partition],
                               version=GATEWAY_VERSION)
        return pb.TopologyResponse(brokers=[broker], clusterSize=1, partitionsCount=1, replicationFactor=1,
                                   gatewayVersion=GATEWAY_VERSION)

    # ------------------------------------------------------------------ deployment
    def DeployResource(self, request: pb.DeployResourceRequest, context: grpc.ServicerContext) -> pb.DeployResourceResponse:
        def run() -> pb.DeployResourceResponse:
            tenant = self._tenant(request.tenantId, "DeployResource")
            decisions: List[Any] = []
            key, definitions = self.engine.deploy([(r.name, bytes(r.content)) for r in request.resources],
                                                  tenant_id=tenant, decisions_out=decisions)
            return pb.DeployResourceResponse(key=key, tenantId=tenant, deployments=[
                pb.Deployment(process=pb.ProcessMetadata(
                    bpmnProcessId=d.bpmn_process_id, version=d.version, processDefinitionKey=d.key,
                    resourceName=d.resource_name, tenantId=tenant))
                for d in definitions
            ] + dmn_responses.deployment_entries(decisions[0], tenant))

        return self._call(context, run)

    def DeployProcess(self, request: pb.DeployProcessRequest, context: grpc.ServicerContext) -> pb.DeployProcessResponse:
        def run() -> pb.DeployProcessResponse:
            self._tenant(DEFAULT_TENANT, "DeployProcess")  # the old RPC always deploys to the default tenant
            key, definitions = self.engine.deploy([(p.name, bytes(p.definition)) for p in request.processes])
            return pb.DeployProcessResponse(key=key, processes=[
                pb.ProcessMetadata(bpmnProcessId=d.bpmn_process_id, version=d.version, processDefinitionKey=d.key,
                                   resourceName=d.resource_name, tenantId=DEFAULT_TENANT)
                for d in definitions
            ])

        return self._call(context, run)

    # ------------------------------------------------------------------ instances
    def _create(self, request: pb.CreateProcessInstanceRequest, await_result: Optional[List[str]]) -> Any:
        command = "CreateProcessInstance" if await_result is None else "CreateProcessInstanceWithResult"
        tenant = self._tenant(request.tenantId, command)
        variables = parse_document(request.variables)
        summary, waiter = self.engine.create_instance(
            request.bpmnProcessId, version=request.version, definition_key=request.processDefinitionKey,
            variables=variables, start_elements=[s.elementId for s in request.startInstructions],
            await_result=await_result, tenant_id=tenant,
        )
        summary["tenant_id"] = tenant
        return summary, waiter

    def CreateProcessInstance(self, request: pb.CreateProcessInstanceRequest,
                              context: grpc.ServicerContext) -> pb.CreateProcessInstanceResponse:
        summary, _ = self._call(context, lambda: self._create(request, None))
        return pb.CreateProcessInstanceResponse(
            processDefinitionKey=summary["process_definition_key"], bpmnProcessId=summary["bpmn_process_id"],
            version=summary["version"], processInstanceKey=summary["process_instance_key"],
            tenantId=summary["tenant_id"])

    def CreateProcessInstanceWithResult(self, request: pb.CreateProcessInstanceWithResultRequest,
                                        context: grpc.ServicerContext) -> pb.CreateProcessInstanceWithResultResponse:
        fetch = list(request.fetchVariables)
        if not self.waiting.try_acquire():
            self._call(context, lambda: _raise(rejections.backpressure(
                f"{self.waiting.limit} requests already wait for the embedded engine, its limit")))
        try:
            summary, waiter = self._call(context, lambda: self._create(request.request, fetch))
            assert waiter is not None
            timeout_ms = (_clamp_request_timeout(request.requestTimeout) if request.requestTimeout > 0
                          else self.with_result_timeout_ms)
            try:
                if context.add_callback(waiter.event.set):  # client gone: stop waiting at once
                    waiter.event.wait(timeout_ms / 1000.0)
                # else the RPC has already ended: do not wait for nobody
            finally:
                if waiter.variables is None:  # never leave a waiter behind, whatever ended the wait
                    self.engine.forget_waiter(summary["process_instance_key"], waiter)
        finally:
            self.waiting.release()
        key = summary["process_instance_key"]
        if waiter.variables is None:
            if waiter.ended is not None:
                self._call(context, lambda: _raise(rejections.invalid_state(
                    "CREATE_WITH_AWAITING_RESULT",
                    f"Expected to wait for the result of process instance with key '{key}', but it was "
                    f"{waiter.ended.lower()} before it completed")))
            if not context.is_active():
                context.abort(grpc.StatusCode.CANCELLED, "the client cancelled the request")
            if self.engine.closed:
                context.abort(grpc.StatusCode.UNAVAILABLE,
                              f"the embedded Zeebe engine is stopping; process instance {key} was not finished")
            context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"Time out between gateway and broker: Request ProtocolRequest{{id=0, subject=command-api-1, "
                f"sender=0.0.0.0:26502}} to 0.0.0.0:26501 timed out in PT{timeout_ms / 1000.0:g}S "
                f"(process instance {key} is still running)")
        return pb.CreateProcessInstanceWithResultResponse(
            processDefinitionKey=summary["process_definition_key"], bpmnProcessId=summary["bpmn_process_id"],
            version=summary["version"], processInstanceKey=key, variables=dumps(waiter.variables),
            tenantId=summary["tenant_id"])

    def CancelProcessInstance(self, request: pb.CancelProcessInstanceRequest,
                              context: grpc.ServicerContext) -> pb.CancelProcessInstanceResponse:
        self._call(context, lambda: self.engine.cancel_instance(request.processInstanceKey))
        return pb.CancelProcessInstanceResponse()

    def SetVariables(self, request: pb.SetVariablesRequest, context: grpc.ServicerContext) -> pb.SetVariablesResponse:
        def run() -> int:
            variables = parse_document(request.variables)
            return self.engine.set_variables(request.elementInstanceKey, variables, request.local)

        return pb.SetVariablesResponse(key=self._call(context, run))

    def ResolveIncident(self, request: pb.ResolveIncidentRequest,
                        context: grpc.ServicerContext) -> pb.ResolveIncidentResponse:
        self._call(context, lambda: self.engine.resolve_incident(request.incidentKey))
        return pb.ResolveIncidentResponse()

    # ------------------------------------------------------------------ jobs
    def _check_activation(self, job_type: str, timeout: int, tenant_ids: Any, max_jobs: Optional[int],
                          command: str) -> Tuple[str, ...]:
        """Zeebe's activation checks; returns the tenants the request covers."""
        tenants = tuple(self.tenants.tenants(tenant_ids, command))
        if max_jobs is not None and max_jobs < 1:
            raise rejections.invalid(
                "ACTIVATE", "Expected to activate job batch with max jobs to activate to be greater than zero, "
                f"but it was '{max_jobs}'")
        if timeout < 1:
            raise rejections.invalid(
                "ACTIVATE", f"Expected to activate job batch with timeout to be greater than zero, but it was "
                f"'{timeout}'")
        if not job_type.strip():
            raise rejections.invalid(
                "ACTIVATE", "Expected to activate job batch with type to be present, but it was blank")
        return tenants

    def ActivateJobs(self, request: pb.ActivateJobsRequest,
                     context: grpc.ServicerContext) -> Iterator[pb.ActivateJobsResponse]:
        tenants = self._call(context, lambda: self._check_activation(
            request.type, request.timeout, request.tenantIds, request.maxJobsToActivate, "ActivateJobs"))
        job_request = state.JobRequest(request.type, request.worker, request.timeout,
                                       request.maxJobsToActivate, list(request.fetchVariable), tenant_ids=tenants)
        if request.requestTimeout < 0:
            long_poll: Optional[float] = None
        elif request.requestTimeout == 0:
            long_poll = self.long_poll_timeout_ms / 1000.0
        else:
            long_poll = _clamp_request_timeout(request.requestTimeout) / 1000.0
        if long_poll is not None and not context.add_callback(job_request.event.set):
            long_poll = None  # the RPC already ended (client gone): do not park
        slot = long_poll is not None and self.waiting.try_acquire()
        try:
            # without a slot: hand over what is there now, park only with one
            jobs = self.engine.activate_jobs(job_request, long_poll if slot else None)
        finally:
            if slot:
                self.waiting.release()
        if not jobs and long_poll is not None and not slot:
            self._call(context, lambda: _raise(rejections.backpressure_activate(
                request.type, f"{self.waiting.limit} requests already wait for the embedded engine, its limit")))
        if not jobs:
            return
        if not context.is_active():
            self.engine.give_back(jobs)
            return
        for batch in self._batches(jobs):
            yield pb.ActivateJobsResponse(jobs=batch)

    def _batches(self, jobs: List[ActivatedJobData]) -> Iterator[List[pb.ActivatedJob]]:
        """Split activated jobs into responses that fit the message size limit.

        A job that cannot fit a message by itself gets a MESSAGE_SIZE_EXCEEDED incident instead
        (as Zeebe does); reduce its variables (SetVariables / fetchVariables) and resolve it.
        """
        limit = self.max_message_bytes - _RESPONSE_OVERHEAD
        batch: List[pb.ActivatedJob] = []
        size = 0
        for data in jobs:
            message = _job_message(data)
            job_size = message.ByteSize() + _FIELD_OVERHEAD
            if job_size > limit:
                self.engine.job_too_large(data.key, job_size, limit)
                continue
            if batch and size + job_size > limit:
                yield batch
                batch, size = [], 0
            batch.append(message)
            size += job_size
        if batch:
            yield batch

    def StreamActivatedJobs(self, request: pb.StreamActivatedJobsRequest,
                            context: grpc.ServicerContext) -> Iterator[pb.ActivatedJob]:
        tenants = self._call(context, lambda: self._check_activation(
            request.type, request.timeout, request.tenantIds, None, "StreamActivatedJobs"))
        job_request = state.JobRequest(request.type, request.worker, request.timeout, 1 << 30,
                                       list(request.fetchVariable), stream=True, tenant_ids=tenants)

        def gone() -> None:
            job_request.closed = True
            job_request.event.set()

        if not context.add_callback(gone):
            return  # the client is already gone
        if not self.waiting.try_acquire():
            self._call(context, lambda: _raise(rejections.backpressure_activate(
                request.type, f"{self.waiting.limit} requests already wait for the embedded engine, its limit")))
        try:
            yield from self._stream(job_request, context)
        finally:
            self.waiting.release()

    def _stream(self, job_request: state.JobRequest, context: grpc.ServicerContext) -> Iterator[pb.ActivatedJob]:
        self.engine.open_stream(job_request)
        try:
            while not job_request.closed and not self.engine.closed:
                jobs = self.engine.stream_take(job_request, None)
                for index, data in enumerate(jobs):
                    if not context.is_active():
                        self.engine.give_back(jobs[index:])
                        return
                    message = _job_message(data)
                    size = message.ByteSize()
                    if size + _FIELD_OVERHEAD > self.max_message_bytes:
                        self.engine.job_too_large(data.key, size, self.max_message_bytes)
                        continue
                    yield message
        finally:
            self.engine.close_stream(job_request)

    def CompleteJob(self, request: pb.CompleteJobRequest, context: grpc.ServicerContext) -> pb.CompleteJobResponse:
        def run() -> None:
            variables = parse_document(request.variables)
            self.engine.complete_job(request.jobKey, variables)

        self._call(context, run)
        return pb.CompleteJobResponse()

    def FailJob(self, request: pb.FailJobRequest, context: grpc.ServicerContext) -> pb.FailJobResponse:
        def run() -> None:
            variables = parse_document(request.variables)
            self.engine.fail_job(request.jobKey, request.retries, request.errorMessage, request.retryBackOff,
                                 variables)

        self._call(context, run)
        return pb.FailJobResponse()

    def ThrowError(self, request: pb.ThrowErrorRequest, context: grpc.ServicerContext) -> pb.ThrowErrorResponse:
        def run() -> None:
            variables = parse_document(request.variables)
            if not request.errorCode.strip():
                raise rejections.invalid(
                    "THROW_ERROR", "Expected to throw an error with a non-empty errorCode, but it was blank")
            self.engine.throw_error(request.jobKey, request.errorCode, request.errorMessage, variables)

        self._call(context, run)
        return pb.ThrowErrorResponse()

    def UpdateJobRetries(self, request: pb.UpdateJobRetriesRequest,
                         context: grpc.ServicerContext) -> pb.UpdateJobRetriesResponse:
        self._call(context, lambda: self.engine.update_job_retries(request.jobKey, request.retries))
        return pb.UpdateJobRetriesResponse()

    def UpdateJobTimeout(self, request: pb.UpdateJobTimeoutRequest,
                         context: grpc.ServicerContext) -> pb.UpdateJobTimeoutResponse:
        self._call(context, lambda: self.engine.update_job_timeout(request.jobKey, request.timeout))
        return pb.UpdateJobTimeoutResponse()

    # ------------------------------------------------------------------ messages
    def PublishMessage(self, request: pb.PublishMessageRequest,
                       context: grpc.ServicerContext) -> pb.PublishMessageResponse:
        tenant = self._call(context, lambda: self._tenant(request.tenantId, "PublishMessage"))

        def run() -> int:
            variables = parse_document(request.variables)
            if not request.name:
                raise rejections.invalid("PUBLISH", "Expected to publish a message with a name, but it was empty")
            return self.engine.publish_message(request.name, request.correlationKey, request.timeToLive,
                                               request.messageId, variables, tenant_id=tenant)

        return pb.PublishMessageResponse(key=self._call(context, run), tenantId=tenant)

    # ------------------------------------------------------------------ unsupported
    def _unimplemented(self, name: str, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      f"{name} is not supported by the embedded Zeebe engine (zeebe-affinity-sync); "
                      "use a real Zeebe broker for it")

    def EvaluateDecision(self, request: pb.EvaluateDecisionRequest,
                         context: grpc.ServicerContext) -> pb.EvaluateDecisionResponse:
        def run() -> pb.EvaluateDecisionResponse:
            tenant = self._tenant(request.tenantId, "EvaluateDecision")
            variables = parse_document(request.variables)
            deployed, result = self.engine.evaluate_decision(
                request.decisionId, variables, decision_key=request.decisionKey if request.decisionKey > 0 else -1,
                tenant_id=tenant)
            return dmn_responses.evaluate_decision_response(deployed, result, tenant)

        return self._call(context, run)

    def ModifyProcessInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("ModifyProcessInstance", context)

    def MigrateProcessInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("MigrateProcessInstance", context)

    def DeleteResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("DeleteResource", context)

    def BroadcastSignal(self, request: pb.BroadcastSignalRequest,
                        context: grpc.ServicerContext) -> pb.BroadcastSignalResponse:
        tenant = self._call(context, lambda: self._tenant(request.tenantId, "BroadcastSignal"))

        def run() -> int:
            variables = parse_document(request.variables)
            if not request.signalName:
                raise rejections.invalid("BROADCAST", "Expected to broadcast a signal with a name, but it was empty")
            return self.engine.broadcast_signal(request.signalName, variables, tenant_id=tenant)

        return pb.BroadcastSignalResponse(key=self._call(context, run), tenantId=tenant)

