"""The client's tenant ids over real gRPC: every tenant-owned call, the worker's tenants and the
CAMUNDA_TENANT_ID default, against an engine with multi-tenancy on."""
from __future__ import annotations

import threading
from typing import Any, Iterator, List

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from tests.client import processes
from tests.client.fake_gateway import FakeGateway, FakeServer
from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.errors import InvalidArgumentError, PermissionDeniedError, ProcessNotFoundError
from zeebe_affinity_sync.zeebe import JobWorker, ZeebeClient


@pytest.fixture(scope="module")
def mt_engine() -> Iterator[EmbeddedZeebe]:
    with EmbeddedZeebe(multi_tenancy=True, authorized_tenants=["a", "b", "<default>"]) as zeebe:
        yield zeebe


@pytest.fixture(autouse=True)
def no_tenant_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMUNDA_TENANT_ID", raising=False)


def test_each_call_carries_its_tenant(mt_engine: EmbeddedZeebe) -> None:
    with ZeebeClient(mt_engine.address) as client:
        deployment = client.deploy_resource(("t1.bpmn", processes.single_task("t1", "t1-work")), tenant_id="a")
        assert deployment.tenant_id == "a"
        started = client.create_process_instance("t1", {"n": 1}, tenant_id="a")
        assert started.tenant_id == "a"
        with pytest.raises(ProcessNotFoundError):
            client.create_process_instance("t1", tenant_id="b")
        with pytest.raises(InvalidArgumentError, match="no tenant identifier was provided"):
            client.create_process_instance("t1")  # multi-tenancy on and no tenant given
        with pytest.raises(InvalidArgumentError, match="longer than 31 characters"):
            client.create_process_instance("t1", tenant_id="x" * 32)
        with pytest.raises(PermissionDeniedError, match="not authorized"):
            client.create_process_instance("t1", tenant_id="zz")
        assert client.activate_jobs("t1-work", tenant_ids=["b"]) == []
        jobs = client.activate_jobs("t1-work", tenant_ids=["a"], request_timeout=5)
        assert [(j.process_instance_key, j.tenant_id) for j in jobs] == [(started.process_instance_key, "a")]
        client.complete_job(jobs[0].key)

        waiting = client.deploy_resource(("wait.bpmn", processes.message_wait("t1-wait", "t1-go")), tenant_id="b")
        assert waiting.tenant_id == "b"
        published = client.publish_message("t1-go", "7", tenant_id="b", time_to_live=0)
        assert published.tenant_id == "b"


def test_with_result_in_a_tenant(mt_engine: EmbeddedZeebe) -> None:
    with ZeebeClient(mt_engine.address, tenant_id="b") as client:  # the client's default tenant
        client.deploy_resource(("t2.bpmn", processes.single_task("t2", "t2-work")))
        worker = JobWorker(client, tenant_ids=["b"], poll_request_timeout=1)
        worker.register("t2-work", lambda variables: {"doubled": variables["n"] * 2})
        with worker:
            result = client.create_process_instance_with_result("t2", {"n": 21}, timeout=10)
        assert result.tenant_id == "b" and result.variables["doubled"] == 42


def test_camunda_tenant_id_is_the_default(mt_engine: EmbeddedZeebe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMUNDA_TENANT_ID", "a")
    with ZeebeClient(mt_engine.address) as client:
        assert client.tenant_id == "a"
        client.deploy_resource(("t3.bpmn", processes.single_task("t3", "t3-work")))
        assert client.create_process_instance("t3").tenant_id == "a"
        with pytest.raises(ProcessNotFoundError):  # an explicit tenant wins over the default
            client.create_process_instance("t3", tenant_id="<default>")
        jobs = client.activate_jobs("t3-work", request_timeout=5)  # the default tenant list: ["a"]
        assert [j.tenant_id for j in jobs] == ["a"]
        client.complete_job(jobs[0].key)
    with ZeebeClient(mt_engine.address, tenant_id="b") as client:
        assert client.tenant_id == "b"  # the argument wins over the environment


def test_a_worker_only_handles_its_tenants(mt_engine: EmbeddedZeebe) -> None:
    seen: List[str] = []
    lock = threading.Lock()

    def handle(job: Any) -> None:
        with lock:
            seen.append(job.tenant_id)

    with ZeebeClient(mt_engine.address) as client:
        for tenant in ("a", "b"):
            client.deploy_resource(("t4.bpmn", processes.single_task("t4", "t4-work")), tenant_id=tenant)
        worker = JobWorker(client, poll_request_timeout=1, tenant_ids=["a"])
        worker.register("t4-work", handle)
        worker.register("t4-other", handle, tenant_ids=["b"])  # a task's own tenants win
        with worker:
            for _ in range(3):
                client.create_process_instance("t4", tenant_id="a")
                client.create_process_instance("t4", tenant_id="b")
            wait_until(lambda: len(seen) == 3 and worker.stats["completed"] == 3)
        assert seen == ["a", "a", "a"]
        left = client.activate_jobs("t4-work", tenant_ids=["a", "b"], max_jobs_to_activate=10)
        assert sorted(j.tenant_id for j in left) == ["b", "b", "b"]


class _SignalsAndDecisions(FakeGateway):
    def BroadcastSignal(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("BroadcastSignal", request, context)
        return pb.BroadcastSignalResponse(key=9, tenantId=request.tenantId or "<default>")

    def EvaluateDecision(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("EvaluateDecision", request, context)
        return pb.EvaluateDecisionResponse(
            decisionKey=5, decisionId=request.decisionId or "by-key", decisionName="Dish", decisionVersion=1,
            decisionOutput='"salad"', tenantId=request.tenantId or "<default>",
            evaluatedDecisions=[pb.EvaluatedDecision(decisionId="dish", decisionKey=5, decisionOutput='"salad"')])


def test_signal_and_decision_calls_send_the_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMUNDA_TENANT_ID", "env-tenant")
    gateway = _SignalsAndDecisions()
    with FakeServer(gateway) as server, ZeebeClient(server.address) as client:
        signal = client.broadcast_signal("alarm", {"level": 3}, tenant_id="a")
        assert (signal.key, signal.tenant_id) == (9, "a")
        assert client.broadcast_signal("alarm").tenant_id == "env-tenant"
        decision = client.evaluate_decision("dish", {"season": "summer"})
        assert decision.output == "salad" and decision.tenant_id == "env-tenant"
        assert decision.evaluated_decisions[0]["decision_output"] == "salad"
        assert client.evaluate_decision(decision_key=5, tenant_id="b").decision_id == "by-key"
        with pytest.raises(TypeError, match="exactly one"):
            client.evaluate_decision()
        with pytest.raises(TypeError):
            client.broadcast_signal("alarm", tenant_id=7)  # type: ignore[arg-type]
    signals = gateway.calls_of("BroadcastSignal")
    assert [(r.signalName, r.tenantId) for r in signals] == [("alarm", "a"), ("alarm", "env-tenant")]
    assert [(r.decisionId, r.decisionKey, r.tenantId) for r in gateway.calls_of("EvaluateDecision")] == [
        ("dish", 0, "env-tenant"), ("", 5, "b")]
