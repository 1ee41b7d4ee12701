"""Multi-tenancy over real gRPC: the gateway's tenant rules and isolation between tenants."""
from __future__ import annotations

import json
import threading
from typing import Iterator, List, Tuple

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from tests.engine import bpmn_models as m
from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.errors import ConfigurationError

SIMPLE = m.tasks_process("p", ["work"])
WAIT = m.process(
    "wait",
    '<bpmn:startEvent id="start"/><bpmn:receiveTask id="rcv" messageRef="msg"/><bpmn:endEvent id="end"/>'
    + m.chain("start", "rcv", "end"),
    extra=m.message("msg", "go"),
)


@pytest.fixture
def mt() -> Iterator[Tuple[EmbeddedZeebe, gateway_pb2_grpc.GatewayStub]]:
    engine = EmbeddedZeebe(long_poll_timeout_ms=2000, server_threads=32, multi_tenancy=True).start()
    channel = grpc.insecure_channel(engine.address)
    try:
        yield engine, gateway_pb2_grpc.GatewayStub(channel)
    finally:
        engine.stop()
        channel.close()


def rpc_error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def deploy(stub, content: bytes, tenant: str, name: str = "p.bpmn") -> pb.DeployResourceResponse:
    return stub.DeployResource(pb.DeployResourceRequest(
        resources=[pb.Resource(name=name, content=content)], tenantId=tenant), timeout=10)


def create(stub, process_id: str, tenant: str, variables=None) -> pb.CreateProcessInstanceResponse:
    return stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId=process_id, version=-1, variables=json.dumps(variables or {}), tenantId=tenant), timeout=10)


def activate(stub, job_type: str, tenants: List[str], request_timeout_ms: int = -1) -> List[pb.ActivatedJob]:
    request = pb.ActivateJobsRequest(type=job_type, worker="w", timeout=60_000, maxJobsToActivate=10,
                                     requestTimeout=request_timeout_ms, tenantIds=tenants)
    return [job for response in stub.ActivateJobs(request, timeout=30) for job in response.jobs]


# ----------------------------------------------------------------------------- multi-tenancy off


def test_off_a_tenant_other_than_the_default_is_refused_as_zeebe_does(stub) -> None:
    error = rpc_error(lambda: stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(bpmnProcessId="p", tenantId="acme"), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == ("Expected to handle gRPC request CreateProcessInstance with tenant identifier "
                               "'acme', but multi-tenancy is disabled")
    error = rpc_error(lambda: activate(stub, "t", ["<default>", "acme"]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == ("Expected to handle gRPC request ActivateJobs with tenant identifier 'acme', "
                               "but multi-tenancy is disabled")


def test_off_the_default_tenant_is_reported_on_every_answer(stub) -> None:
    response = deploy(stub, SIMPLE, "")
    assert response.tenantId == "<default>" and response.deployments[0].process.tenantId == "<default>"
    assert create(stub, "p", "<default>").tenantId == "<default>"
    assert activate(stub, "work", [], request_timeout_ms=5000)[0].tenantId == "<default>"


# ----------------------------------------------------------------------------- the tenant rules


@pytest.mark.parametrize("tenant, reason", [
    ("", "no tenant identifier was provided."),
    ("t" * 32, "tenant identifier is longer than 31 characters"),
    ("bad tenant!", "tenant identifier contains illegal characters"),
])
def test_on_a_missing_or_invalid_tenant_is_refused(mt, tenant: str, reason: str) -> None:
    _, stub = mt
    for command, call in [
        ("DeployResource", lambda: deploy(stub, SIMPLE, tenant)),
        ("CreateProcessInstance", lambda: create(stub, "p", tenant)),
        ("PublishMessage", lambda: stub.PublishMessage(pb.PublishMessageRequest(name="go", tenantId=tenant), timeout=10)),
    ]:
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, command
        assert error.details() == (f"Expected to handle gRPC request {command} with tenant identifier "
                                   f"'{tenant}', but {reason}")


def test_on_the_31_character_rule_is_exact(mt) -> None:
    _, stub = mt
    longest = "a" * 31
    assert deploy(stub, SIMPLE, longest).tenantId == longest
    assert create(stub, "p", longest).tenantId == longest


def test_on_activation_needs_tenants(mt) -> None:
    _, stub = mt
    error = rpc_error(lambda: activate(stub, "work", []))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == ("Expected to handle gRPC request ActivateJobs with tenant identifiers '[]', "
                               "but no tenant identifiers were provided.")
    stream = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="work", worker="w", timeout=1000))
    error = rpc_error(lambda: next(iter(stream)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "StreamActivatedJobs" in error.details()


def test_a_tenant_outside_the_authorized_ones_is_permission_denied() -> None:
    with EmbeddedZeebe(multi_tenancy=True, authorized_tenants=["a", "b"]) as engine:
        with grpc.insecure_channel(engine.address) as channel:
            stub = gateway_pb2_grpc.GatewayStub(channel)
            deploy(stub, SIMPLE, "a")
            error = rpc_error(lambda: create(stub, "p", "c"))
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert error.details() == ("Expected to handle gRPC request CreateProcessInstance with tenant "
                                       "identifier 'c', but tenant is not authorized to perform this request")
    with pytest.raises(ConfigurationError):
        EmbeddedZeebe(multi_tenancy=True, authorized_tenants=["no spaces allowed"])


# ----------------------------------------------------------------------------- isolation


def test_definitions_belong_to_their_tenant(mt) -> None:
    engine, stub = mt
    a = deploy(stub, SIMPLE, "a").deployments[0].process
    b = deploy(stub, SIMPLE, "b").deployments[0].process
    assert (a.tenantId, a.version, b.tenantId, b.version) == ("a", 1, "b", 1)  # versions count per tenant
    assert a.processDefinitionKey != b.processDefinitionKey
    error = rpc_error(lambda: create(stub, "p", "c"))  # a tenant without that process
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "Expected to find process definition with process ID 'p', but none found" in error.details()
    error = rpc_error(lambda: stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        processDefinitionKey=a.processDefinitionKey, tenantId="b"), timeout=10))  # A's key, asked as B
    assert error.code() == grpc.StatusCode.NOT_FOUND
    created = create(stub, "p", "a")
    assert created.tenantId == "a" and created.processDefinitionKey == a.processDefinitionKey
    assert {d["tenant_id"] for d in engine.definitions()} == {"a", "b"}


def test_a_job_of_tenant_a_is_never_activated_for_b(mt) -> None:
    engine, stub = mt
    deploy(stub, SIMPLE, "a")
    deploy(stub, SIMPLE, "b")
    created = create(stub, "p", "a")
    assert activate(stub, "work", ["b"]) == []  # queued job of A: not for B
    # a parked poll of B stays empty while a new job of A arrives
    results: List[List[pb.ActivatedJob]] = []
    poll = threading.Thread(target=lambda: results.append(activate(stub, "work", ["b"], request_timeout_ms=1500)))
    poll.start()
    wait_until(lambda: engine.stats()["parked_polls"] == 1)
    second = create(stub, "p", "a")
    poll.join(10)
    assert results == [[]]
    jobs = activate(stub, "work", ["a", "b"])
    assert sorted(j.processInstanceKey for j in jobs) == sorted([created.processInstanceKey, second.processInstanceKey])
    assert {j.tenantId for j in jobs} == {"a"}


def test_a_job_stream_only_gets_its_tenants_jobs(mt) -> None:
    engine, stub = mt
    deploy(stub, SIMPLE, "a")
    deploy(stub, SIMPLE, "b")
    stream = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="work", worker="w", timeout=60_000,
                                                                    tenantIds=["b"]))
    try:
        wait_until(lambda: engine.stats()["job_streams"] == 1)
        create(stub, "p", "a")
        from_b = create(stub, "p", "b")
        job = next(iter(stream))
        assert job.tenantId == "b" and job.processInstanceKey == from_b.processInstanceKey
    finally:
        stream.cancel()
    assert [j.tenantId for j in activate(stub, "work", ["a"])] == ["a"]  # A's job stayed queued for A


def test_a_message_for_a_never_correlates_in_b(mt) -> None:
    engine, stub = mt
    for tenant in ("a", "b"):
        deploy(stub, WAIT, tenant, "wait.bpmn")
    in_a = create(stub, "wait", "a", {"orderId": "42"}).processInstanceKey
    in_b = create(stub, "wait", "b", {"orderId": "42"}).processInstanceKey
    published = stub.PublishMessage(pb.PublishMessageRequest(name="go", correlationKey="42", timeToLive=60_000,
                                                             tenantId="b"), timeout=10)
    assert published.tenantId == "b"
    wait_until(lambda: engine.process_instance(in_b)["state"] == "COMPLETED")
    assert engine.process_instance(in_a)["state"] == "ACTIVE"
    # the buffered message of B does not reach a new instance of A either
    late_a = create(stub, "wait", "a", {"orderId": "42"}).processInstanceKey
    assert engine.process_instance(late_a)["state"] == "ACTIVE"
    assert [msg["tenant_id"] for msg in engine.messages()] == ["b"]
    # the same message id may exist once per tenant
    for tenant in ("a", "b"):
        stub.PublishMessage(pb.PublishMessageRequest(name="other", correlationKey="k", messageId="id-1",
                                                     timeToLive=60_000, tenantId=tenant), timeout=10)
    error = rpc_error(lambda: stub.PublishMessage(pb.PublishMessageRequest(
        name="other", correlationKey="k", messageId="id-1", timeToLive=60_000, tenantId="a"), timeout=10))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    stub.PublishMessage(pb.PublishMessageRequest(name="go", correlationKey="42", tenantId="a"), timeout=10)
    wait_until(lambda: engine.process_instance(in_a)["state"] == "COMPLETED")


def test_message_start_events_and_call_activities_stay_in_their_tenant(mt) -> None:
    engine, stub = mt
    started = m.process(
        "started", '<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="sm"/></bpmn:startEvent>'
        '<bpmn:endEvent id="e"/>' + m.chain("s", "e"),
        extra='<bpmn:message id="sm" name="start-me"/>')
    deploy(stub, started, "a", "started.bpmn")
    stub.PublishMessage(pb.PublishMessageRequest(name="start-me", tenantId="b"), timeout=10)
    assert [i for i in engine.process_instances() if i["bpmn_process_id"] == "started"] == []
    stub.PublishMessage(pb.PublishMessageRequest(name="start-me", tenantId="a"), timeout=10)
    assert [i["tenant_id"] for i in engine.process_instances() if i["bpmn_process_id"] == "started"] == ["a"]

    parent = m.process(
        "parent", '<bpmn:startEvent id="s"/><bpmn:callActivity id="call"><bpmn:extensionElements>'
        '<zeebe:calledElement processId="p"/></bpmn:extensionElements></bpmn:callActivity>'
        '<bpmn:endEvent id="e"/>' + m.chain("s", "call", "e"))
    deploy(stub, parent, "b", "parent.bpmn")
    deploy(stub, SIMPLE, "a")  # the called process exists in A only
    key = create(stub, "parent", "b").processInstanceKey
    wait_until(lambda: any(inc["process_instance_key"] == key for inc in engine.incidents()))
    assert [inc["error_type"] for inc in engine.incidents() if inc["process_instance_key"] == key] == [
        "CALLED_ELEMENT_ERROR"]


def test_the_python_deploy_takes_a_tenant(mt) -> None:
    engine, stub = mt
    assert engine.multi_tenancy
    assert engine.deploy(("p.bpmn", SIMPLE), tenant_id="a")[0]["tenant_id"] == "a"
    assert create(stub, "p", "a").tenantId == "a"


def test_signals_stay_in_their_tenant(mt) -> None:
    engine, stub = mt
    catch = m.process(
        "sig", '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition '
        'signalRef="alarm"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>' + m.chain("s", "c", "e"),
        extra='<bpmn:signal id="alarm" name="alarm"/>')
    started = m.process(
        "sig-start", '<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="alarm"/></bpmn:startEvent>'
        '<bpmn:endEvent id="e"/>' + m.chain("s", "e"), extra='<bpmn:signal id="alarm" name="alarm"/>')
    for tenant in ("a", "b"):
        deploy(stub, catch, tenant, "sig.bpmn")
    deploy(stub, started, "a", "sig-start.bpmn")
    in_a = create(stub, "sig", "a").processInstanceKey
    in_b = create(stub, "sig", "b").processInstanceKey
    sent = stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="alarm", tenantId="b"), timeout=10)
    assert sent.tenantId == "b"
    wait_until(lambda: engine.process_instance(in_b)["state"] == "COMPLETED")
    assert engine.process_instance(in_a)["state"] == "ACTIVE"
    assert [i for i in engine.process_instances() if i["bpmn_process_id"] == "sig-start"] == []  # A's start
    stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="alarm", tenantId="a"), timeout=10)
    wait_until(lambda: engine.process_instance(in_a)["state"] == "COMPLETED")
    assert [i["tenant_id"] for i in engine.process_instances() if i["bpmn_process_id"] == "sig-start"] == ["a"]
    error = rpc_error(lambda: stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="alarm"), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == ("Expected to handle gRPC request BroadcastSignal with tenant identifier '', "
                               "but no tenant identifier was provided.")


def test_timer_start_events_fire_in_their_tenant(mt) -> None:
    engine, stub = mt
    timed = m.process(
        "timed", '<bpmn:startEvent id="s"><bpmn:timerEventDefinition><bpmn:timeCycle>R1/PT1H</bpmn:timeCycle>'
        '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="e"/>' + m.chain("s", "e"))
    deploy(stub, timed, "a", "timed.bpmn")
    deploy(stub, timed, "b", "timed.bpmn")  # the same process id in another tenant keeps A's timer
    engine.increase_time(3601)
    wait_until(lambda: sorted(i["tenant_id"] for i in engine.process_instances()
                              if i["bpmn_process_id"] == "timed") == ["a", "b"])


def test_on_the_default_tenant_is_a_tenant_like_any_other(mt) -> None:
    _, stub = mt
    assert deploy(stub, SIMPLE, "<default>").tenantId == "<default>"
    assert create(stub, "p", "<default>").tenantId == "<default>"
    assert rpc_error(lambda: create(stub, "p", "a")).code() == grpc.StatusCode.NOT_FOUND
    assert [j.tenantId for j in activate(stub, "work", ["<default>"])] == ["<default>"]
