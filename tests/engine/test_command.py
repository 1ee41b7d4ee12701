"""``zeebe-affinity engine`` as a real subprocess: --deploy, logging, SIGTERM, bad input."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from tests.support.net import free_port, wait_for_port

from . import bpmn_models as m
from .helpers import activate_one, create

ROOT = Path(__file__).resolve().parents[2]


def engine_command(*args: str) -> list:
    return [sys.executable, "-m", "zeebe_affinity_sync.cli", "--log-level", "DEBUG", "engine", *args]


def test_deploy_at_start_then_serve_until_sigterm(tmp_path):
    bpmn = tmp_path / "cli-demo.bpmn"
    bpmn.write_bytes(m.tasks_process("cli-demo", ["cli-work"]))
    port = free_port()
    log = tmp_path / "engine.log"
    with open(log, "w") as out:
        process = subprocess.Popen(engine_command("--port", str(port), "--deploy", str(bpmn)),
                                   stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = gateway_pb2_grpc.GatewayStub(channel)
            key = create(stub, "cli-demo")
            assert activate_one(stub, "cli-work").processInstanceKey == key
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    text = log.read_text()
    assert code == 0, text
    assert "deployed process 'cli-demo' version 1" in text
    assert f"ready on 127.0.0.1:{port}" in text
    assert "received SIGTERM, stopping" in text


def test_bad_deploy_file_exits_with_a_message(tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(b"<oops")
    result = subprocess.run(engine_command("--port", "0", "--deploy", str(bad)), capture_output=True, text=True,
                            timeout=60, cwd=str(ROOT))
    assert result.returncode == 2
    assert f"cannot deploy {bad}" in result.stderr and "failed to parse XML" in result.stderr


def test_multi_tenancy_flag_deploys_to_the_first_tenant_and_checks_tenants(tmp_path):
    import json

    from zeebe_affinity_sync.gateway import gateway_pb2 as pb

    bpmn = tmp_path / "cli-mt.bpmn"
    bpmn.write_bytes(m.tasks_process("cli-mt", ["cli-mt-work"]))
    port = free_port()
    log = tmp_path / "engine.log"
    with open(log, "w") as out:
        process = subprocess.Popen(engine_command("--port", str(port), "--multi-tenancy", "--tenant", "shop-a",
                                                  "--tenant", "shop-b", "--deploy", str(bpmn)),
                                   stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = gateway_pb2_grpc.GatewayStub(channel)
            created = stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
                bpmnProcessId="cli-mt", version=-1, variables=json.dumps({}), tenantId="shop-a"), timeout=10)
            assert created.tenantId == "shop-a"
            for tenant, code in (("", grpc.StatusCode.INVALID_ARGUMENT), ("shop-c", grpc.StatusCode.PERMISSION_DENIED),
                                 ("shop-b", grpc.StatusCode.NOT_FOUND)):
                try:
                    stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="cli-mt", version=-1,
                                                                               tenantId=tenant), timeout=10)
                except grpc.RpcError as exc:
                    assert exc.code() == code, (tenant, exc.details())
                else:
                    raise AssertionError(f"tenant {tenant!r} was accepted")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    assert code == 0, log.read_text()


def test_tenant_without_multi_tenancy_is_refused():
    result = subprocess.run(engine_command("--port", "0", "--tenant", "a"), capture_output=True, text=True,
                            timeout=60, cwd=str(ROOT))
    assert result.returncode == 2 and "--tenant needs --multi-tenancy" in result.stderr
