"""Decisions under multi-tenancy: deployed into the request's tenant, found and evaluated only
there (EvaluateDecision and business rule tasks), as Zeebe does."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Tuple

import grpc
import pytest

from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from . import bpmn_models as m

DMN = (Path(__file__).parent / "dmn" / "drg-force-user.dmn").read_bytes()


@pytest.fixture
def mt() -> Iterator[Tuple[EmbeddedZeebe, gateway_pb2_grpc.GatewayStub]]:
    engine = EmbeddedZeebe(long_poll_timeout_ms=2000, server_threads=16, multi_tenancy=True).start()
    channel = grpc.insecure_channel(engine.address)
    try:
        yield engine, gateway_pb2_grpc.GatewayStub(channel)
    finally:
        engine.stop()
        channel.close()


def deploy(stub, name: str, content: bytes, tenant: str) -> pb.DeployResourceResponse:
    return stub.DeployResource(pb.DeployResourceRequest(
        resources=[pb.Resource(name=name, content=content)], tenantId=tenant), timeout=10)


def evaluate(stub, tenant: str, **kwargs) -> pb.EvaluateDecisionResponse:
    return stub.EvaluateDecision(pb.EvaluateDecisionRequest(
        variables=json.dumps({"lightsaberColor": "red", "height": 210}), tenantId=tenant, **kwargs), timeout=10)


def test_a_decision_belongs_to_its_tenant(mt) -> None:
    _, stub = mt
    deployed = deploy(stub, "force.dmn", DMN, "a")
    assert deployed.tenantId == "a"
    assert {e.decision.tenantId for e in deployed.deployments if e.HasField("decision")} == {"a"}
    answer = evaluate(stub, "a", decisionId="force_user")
    assert json.loads(answer.decisionOutput) == "Darth Vader" and answer.tenantId == "a"
    with pytest.raises(grpc.RpcError) as caught:
        evaluate(stub, "b", decisionId="force_user")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:  # nor by key from another tenant
        evaluate(stub, "b", decisionKey=answer.decisionKey)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    # the same file in tenant b is its own version 1
    again = deploy(stub, "force.dmn", DMN, "b")
    assert [e.decision.version for e in again.deployments if e.HasField("decision")] == [1, 1]


def test_a_business_rule_task_calls_the_decision_of_its_own_tenant(mt) -> None:
    engine, stub = mt
    task = ('<bpmn:businessRuleTask id="rule"><bpmn:extensionElements><zeebe:calledDecision decisionId="force_user" '
            'resultVariable="who"/></bpmn:extensionElements></bpmn:businessRuleTask>')
    bpmn = m.process("p", '<bpmn:startEvent id="s"/>' + task + '<bpmn:endEvent id="e"/>' + m.chain("s", "rule", "e"))
    deploy(stub, "force.dmn", DMN, "a")
    for tenant in ("a", "b"):
        deploy(stub, "p.bpmn", bpmn, tenant)
    created = {t: stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId="p", version=-1, tenantId=t, variables='{"lightsaberColor": "green", "height": 60}'),
        timeout=10).processInstanceKey for t in ("a", "b")}
    engine.wait_for_idle(timeout=10)
    assert engine.process_instance(created["a"])["variables"]["who"] == "Yoda"
    [incident] = [i for i in engine.incidents() if i["process_instance_key"] == created["b"]]
    assert incident["error_type"] == "CALLED_DECISION_ERROR"
    assert [r["tenant_id"] for r in engine.records(value_type="DECISION_EVALUATION")] == ["a"]
