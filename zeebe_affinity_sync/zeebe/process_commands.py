"""The cluster, deploy, process instance, message, signal, decision and incident commands.

:class:`ProcessCommands` is a mixin of :class:`~.client.ZeebeClient`: each method checks and
encodes its arguments (:mod:`.encoding`), sends one request through
:meth:`~.gateway_calls.GatewayCalls._call` and converts the reply (:mod:`.types`).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from .. import defaults
from .encoding import (
    Resource,
    check_key,
    check_seconds,
    check_text,
    encode_variables,
    read_resource,
    to_ms,
    variable_names,
)
from .gateway_calls import GatewayCalls
from .types import (
    DecisionEvaluation,
    Deployment,
    ProcessInstance,
    ProcessInstanceResult,
    PublishedMessage,
    SignalBroadcast,
    Topology,
    _from_decision,
    _from_deploy_resource,
    _from_process_instance,
    _from_process_instance_result,
    _from_topology,
)

__all__ = ["ProcessCommands"]


class ProcessCommands(GatewayCalls):
    """Commands on the cluster, deployments, process instances, messages, signals, decisions
    and incidents (the job commands are in :class:`~.job_commands.JobCommands`)."""

    # ----------------------------------------------------------------- cluster and deploy

    def topology(self) -> Topology:
        """The cluster topology (also a cheap "is the gateway there" check).

        Raises:
            ZeebeError: The gateway could not answer (``GatewayUnavailableError`` if unreachable).
        """
        return _from_topology(self._call("Topology", pb.TopologyRequest(), retry=True))

    def deploy_resource(self, *resources: Resource, tenant_id: Optional[str] = None) -> Deployment:
        """Deploy BPMN resources (deploying an unchanged resource again is a no-op).

        Args:
            resources: Each a file path or a ``(name, bytes)`` tuple.
            tenant_id: Tenant to deploy to (default: the client's :attr:`tenant_id`).

        Raises:
            TypeError: A resource is neither a path nor a ``(name, bytes)`` tuple.
            FileNotFoundError: A path cannot be read.
            InvalidArgumentError: The gateway refused the BPMN (the message names the problem).
        """
        if not resources:
            raise TypeError("deploy_resource() needs at least one resource: a path or a (name, bytes) tuple")
        request = pb.DeployResourceRequest(
            resources=[pb.Resource(name=name, content=content) for name, content in map(read_resource, resources)],
            tenantId=self._tenant(tenant_id),
        )
        return _from_deploy_resource(self._call("DeployResource", request, retry=True))

    # ----------------------------------------------------------------- process instances

    def _create_request(
        self, bpmn_process_id: str, variables: Any, version: Optional[int], tenant_id: Optional[str]
    ) -> pb.CreateProcessInstanceRequest:
        check_text(bpmn_process_id, "bpmn_process_id")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise TypeError(f"version must be an int or None (latest), got {version!r}")
        return pb.CreateProcessInstanceRequest(
            bpmnProcessId=bpmn_process_id,
            version=-1 if version is None else version,
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )

    def create_process_instance(
        self,
        bpmn_process_id: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        version: Optional[int] = None,
        tenant_id: Optional[str] = None,
    ) -> ProcessInstance:
        """Start an instance of the latest (or the given) version of a process. Never retried.

        Args:
            tenant_id: The tenant whose process to start (default: the client's :attr:`tenant_id`).

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            ProcessNotFoundError: No such process is deployed.
            ZeebeError: Any other gateway error.
        """
        request = self._create_request(bpmn_process_id, variables, version, tenant_id)
        return _from_process_instance(self._call("CreateProcessInstance", request, subject="process"))

    def create_process_instance_with_result(
        self,
        bpmn_process_id: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        version: Optional[int] = None,
        timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_id: Optional[str] = None,
    ) -> ProcessInstanceResult:
        """Start an instance and wait until it completes. Never retried.

        Args:
            timeout: Seconds to wait for completion (default 15); the gRPC deadline is a little
                longer so the gateway's own timeout answers first.
            fetch_variables: Only return these variables (default: all root variables).
            tenant_id: The tenant whose process to start (default: the client's :attr:`tenant_id`).

        Raises:
            ZeebeTimeoutError: The instance did not complete in time (it keeps running).
            ProcessNotFoundError: No such process is deployed.
        """
        inner = self._create_request(bpmn_process_id, variables, version, tenant_id)
        wait = defaults.WITH_RESULT_TIMEOUT if timeout is None else check_seconds(timeout, "timeout", allow_zero=False)
        request = pb.CreateProcessInstanceWithResultRequest(
            request=inner,
            requestTimeout=to_ms(wait),
            fetchVariables=variable_names(fetch_variables, "fetch_variables"),
        )
        reply = self._call(
            "CreateProcessInstanceWithResult",
            request,
            subject="process",
            timeout=wait + defaults.WITH_RESULT_DEADLINE_MARGIN,
        )
        return _from_process_instance_result(reply)

    def cancel_process_instance(self, process_instance_key: int) -> None:
        """Cancel a running instance.

        Raises:
            ProcessNotFoundError: No such running instance.
        """
        request = pb.CancelProcessInstanceRequest(
            processInstanceKey=check_key(process_instance_key, "process_instance_key")
        )
        self._call("CancelProcessInstance", request, subject="process")

    def set_variables(self, element_instance_key: int, variables: Dict[str, Any], *, local: bool = False) -> int:
        """Set variables on a scope (a process instance key is the root scope).

        Returns:
            The key of the variable-document command.

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            NotFoundError: No such active element instance.
        """
        request = pb.SetVariablesRequest(
            elementInstanceKey=check_key(element_instance_key, "element_instance_key"),
            variables=encode_variables(variables, required=True),
            local=bool(local),
        )
        return int(self._call("SetVariables", request, subject="process", retry=True).key)

    def publish_message(
        self,
        name: str,
        correlation_key: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        time_to_live: float = defaults.MESSAGE_TIME_TO_LIVE,
        message_id: Optional[str] = None,
        tenant_id: Optional[str] = None,
    ) -> PublishedMessage:
        """Publish a message; it is buffered ``time_to_live`` seconds if nothing awaits it yet.

        Retried on UNAVAILABLE only when ``message_id`` is set (the id makes a repeat harmless).
        The message only correlates within ``tenant_id`` (default: the client's :attr:`tenant_id`).

        Raises:
            AlreadyExistsError: A message with this id is still buffered.
        """
        check_text(name, "name")
        if not isinstance(correlation_key, str):
            raise TypeError(f"correlation_key must be a str, got {type(correlation_key).__name__}: use str(...)")
        if message_id is not None:
            check_text(message_id, "message_id")
        request = pb.PublishMessageRequest(
            name=name,
            correlationKey=correlation_key,
            timeToLive=to_ms(check_seconds(time_to_live, "time_to_live")),
            messageId=message_id or "",
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )
        reply = self._call("PublishMessage", request, retry=message_id is not None)
        return PublishedMessage(key=reply.key, tenant_id=reply.tenantId)

    def broadcast_signal(
        self, signal_name: str, variables: Optional[Dict[str, Any]] = None, *, tenant_id: Optional[str] = None
    ) -> SignalBroadcast:
        """Broadcast a signal: every signal catch event / signal start event of that name in the
        tenant is triggered. Never retried (a repeat would trigger them twice).

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            ZeebeError: The gateway refused the signal.
        """
        request = pb.BroadcastSignalRequest(
            signalName=check_text(signal_name, "signal_name"),
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )
        reply = self._call("BroadcastSignal", request)
        return SignalBroadcast(key=reply.key, tenant_id=reply.tenantId)

    def evaluate_decision(
        self,
        decision_id: Optional[str] = None,
        variables: Optional[Dict[str, Any]] = None,
        *,
        decision_key: Optional[int] = None,
        tenant_id: Optional[str] = None,
    ) -> DecisionEvaluation:
        """Evaluate a deployed DMN decision (the latest version of ``decision_id``, or exactly
        ``decision_key``) with ``variables``. Retried on UNAVAILABLE (an evaluation changes nothing).

        A failed evaluation is an answer, not an error: look at ``failed_decision_id`` and
        ``failure_message`` of the result.

        Raises:
            TypeError: Neither or both of ``decision_id`` / ``decision_key``, or bad variables.
            NotFoundError: No such decision is deployed (in the tenant).
        """
        if (decision_id is None) == (decision_key is None):
            raise TypeError("evaluate_decision() needs exactly one of decision_id or decision_key")
        request = pb.EvaluateDecisionRequest(
            decisionId=check_text(decision_id, "decision_id") if decision_id is not None else "",
            decisionKey=check_key(decision_key, "decision_key") if decision_key is not None else 0,
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )
        return _from_decision(self._call("EvaluateDecision", request, subject="decision", retry=True))

    def resolve_incident(self, incident_key: int) -> None:
        """Resolve an incident (raise the job's retries first for a job incident).

        Raises:
            NotFoundError: No such incident.
        """
        request = pb.ResolveIncidentRequest(incidentKey=check_key(incident_key, "incident_key"))
        self._call("ResolveIncident", request, retry=True)
