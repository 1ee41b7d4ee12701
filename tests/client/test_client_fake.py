"""ZeebeClient against a recording fake gateway on a real gRPC server: what goes on the wire,
which calls are retried, how errors are translated, and per-process channels."""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap

import grpc
import pytest

from tests.client.fake_gateway import FakeServer
from zeebe_affinity_sync.errors import (
    BackpressureError,
    GatewayUnavailableError,
    JobNotFoundError,
    ProcessNotFoundError,
)
from zeebe_affinity_sync.zeebe import ZeebeClient
from zeebe_affinity_sync.zeebe.retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)


def test_topology_is_turned_into_dataclasses(fake_client: ZeebeClient) -> None:
    topology = fake_client.topology()
    assert topology.cluster_size == 1
    assert topology.brokers[0].partitions[0].role == "LEADER"
    assert topology.brokers[0].partitions[0].health == "HEALTHY"
    assert topology.gateway_version == "8.4.13"


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ([1, 2], "must be a dict"),
        ("{\"a\": 1}", "must be a dict"),
        ({"when": datetime.datetime(2024, 1, 1)}, "JSON-serialisable"),
        ({1: "x"}, "names must be str"),
        ({"x": float("nan")}, "JSON-serialisable"),
    ],
)
def test_bad_variables_are_refused_before_any_call(fake: FakeServer, bad, fragment) -> None:
    with ZeebeClient(fake.address) as client:
        with pytest.raises(TypeError, match=fragment):
            client.create_process_instance("p", bad)
        with pytest.raises(TypeError, match=fragment):
            client.complete_job(1, bad)
        with pytest.raises(TypeError, match=fragment):
            client.publish_message("m", "k", bad)
        with pytest.raises(TypeError, match=fragment):
            client.create_process_instance_with_result("p", bad)
        with pytest.raises(TypeError, match=fragment):
            client.set_variables(1, bad)
        with pytest.raises(TypeError, match=fragment):
            client.fail_job(1, 0, "e", variables=bad)
        with pytest.raises(TypeError, match=fragment):
            client.throw_error(1, "code", "e", variables=bad)
    assert fake.gateway.calls == []


def test_set_variables_requires_a_dict(fake_client: ZeebeClient, fake: FakeServer) -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        fake_client.set_variables(1, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fetch_variables"):
        fake_client.create_process_instance_with_result("p", fetch_variables="single")  # type: ignore[arg-type]
    assert fake.gateway.calls == []


def test_safe_calls_are_retried_on_unavailable(fake: FakeServer) -> None:
    fake.gateway.fail("Topology", grpc.StatusCode.UNAVAILABLE, times=2)
    with ZeebeClient(fake.address, retry_policy=FAST_RETRY) as client:
        assert client.topology().cluster_size == 1
    assert len(fake.gateway.calls_of("Topology")) == 3


def test_retries_are_capped(fake: FakeServer) -> None:
    fake.gateway.fail("CompleteJob", grpc.StatusCode.RESOURCE_EXHAUSTED, times=10)
    with ZeebeClient(fake.address, retry_policy=FAST_RETRY) as client:
        with pytest.raises(BackpressureError, match="RESOURCE_EXHAUSTED"):
            client.complete_job(5, {"a": 1})
    assert len(fake.gateway.calls_of("CompleteJob")) == FAST_RETRY.max_attempts


@pytest.mark.parametrize("code, error", [(grpc.StatusCode.UNAVAILABLE, GatewayUnavailableError),
                                         (grpc.StatusCode.RESOURCE_EXHAUSTED, BackpressureError)])
@pytest.mark.parametrize("rpc", ["CreateProcessInstance", "CreateProcessInstanceWithResult"])
def test_create_process_instance_is_never_retried(fake: FakeServer, rpc, code, error) -> None:
    # the first attempt may have created the instance: a repeat could start a second one
    fake.gateway.fail(rpc, code, times=1)
    with ZeebeClient(fake.address, retry_policy=FAST_RETRY) as client:
        create = (client.create_process_instance if rpc == "CreateProcessInstance"
                  else client.create_process_instance_with_result)
        with pytest.raises(error) as info:
            create("p", {"a": 1})
        assert isinstance(info.value.__cause__, grpc.RpcError)
        assert len(fake.gateway.calls_of(rpc)) == 1
        assert create("p", {"a": 1}).process_instance_key == 7  # the gateway is fine again: no state kept
    assert len(fake.gateway.calls_of(rpc)) == 2


def test_publish_is_retried_only_with_a_message_id(fake: FakeServer) -> None:
    fake.gateway.fail("PublishMessage", grpc.StatusCode.UNAVAILABLE, times=2)
    with ZeebeClient(fake.address, retry_policy=FAST_RETRY) as client:
        with pytest.raises(GatewayUnavailableError):
            client.publish_message("m", "k")
        assert client.publish_message("m", "k", {"v": 1}, message_id="id-1", time_to_live=2.5).key == 99
    sent = fake.gateway.calls_of("PublishMessage")
    assert len(sent) == 3
    assert sent[-1].messageId == "id-1" and sent[-1].timeToLive == 2500


def test_not_found_maps_by_subject(fake: FakeServer) -> None:
    fake.gateway.fail("CompleteJob", grpc.StatusCode.NOT_FOUND)
    fake.gateway.fail("CreateProcessInstance", grpc.StatusCode.NOT_FOUND)
    with ZeebeClient(fake.address) as client:
        with pytest.raises(JobNotFoundError):
            client.complete_job(1)
        with pytest.raises(ProcessNotFoundError):
            client.create_process_instance("missing")


def test_unreachable_gateway_says_so() -> None:
    from tests.support.net import free_port

    policy = RetryPolicy(max_attempts=1)
    with ZeebeClient(f"127.0.0.1:{free_port()}", retry_policy=policy, request_timeout=2) as client:
        with pytest.raises(GatewayUnavailableError, match="ZEEBE_ADDRESS"):
            client.topology()


def test_closed_client_refuses_calls(fake: FakeServer) -> None:
    client = ZeebeClient(fake.address)
    client.topology()
    client.close()
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        client.topology()


def test_channel_is_recreated_when_the_pid_changes(fake_client: ZeebeClient, monkeypatch) -> None:
    from zeebe_affinity_sync.zeebe import channel as channel_module

    first = fake_client._channel.stub()
    assert fake_client._channel.stub() is first
    real_pid = os.getpid()
    monkeypatch.setattr(channel_module.os, "getpid", lambda: real_pid + 1)
    second = fake_client._channel.stub()
    assert second is not first
    assert fake_client.topology().cluster_size == 1


def test_client_built_before_fork_works_in_parent_and_child(fake: FakeServer) -> None:
    # the gunicorn --preload pattern, in a fresh interpreter: build the client, fork, use it in both
    script = textwrap.dedent(
        f"""
        import os, sys
        from zeebe_affinity_sync.zeebe import ZeebeClient
        client = ZeebeClient({fake.address!r})
        pid = os.fork()
        if pid == 0:
            try:
                client.topology()
            except BaseException:
                os._exit(1)
            os._exit(0)
        client.topology()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(fake.gateway.calls_of("Topology")) == 2


def test_activate_jobs_is_retried_and_converted(fake: FakeServer) -> None:
    fake.gateway.fail("ActivateJobs", grpc.StatusCode.UNAVAILABLE, times=1)
    keys = fake.gateway.add_jobs("t", 2)
    with ZeebeClient(fake.address, retry_policy=FAST_RETRY) as client:
        jobs = client.activate_jobs("t", worker="w", timeout=7.5, max_jobs_to_activate=5, fetch_variables=["n"])
    assert [j.key for j in jobs] == keys
    assert jobs[0].variables == {"n": keys[0]} and jobs[0].deadline == 1_700_000_000.0
    request = fake.gateway.calls_of("ActivateJobs")[-1]
    assert (request.worker, request.timeout, request.maxJobsToActivate, list(request.fetchVariable),
            request.requestTimeout) == ("w", 7500, 5, ["n"], -1)
