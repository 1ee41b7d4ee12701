"""The npm ``zeebe-node`` client (8.3.2) against a real EmbeddedZeebe: a second real client,
written by nobody here, beside zbctl.

``tests/engine/node/conformance.js`` deploys (DeployResource and the deprecated DeployProcess),
runs workers, creates instances (plain and with result), publishes a buffered message, checks a
duplicate messageId, cancels, and asks for an unknown process; this test checks every answer.
zeebe-node is found in ``$ZEEBE_NODE_MODULES`` or ``.tools/node_modules`` (CI runs
``npm install --no-audit --no-fund --prefix .tools zeebe-node@8.3.2``); without node or the package
the test skips and says why.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, Optional

import pytest

from zeebe_affinity_sync.engine import EmbeddedZeebe

from . import bpmn_models as m

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "node" / "conformance.js"
INSTALL = "npm install --no-audit --no-fund --prefix .tools zeebe-node@8.3.2"


def node_modules() -> Optional[str]:
    for folder in (os.environ.get("ZEEBE_NODE_MODULES"), str(ROOT / ".tools" / "node_modules")):
        if folder and os.path.isfile(os.path.join(folder, "zeebe-node", "package.json")):
            return folder
    return None


NODE = shutil.which("node")
MODULES = node_modules()
pytestmark = pytest.mark.skipif(
    NODE is None or MODULES is None,
    reason=("node not found on PATH" if NODE is None else f"zeebe-node not installed: run `{INSTALL}`"),
)


@pytest.fixture
def engine() -> Iterator[EmbeddedZeebe]:
    with EmbeddedZeebe(long_poll_timeout_ms=2000) as zeebe:
        yield zeebe


def test_zeebe_node_client_runs_the_demo_and_a_message_flow(engine: EmbeddedZeebe, tmp_path: Path) -> None:
    body = ('<bpmn:startEvent id="start"/>'
            + m.service_task("transform", "zn-transform", headers=[("method", "upper")])
            + m.service_task("publish", "zn-publish-outcome") + '<bpmn:endEvent id="end"/>'
            + m.chain("start", "transform", "publish", "end"))
    (tmp_path / "zn-demo.bpmn").write_bytes(m.process("zn-demo", body))
    body = ('<bpmn:startEvent id="s"/><bpmn:receiveTask id="wait" messageRef="paid"/>'
            + m.service_task("after", "zn-after-payment") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "wait", "after", "e"))
    (tmp_path / "zn-order.bpmn").write_bytes(m.process("zn-order", body, extra=m.message("paid", "zn-paid", "=orderId")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_"))}
    env["NODE_PATH"] = str(MODULES)
    done = subprocess.run([str(NODE), str(SCRIPT), engine.address, str(tmp_path)], capture_output=True, text=True,
                          timeout=90, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["topology"] == {"clusterSize": 1, "gatewayVersion": "8.4.13", "brokers": 1}
    [demo] = out["deployResource"]
    assert demo["bpmnProcessId"] == "zn-demo" and demo["version"] == 1
    assert demo["resourceName"].endswith("zn-demo.bpmn")  # zeebe-node sends the path it was given
    assert int(demo["processDefinitionKey"]) >> 51 == 1  # zeebe-node carries int64 keys as strings
    [order] = out["deployProcess"]
    assert order["bpmnProcessId"] == "zn-order" and order["version"] == 1

    plain = out["createProcessInstance"]
    assert plain["bpmnProcessId"] == "zn-demo" and int(plain["processInstanceKey"]) >> 51 == 1
    result = out["createProcessInstanceWithResult"]
    assert result["variables"] == {"text": "hello", "upper": "HELLO", "published": True}
    assert out["publishMessage"]["tenantId"] == "<default>" and int(out["publishMessage"]["key"]) >> 51 == 1
    assert out["duplicateMessageId"]["code"] == 6  # ALREADY_EXISTS
    assert "zn-msg-1" in out["duplicateMessageId"]["message"]
    assert out["order"]["variables"] == {"orderId": "order-7", "amount": 12, "shipped": True}
    assert out["cancelAgain"]["code"] == 5  # NOT_FOUND: the instance is gone
    assert out["unknownProcess"]["code"] == 5 and "zn-missing" in out["unknownProcess"]["message"]

    by_type = {}
    for job_type, variables, extra in out["jobs"]:
        by_type.setdefault(job_type, []).append((variables, extra))
    assert {"text": "hello"} in [v for v, _ in by_type["zn-transform"]]
    assert all(headers == {"method": "upper"} for _, headers in by_type["zn-transform"])
    # the failed first attempt came back with one retry less, then completed
    assert [retries for _, retries in by_type["zn-after-payment"]] == [3, 2]
    # order-7 completed, order-8 was cancelled: no zn-order instance is left running
    assert [i for i in engine.process_instances(include_finished=False) if i["bpmn_process_id"] == "zn-order"] == []


def test_zeebe_node_deploys_dmn_and_evaluates_a_decision(engine: EmbeddedZeebe) -> None:
    dmn = Path(__file__).resolve().parent / "dmn" / "drg-force-user.dmn"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_"))}
    env["NODE_PATH"] = str(MODULES)
    done = subprocess.run([str(NODE), str(SCRIPT.parent / "decisions.js"), engine.address, str(dmn), "force_user",
                           json.dumps({"lightsaberColor": "blue", "height": 182})],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    decisions = [d["decision"]["dmnDecisionId"] for d in out["deployed"] if d.get("decision")]
    assert decisions == ["jedi_or_sith", "force_user"]
    evaluated = out["evaluated"]
    assert evaluated["decisionId"] == "force_user" and json.loads(evaluated["decisionOutput"]) == "Obi-Wan Kenobi"
    assert [d["decisionId"] for d in evaluated["evaluatedDecisions"]] == ["jedi_or_sith", "force_user"]
    assert out["missing"]["code"] == 5 and "zn-no-such-decision" in out["missing"]["message"]
