"""Camunda's own Node SDK, ``@camunda8/sdk`` 8.8, against real EmbeddedZeebe engines: its gRPC
client (``Camunda8().getZeebeGrpcApiClient()``) is a third real client, beside zbctl and zeebe-node.

``tests/engine/node/camunda8_sdk.js`` asks for the topology, deploys, runs workers, creates
instances (plain and with result), streams jobs (``streamJobs``: StreamActivatedJobs plus its
back-fill poll), publishes a buffered message, cancels, and makes a tenant round trip against a
second engine with multi-tenancy on (``CAMUNDA_TENANT_ID``); this test checks every answer. The
SDK is configured with Camunda's names: ``CAMUNDA_AUTH_STRATEGY=NONE``, ``ZEEBE_GRPC_ADDRESS``
(``grpc://`` = plaintext), an insecure connection. It is found in ``$ZEEBE_NODE_MODULES`` or
``.tools/node_modules`` (CI runs ``npm install --no-audit --no-fund --prefix .tools
@camunda8/sdk@8.8.13``); without node or the package the test skips and says why.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, Optional, Tuple

import pytest

from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe

from . import bpmn_models as m

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "node" / "camunda8_sdk.js"
INSTALL = "npm install --no-audit --no-fund --prefix .tools @camunda8/sdk@8.8.13"


def node_modules() -> Optional[str]:
    for folder in (os.environ.get("ZEEBE_NODE_MODULES"), str(ROOT / ".tools" / "node_modules")):
        if folder and os.path.isfile(os.path.join(folder, "@camunda8", "sdk", "package.json")):
            return folder
    return None


NODE = shutil.which("node")
MODULES = node_modules()
pytestmark = pytest.mark.skipif(
    NODE is None or MODULES is None,
    reason=("node not found on PATH" if NODE is None else f"@camunda8/sdk not installed: run `{INSTALL}`"),
)


@pytest.fixture
def engines() -> Iterator[Tuple[EmbeddedZeebe, EmbeddedZeebe]]:
    with EmbeddedZeebe(long_poll_timeout_ms=2000) as plain, \
            EmbeddedZeebe(long_poll_timeout_ms=2000, multi_tenancy=True,
                          authorized_tenants=["sdk-tenant"]) as multi_tenant:
        yield plain, multi_tenant


def test_camunda8_sdk_grpc_client(engines: Tuple[EmbeddedZeebe, EmbeddedZeebe], tmp_path: Path) -> None:
    plain, multi_tenant = engines
    body = ('<bpmn:startEvent id="start"/>'
            + m.service_task("transform", "c8-transform", headers=[("method", "upper")])
            + '<bpmn:endEvent id="end"/>' + m.chain("start", "transform", "end"))
    (tmp_path / "c8-demo.bpmn").write_bytes(m.process("c8-demo", body))
    body = ('<bpmn:startEvent id="s"/><bpmn:receiveTask id="wait" messageRef="paid"/>'
            + m.service_task("after", "c8-after-payment") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "wait", "after", "e"))
    (tmp_path / "c8-order.bpmn").write_bytes(m.process("c8-order", body, extra=m.message("paid", "c8-paid", "=orderId")))
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("streamed", "c8-streamed") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "streamed", "e"))
    (tmp_path / "c8-stream.bpmn").write_bytes(m.process("c8-stream", body))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_"))}
    env["NODE_PATH"] = str(MODULES)
    child = subprocess.Popen([str(NODE), str(SCRIPT), plain.address, multi_tenant.address, str(tmp_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        assert child.stdout is not None and child.stdin is not None
        line = child.stdout.readline()  # the script waits until its stream is open at the engine
        assert json.loads(line or "{}") == {"waiting": "stream-registered"}, line + child.stderr.read()
        wait_until(lambda: plain.stats()["job_streams"] == 1, timeout=30)
        child.stdin.write("go\n")
        child.stdin.flush()
        stdout, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, stdout + stderr
    out = json.loads(stdout.strip().splitlines()[-1])

    assert out["topology"] == {"clusterSize": 1, "gatewayVersion": "8.4.13", "brokers": 1}
    [demo] = out["deployResource"]
    assert demo["bpmnProcessId"] == "c8-demo" and demo["version"] == 1 and demo["tenantId"] == "<default>"
    assert int(demo["processDefinitionKey"]) >> 51 == 1  # int64 keys travel as strings
    plain_instance = out["createProcessInstance"]
    assert plain_instance["bpmnProcessId"] == "c8-demo" and int(plain_instance["processInstanceKey"]) >> 51 == 1
    assert out["createProcessInstanceWithResult"]["variables"] == {"text": "hello", "upper": "HELLO"}

    streamed = out["streamJobs"]
    # the job created before the stream opened came through the SDK's one back-fill poll; the later
    # one was created once the stream was open and no poll was (recurring polls off: pollInterval
    # -1), so only the stream could bring it
    assert sorted((j["key"], j["n"]) for j in streamed["jobs"]) == sorted(
        [(streamed["earlier"], 1), (streamed["later"], 2)])
    assert {j["worker"] for j in streamed["jobs"]} == {"c8-stream-worker"}
    assert [i["state"] for i in plain.process_instances() if i["bpmn_process_id"] == "c8-stream"] == [
        "COMPLETED", "COMPLETED"]

    assert out["publishMessage"]["tenantId"] == "<default>" and int(out["publishMessage"]["key"]) >> 51 == 1
    assert out["order"]["variables"] == {"orderId": "order-7", "amount": 12, "shipped": True}
    assert out["cancelAgain"]["code"] == 5  # NOT_FOUND: the instance is gone
    transform = [extra for job_type, _, extra in out["jobs"] if job_type == "c8-transform"]
    assert transform and all(headers == {"method": "upper"} for headers in transform)

    tenant = out["tenant"]
    assert tenant["deployTenantId"] == "sdk-tenant" and tenant["deployment"][0]["tenantId"] == "sdk-tenant"
    assert tenant["result"]["tenantId"] == "sdk-tenant"
    assert tenant["result"]["variables"] == {"text": "tenant", "upper": "TENANT", "tenant": "sdk-tenant"}
    assert tenant["message"]["tenantId"] == "sdk-tenant"
    # without CAMUNDA_TENANT_ID the SDK sends '<default>', a tenant this engine does not authorize
    assert tenant["missing"]["code"] == 7  # PERMISSION_DENIED
    assert "with tenant identifier '<default>', but tenant is not authorized" in tenant["missing"]["message"]
    assert [d["tenant_id"] for d in multi_tenant.definitions()] == ["sdk-tenant"]
