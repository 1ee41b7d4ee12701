"""The values the Zeebe client hands out: frozen dataclasses, never protobuf messages.

Keys are ``int``; times are seconds (``Job.deadline`` is a Unix timestamp in seconds, the wire
carries epoch milliseconds); variables and custom headers are plain ``dict`` decoded from the
JSON documents the gateway sends. The ``_from_*`` helpers at the bottom are the only code that
reads protobuf replies; they duck-type the messages so this module does not import ``zeebe_grpc``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

__all__ = [
    "PartitionInfo",
    "BrokerInfo",
    "Topology",
    "DeployedProcess",
    "Deployment",
    "ProcessInstance",
    "ProcessInstanceResult",
    "PublishedMessage",
    "SignalBroadcast",
    "DecisionEvaluation",
    "Job",
]

_ROLES = {0: "LEADER", 1: "FOLLOWER", 2: "INACTIVE"}
_HEALTH = {0: "HEALTHY", 1: "UNHEALTHY", 2: "DEAD"}


@dataclass(frozen=True)
class PartitionInfo:
    """One partition as a broker reports it.

    Attributes:
        partition_id: Partition number, from 1.
        role: ``"LEADER"``, ``"FOLLOWER"`` or ``"INACTIVE"``.
        health: ``"HEALTHY"``, ``"UNHEALTHY"`` or ``"DEAD"``.
    """

    partition_id: int
    role: str
    health: str


@dataclass(frozen=True)
class BrokerInfo:
    """One broker of the cluster."""

    node_id: int
    host: str
    port: int
    partitions: Tuple[PartitionInfo, ...]
    version: str


@dataclass(frozen=True)
class Topology:
    """The cluster as the gateway sees it (answer of ``ZeebeClient.topology()``)."""

    brokers: Tuple[BrokerInfo, ...]
    cluster_size: int
    partitions_count: int
    replication_factor: int
    gateway_version: str


@dataclass(frozen=True)
class DeployedProcess:
    """A process definition created (or found unchanged) by a deployment."""

    bpmn_process_id: str
    version: int
    process_definition_key: int
    resource_name: str


@dataclass(frozen=True)
class Deployment:
    """Answer of ``ZeebeClient.deploy_resource()``."""

    key: int
    processes: Tuple[DeployedProcess, ...]
    tenant_id: str = ""


@dataclass(frozen=True)
class ProcessInstance:
    """A started process instance (answer of ``create_process_instance``)."""

    process_definition_key: int
    bpmn_process_id: str
    version: int
    process_instance_key: int
    tenant_id: str = ""


@dataclass(frozen=True)
class ProcessInstanceResult:
    """A completed process instance with its final variables (``create_process_instance_with_result``)."""

    process_definition_key: int
    bpmn_process_id: str
    version: int
    process_instance_key: int
    variables: Dict[str, Any] = field(default_factory=dict)
    tenant_id: str = ""


@dataclass(frozen=True)
class PublishedMessage:
    """Answer of ``publish_message``: the key of the published message."""

    key: int
    tenant_id: str = ""


@dataclass(frozen=True)
class SignalBroadcast:
    """Answer of ``broadcast_signal``: the key of the signal and the tenant it went to."""

    key: int
    tenant_id: str = ""


@dataclass(frozen=True)
class DecisionEvaluation:
    """Answer of ``evaluate_decision``.

    Attributes:
        output: The decision's result, decoded from JSON (any JSON value).
        evaluated_decisions: Each decision evaluated on the way (required decisions first), as
            plain dicts with ``decision_id``, ``decision_key``, ``decision_output`` (decoded),
            ``matched_rules`` and ``evaluated_inputs`` as the gateway sent them.
        failed_decision_id / failure_message: Set when the evaluation failed (the gateway
            answers a failed evaluation without a gRPC error).
    """

    decision_key: int
    decision_id: str
    decision_name: str
    decision_version: int
    decision_requirements_id: str
    decision_requirements_key: int
    output: Any
    evaluated_decisions: Tuple[Dict[str, Any], ...] = ()
    failed_decision_id: str = ""
    failure_message: str = ""
    tenant_id: str = ""


@dataclass(frozen=True)
class Job:
    """An activated job, as a handler of :class:`~zeebe_affinity_sync.zeebe.worker.JobWorker` gets it.

    Attributes:
        key: Job key; complete, fail or throw with it.
        type: The task type (``zeebe:taskDefinition type``).
        retries: Retries left; a failing handler reports ``retries - 1``.
        deadline: When the job lock expires, as a Unix timestamp in seconds.
        custom_headers: ``zeebe:taskHeaders`` of the task.
        variables: The variables visible at the task (only the fetched ones if the worker named some).
    """

    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    process_definition_version: int
    process_definition_key: int
    element_id: str
    element_instance_key: int
    custom_headers: Dict[str, Any]
    worker: str
    retries: int
    deadline: float
    variables: Dict[str, Any]
    tenant_id: str = ""

    def extend_timeout(self, seconds: float) -> None:
        """Move this job's deadline to ``seconds`` from now (Zeebe's UpdateJobTimeout).

        For a handler that needs longer than the lock it was activated with. ``deadline`` keeps
        the value of the activation (the job is immutable); the gateway holds the new one.

        Raises:
            RuntimeError: The job was not activated through a :class:`ZeebeClient` (built by hand).
            JobNotFoundError: The job is gone (completed, timed out and taken, cancelled).
            FailedPreconditionError: The job is no longer activated.
        """
        client = self.__dict__.get("_client")
        if client is None:
            raise RuntimeError(
                f"job {self.key} was not activated through a ZeebeClient; use "
                "client.update_job_timeout(job.key, seconds) instead"
            )
        client.update_job_timeout(self.key, seconds)

    def __getstate__(self) -> Dict[str, Any]:  # pickle the fields, never the client
        return {k: v for k, v in self.__dict__.items() if k != "_client"}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)


def _bind(job: Job, client: Optional[Any]) -> Job:
    """Attach the client ``job.extend_timeout`` uses (an attribute outside the dataclass fields,
    so equality, ``repr`` and ``dataclasses.fields`` are unchanged)."""
    if client is not None:
        object.__setattr__(job, "_client", client)
    return job


# --------------------------------------------------------------------------- protobuf -> values


def decode_document(text: str, what: str = "variables") -> Dict[str, Any]:
    """Decode a JSON document field of a reply; ``""`` is the empty document.

    Raises:
        ValueError: The gateway sent something that is not a JSON object (a broken gateway).
    """
    if not text or not text.strip():
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"the gateway sent {what} that are not a JSON object: {text[:200]!r}")
    return value


def _from_topology(msg: Any) -> Topology:
    brokers = tuple(
        BrokerInfo(
            node_id=b.nodeId,
            host=b.host,
            port=b.port,
            partitions=tuple(
                PartitionInfo(
                    partition_id=p.partitionId,
                    role=_ROLES.get(p.role, str(p.role)),
                    health=_HEALTH.get(p.health, str(p.health)),
                )
                for p in b.partitions
            ),
            version=b.version,
        )
        for b in msg.brokers
    )
    return Topology(
        brokers=brokers,
        cluster_size=msg.clusterSize,
        partitions_count=msg.partitionsCount,
        replication_factor=msg.replicationFactor,
        gateway_version=msg.gatewayVersion,
    )


def _from_deploy_resource(msg: Any) -> Deployment:
    processes = tuple(
        DeployedProcess(
            bpmn_process_id=d.process.bpmnProcessId,
            version=d.process.version,
            process_definition_key=d.process.processDefinitionKey,
            resource_name=d.process.resourceName,
        )
        for d in msg.deployments
        if d.WhichOneof("Metadata") == "process"
    )
    return Deployment(key=msg.key, processes=processes, tenant_id=msg.tenantId)


def _from_process_instance(msg: Any) -> ProcessInstance:
    return ProcessInstance(
        process_definition_key=msg.processDefinitionKey,
        bpmn_process_id=msg.bpmnProcessId,
        version=msg.version,
        process_instance_key=msg.processInstanceKey,
        tenant_id=msg.tenantId,
    )


def _from_process_instance_result(msg: Any) -> ProcessInstanceResult:
    return ProcessInstanceResult(
        process_definition_key=msg.processDefinitionKey,
        bpmn_process_id=msg.bpmnProcessId,
        version=msg.version,
        process_instance_key=msg.processInstanceKey,
        variables=decode_document(msg.variables),
        tenant_id=msg.tenantId,
    )


def _from_decision(msg: Any) -> DecisionEvaluation:
    def decode(text: str) -> Any:
        return json.loads(text) if text and text.strip() else None

    evaluated = tuple(
        {
            "decision_key": d.decisionKey, "decision_id": d.decisionId, "decision_name": d.decisionName,
            "decision_version": d.decisionVersion, "decision_type": d.decisionType,
            "decision_output": decode(d.decisionOutput),
            "matched_rules": [
                {"rule_id": r.ruleId, "rule_index": r.ruleIndex,
                 "evaluated_outputs": [
                     {"output_id": o.outputId, "output_name": o.outputName, "output_value": decode(o.outputValue)}
                     for o in r.evaluatedOutputs]}
                for r in d.matchedRules],
            "evaluated_inputs": [
                {"input_id": i.inputId, "input_name": i.inputName, "input_value": decode(i.inputValue)}
                for i in d.evaluatedInputs],
            "tenant_id": d.tenantId,
        }
        for d in msg.evaluatedDecisions
    )
    return DecisionEvaluation(
        decision_key=msg.decisionKey,
        decision_id=msg.decisionId,
        decision_name=msg.decisionName,
        decision_version=msg.decisionVersion,
        decision_requirements_id=msg.decisionRequirementsId,
        decision_requirements_key=msg.decisionRequirementsKey,
        output=decode(msg.decisionOutput),
        evaluated_decisions=evaluated,
        failed_decision_id=msg.failedDecisionId,
        failure_message=msg.failureMessage,
        tenant_id=msg.tenantId,
    )


def _from_activated_job(msg: Any, client: Optional[Any] = None) -> Job:
    return _bind(Job(
        key=msg.key,
        type=msg.type,
        process_instance_key=msg.processInstanceKey,
        bpmn_process_id=msg.bpmnProcessId,
        process_definition_version=msg.processDefinitionVersion,
        process_definition_key=msg.processDefinitionKey,
        element_id=msg.elementId,
        element_instance_key=msg.elementInstanceKey,
        custom_headers=decode_document(msg.customHeaders, "custom headers"),
        worker=msg.worker,
        retries=msg.retries,
        deadline=msg.deadline / 1000.0,
        variables=decode_document(msg.variables),
        tenant_id=msg.tenantId,
    ), client)
