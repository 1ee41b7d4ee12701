"""The engine under abuse, over real gRPC: huge timeouts, floods of long polls, deep documents,
message floods, and a with-result call whose instance is cancelled."""
from __future__ import annotations

import json
import time

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from zeebe_affinity_sync.engine import EmbeddedZeebe

from . import bpmn_models as m
from .helpers import activate, create, deploy, publish, rpc_error

HUGE = 2 ** 62  # ms: overflowed every wait it reached


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_huge_long_poll_is_clamped_and_never_left_parked(stub, zeebe):
    deploy(stub, "p.bpmn", m.tasks_process("p", ["ghost"]))
    request = pb.ActivateJobsRequest(type="ghost", worker="w", timeout=30_000, maxJobsToActivate=1,
                                     requestTimeout=HUGE)
    # the client gives up after 0.3 s: its poll must be gone, not swallow the next job
    rpc_error(lambda: stub.ActivateJobs(request, timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED)
    wait_until(lambda: zeebe.stats()["parked_polls"] == 0)
    create(stub, "p")
    assert [j.type for j in activate(stub, "ghost")] == ["ghost"]
    # a huge poll that stays connected still gets a job the moment it exists
    calls = stub.ActivateJobs(request, timeout=10)
    wait_until(lambda: zeebe.stats()["parked_polls"] == 1)
    create(stub, "p")
    assert [j.type for response in calls for j in response.jobs] == ["ghost"]
    assert zeebe.stats()["parked_polls"] == 0


def test_huge_job_timeout_does_not_stop_timers(stub, zeebe):
    deploy(stub, "p.bpmn", m.tasks_process("p", ["long", "next"]))
    create(stub, "p")
    [job] = activate(stub, "long", timeout_ms=HUGE)
    assert job.deadline > time.time() * 1000 + 10 ** 15
    # timers, backoffs and deadlines still fire afterwards: a failed job comes back after its backoff
    create(stub, "p")
    [other] = activate(stub, "long")
    stub.FailJob(pb.FailJobRequest(jobKey=other.key, retries=2, errorMessage="again", retryBackOff=100))
    wait_until(lambda: any(j["key"] == other.key and j["state"] == "ACTIVATABLE" for j in zeebe.jobs()))
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{}"))


def test_huge_with_result_timeout_leaves_no_waiter(stub, zeebe):
    deploy(stub, "p.bpmn", m.tasks_process("p", ["slow"]))
    request = pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="p", version=-1), requestTimeout=HUGE)
    rpc_error(lambda: stub.CreateProcessInstanceWithResult(request, timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED)
    wait_until(lambda: zeebe.stats()["result_waiters"] == 0)


def test_with_result_of_a_cancelled_instance_says_so_at_once(stub, zeebe):
    deploy(stub, "p.bpmn", m.tasks_process("p", ["never"]))
    request = pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="p", version=-1), requestTimeout=60_000)
    future = stub.CreateProcessInstanceWithResult.future(request, timeout=30)
    wait_until(lambda: zeebe.stats()["result_waiters"] == 1)
    [instance] = zeebe.process_instances(include_finished=False)
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=instance["process_instance_key"]))
    with pytest.raises(grpc.RpcError) as info:
        future.result(timeout=10)  # long before the 60 s the call asked for
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "was canceled before it completed" in info.value.details()
    assert "still running" not in info.value.details()
    assert zeebe.stats()["result_waiters"] == 0


def test_a_flood_of_long_polls_does_not_starve_unary_calls():
    # 16 threads: 8 may wait, 8 stay for unary calls; 300 polls of 60 s each
    with EmbeddedZeebe(server_threads=16) as zeebe:
        channel = grpc.insecure_channel(zeebe.address)
        stub = gateway_pb2_grpc.GatewayStub(channel)
        try:
            request = pb.ActivateJobsRequest(type="idle", worker="w", timeout=1000, maxJobsToActivate=1,
                                             requestTimeout=60_000)
            calls = [stub.ActivateJobs(request, timeout=30) for _ in range(300)]
            # while they are under way, unary calls are answered (a starved one would wait 60 s)
            for _ in range(5):
                assert stub.Topology(pb.TopologyRequest(), timeout=10).clusterSize == 1
            deploy(stub, "p.bpmn", m.tasks_process("p", ["work"]))
            # all but the 8 that may wait answer at once with Zeebe's backpressure answer
            wait_until(lambda: sum(call.done() for call in calls) >= 292, timeout=60)
            done = [call for call in calls if call.done()]
            assert all(call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for call in done)
            assert "Expected to activate jobs of type 'idle'" in done[0].details()
            assert zeebe.stats()["parked_polls"] == 8
            for call in calls:
                call.cancel()
            wait_until(lambda: zeebe.stats()["parked_polls"] == 0)
        finally:
            channel.close()


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [300, 5000, 100_000])
def test_deeply_nested_variables_are_invalid_argument(stub, depth):
    deploy(stub, "p.bpmn", m.tasks_process("p", ["work"]))
    request = pb.CreateProcessInstanceRequest(bpmnProcessId="p", version=-1, variables=_nested(depth))
    details = rpc_error(lambda: stub.CreateProcessInstance(request), grpc.StatusCode.INVALID_ARGUMENT)
    assert "Property 'variables' is invalid" in details and "levels deep" in details


def test_moderately_nested_variables_still_work(stub):
    deploy(stub, "p.bpmn", m.tasks_process("p", ["work"]))
    create(stub, "p", json.loads(_nested(100)))
    [job] = activate(stub, "work")
    assert json.loads(job.variables)["a"]["a"]["a"] is not None


def test_buffered_messages_are_bounded_with_backpressure():
    with EmbeddedZeebe(max_buffered_messages=5) as zeebe:
        channel = grpc.insecure_channel(zeebe.address)
        stub = gateway_pb2_grpc.GatewayStub(channel)
        try:
            for i in range(5):
                publish(stub, "ping", f"k{i}", ttl_ms=300)
            details = rpc_error(lambda: publish(stub, "ping", "k5", ttl_ms=300), grpc.StatusCode.RESOURCE_EXHAUSTED)
            assert details.startswith("Expected to execute the command on one of the partitions")
            assert "buffered messages" in details
            assert zeebe.stats()["buffered_messages"] == 5
            publish(stub, "ping", "now-or-never", ttl_ms=0)  # not buffered: still accepted
            wait_until(lambda: zeebe.stats()["buffered_messages"] == 0)
            publish(stub, "ping", "k6", ttl_ms=300)  # room again once they expired
        finally:
            channel.close()


def test_open_job_streams_count_against_the_waiting_limit():
    with EmbeddedZeebe(server_threads=8) as zeebe:  # 4 may wait
        channel = grpc.insecure_channel(zeebe.address)
        stub = gateway_pb2_grpc.GatewayStub(channel)
        try:
            request = pb.StreamActivatedJobsRequest(type="s", worker="w", timeout=1000)
            streams = [stub.StreamActivatedJobs(request, timeout=30) for _ in range(4)]
            wait_until(lambda: zeebe.stats()["job_streams"] == 4)
            rpc_error(lambda: stub.StreamActivatedJobs(request, timeout=10), grpc.StatusCode.RESOURCE_EXHAUSTED)
            streams[0].cancel()
            wait_until(lambda: zeebe.stats()["job_streams"] == 3)
            fifth = stub.StreamActivatedJobs(request, timeout=30)
            wait_until(lambda: zeebe.stats()["job_streams"] == 4)
            for stream in streams[1:] + [fifth]:
                stream.cancel()
        finally:
            channel.close()


def test_huge_message_ttl_and_retry_backoff_keep_the_scheduler_alive(stub, zeebe):
    publish(stub, "far", "k", ttl_ms=HUGE)
    deploy(stub, "p.bpmn", m.tasks_process("p", ["backoff"]))
    create(stub, "p")
    [job] = activate(stub, "backoff")
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=3, errorMessage="later", retryBackOff=HUGE))
    # timers still fire: a short-lived message expires on time
    publish(stub, "near", "k", ttl_ms=100)
    wait_until(lambda: [m_["name"] for m_ in zeebe.messages()] == ["far"])
    assert zeebe.stats()["buffered_messages"] == 1
