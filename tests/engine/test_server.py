"""EmbeddedZeebe as a server: lifecycle, topology, health, unsupported RPCs, clean stop."""
from __future__ import annotations

import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from zeebe_affinity_sync import EmbeddedZeebe
from zeebe_affinity_sync.errors import ConfigurationError, InvalidArgumentError

from tests.support.net import wait_until

from . import bpmn_models as m
from .helpers import activate, rpc_error


def test_topology_looks_like_a_one_broker_cluster(zeebe, stub):
    topology = stub.Topology(pb.TopologyRequest())
    assert (topology.clusterSize, topology.partitionsCount, topology.replicationFactor) == (1, 1, 1)
    [broker] = topology.brokers
    assert broker.nodeId == 0 and broker.port == zeebe.port and topology.gatewayVersion.startswith("8.4")
    [partition] = broker.partitions
    assert partition.partitionId == 1
    assert partition.role == pb.Partition.LEADER and partition.health == pb.Partition.HEALTHY


@pytest.mark.parametrize("service", ["gateway_protocol.Gateway", ""])
def test_health_service(channel, service):
    response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("rpc, request_type", [
    ("ModifyProcessInstance", pb.ModifyProcessInstanceRequest),
    ("MigrateProcessInstance", pb.MigrateProcessInstanceRequest), ("DeleteResource", pb.DeleteResourceRequest),
])
def test_unsupported_rpcs_say_so(stub, rpc, request_type):
    details = rpc_error(lambda: getattr(stub, rpc)(request_type()), grpc.StatusCode.UNIMPLEMENTED)
    assert rpc in details and "not supported by the embedded Zeebe engine" in details


def test_address_port_and_state_errors():
    engine = EmbeddedZeebe()
    with pytest.raises(RuntimeError, match="not started"):
        engine.address
    with engine:
        assert engine.running and engine.address == f"127.0.0.1:{engine.port}"
        with pytest.raises(RuntimeError, match="running"):
            engine.start()
    assert not engine.running
    engine.stop()  # idempotent


@pytest.mark.parametrize("kwargs", [{"port": -1}, {"port": 70000}, {"long_poll_timeout_ms": 0}, {"server_threads": 1},
                                    {"step_budget": 0}, {"step_budget": 2.5}])
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ConfigurationError):
        EmbeddedZeebe(**kwargs)


def test_port_in_use_is_a_clear_error():
    with EmbeddedZeebe() as first:
        with pytest.raises(OSError, match="in use"):
            EmbeddedZeebe(port=first.port).start()


def test_stop_answers_parked_long_polls_at_once():
    engine = EmbeddedZeebe(long_poll_timeout_ms=60_000).start()
    channel = grpc.insecure_channel(engine.address)
    stub = gateway_pb2_grpc.GatewayStub(channel)
    result = {}

    def poll() -> None:
        try:
            result["jobs"] = activate(stub, "never", request_timeout_ms=0, deadline=30)
        except grpc.RpcError as exc:  # the server may also cut the stream while shutting down
            result["code"] = exc.code()

    thread = threading.Thread(target=poll)
    thread.start()
    # wait until the poll is parked inside the engine, then stop
    wait_until(lambda: engine.stats()["parked_polls"] == 1, timeout=10)
    engine.stop()
    thread.join(20)
    channel.close()
    assert not thread.is_alive()
    assert result.get("jobs", []) == [] or result.get("code") in (grpc.StatusCode.UNAVAILABLE,
                                                                  grpc.StatusCode.CANCELLED)


def test_python_deploy_and_inspection(tmp_path):
    path = tmp_path / "demo.bpmn"
    path.write_bytes(m.tasks_process("demo", ["a"]))
    with EmbeddedZeebe() as engine:
        [deployed] = engine.deploy(str(path))
        assert deployed["bpmn_process_id"] == "demo" and deployed["resource_name"] == "demo.bpmn"
        with pytest.raises(InvalidArgumentError):
            engine.deploy(("bad.bpmn", b"<nope"))
        assert engine.definitions()[0]["version"] == 1
        assert engine.incidents() == [] and engine.jobs() == [] and engine.process_instances() == []


def test_inspection_http_api(zeebe, stub):
    import json
    import urllib.error
    import urllib.request

    from zeebe_affinity_sync.engine.inspect_http import InspectionServer

    from .helpers import create, deploy

    deploy(stub, "demo.bpmn", m.tasks_process("demo", ["a"]))
    key = create(stub, "demo", {"x": 1})
    server = InspectionServer(zeebe).start()
    try:
        def get(path):
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                return json.loads(response.read())

        assert get("/stats")["jobs"] == 1
        assert [j["type"] for j in get("/jobs")] == ["a"]
        assert get(f"/process-instances/{key}")["variables"] == {"x": 1}
        assert [d["bpmn_process_id"] for d in get("/definitions")] == ["demo"]
        assert "/incidents" in get("/")["endpoints"]
        assert get("/user-tasks") == []
        records = get("/records")
        assert records[-1]["value_type"] == "JOB" and records[-1]["intent"] == "CREATED"
        assert {r["process_instance_key"] for r in records if r["value_type"] == "PROCESS_INSTANCE"} == {key}
        for path in ("/nope", "/process-instances/123"):
            with pytest.raises(urllib.error.HTTPError) as info:
                get(path)
            assert info.value.code == 404
            info.value.close()
    finally:
        server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/stats", timeout=5)
