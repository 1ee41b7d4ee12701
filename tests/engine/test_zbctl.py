"""The real ``zbctl`` binary against ``zeebe-affinity engine`` run as a subprocess.

zbctl is found via ``$ZBCTL``, else ``.tools/node_modules/zbctl/bin/zbctl-cli.linux`` (CI runs
``npm install --prefix .tools zbctl@8.4.1``), else ``zbctl`` on PATH; without it these tests skip
and say why. Where zbctl and our spec disagree, zbctl wins.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

from tests.support.net import free_port, wait_for_port

from . import bpmn_models as m

ROOT = Path(__file__).resolve().parents[2]


def find_zbctl() -> Optional[str]:
    candidates = [os.environ.get("ZBCTL"), str(ROOT / ".tools/node_modules/zbctl/bin/zbctl-cli.linux"),
                  shutil.which("zbctl")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


ZBCTL = find_zbctl()
pytestmark = pytest.mark.skipif(
    ZBCTL is None, reason="zbctl not found: set $ZBCTL or run `npm install --prefix .tools zbctl@8.4.1`")


class Engine:
    def __init__(self, port: int, inspect_port: int, process: subprocess.Popen) -> None:
        self.port = port
        self.inspect_port = inspect_port
        self.process = process

    def inspect(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.inspect_port}{path}", timeout=10) as response:
            return json.loads(response.read())

    def zbctl(self, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        assert ZBCTL is not None
        result = subprocess.run([ZBCTL, "--insecure", "--address", f"127.0.0.1:{self.port}", *args],
                                capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"zbctl {' '.join(args)} failed: {result.stdout}{result.stderr}"
        return result

    def zbctl_json(self, *args: str) -> dict:
        return json.loads(self.zbctl(*args).stdout)

    def worker(self, job_type: str, handler: str, *flags: str) -> subprocess.Popen:
        assert ZBCTL is not None
        return subprocess.Popen([ZBCTL, "--insecure", "--address", f"127.0.0.1:{self.port}", "create", "worker",
                                 job_type, "--handler", handler, *flags], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[Engine]:
    port, inspect_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("engine") / "engine.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "zeebe_affinity_sync.cli", "engine", "--port", str(port),
                                    "--inspect-port", str(inspect_port)],
                                   stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        wait_for_port("127.0.0.1", inspect_port, timeout=30)
        yield Engine(port, inspect_port, process)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: must stop cleanly
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            raise
    text = log.read_text()
    assert code == 0, text
    assert "stopping" in text and "stopped" in text


@pytest.fixture(scope="module")
def resources(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bpmn")
    (folder / "zb-demo.bpmn").write_bytes(m.tasks_process("zb-demo", ["zb-transform", "zb-publish"]))
    (folder / "zb-worker.bpmn").write_bytes(m.tasks_process("zb-worker", ["zbw-transform", "zbw-publish"]))
    body = ('<bpmn:startEvent id="s"/><bpmn:receiveTask id="wait" messageRef="paid"/>'
            + m.service_task("after", "zb-after-payment") + '<bpmn:endEvent id="e"/>' + m.chain("s", "wait", "after", "e"))
    (folder / "zb-order.bpmn").write_bytes(m.process("zb-order", body, extra=m.message("paid", "zb-paid", "=orderId")))
    handler = folder / "handler.py"
    handler.write_text(f"#!{sys.executable}\nimport json, sys\nvariables = json.load(sys.stdin)\n"
                       "print(json.dumps({'handled': variables.get('input', '').upper()}))\n")
    handler.chmod(0o755)
    return folder


def test_status(engine):
    out = engine.zbctl("status").stdout
    assert "Cluster size: 1" in out and "Partitions count: 1" in out and "Replication factor: 1" in out
    assert f"Broker 0 - 127.0.0.1:{engine.port}" in out
    assert "Partition 1 : Leader, Healthy" in out


def test_deploy_create_activate_complete_fail(engine, resources):
    deployed = engine.zbctl_json("deploy", "resource", str(resources / "zb-demo.bpmn"))
    [process] = [d["process"] for d in deployed["deployments"]]
    assert process["bpmnProcessId"] == "zb-demo" and process["version"] == 1
    created = engine.zbctl_json("create", "instance", "zb-demo", "--variables", '{"input": "x"}')
    assert created["bpmnProcessId"] == "zb-demo" and int(created["processInstanceKey"]) >> 51 == 1
    [job] = engine.zbctl_json("activate", "jobs", "zb-transform")["jobs"]
    assert job["processInstanceKey"] == created["processInstanceKey"] and job["worker"] == "zbctl"
    assert json.loads(job["variables"]) == {"input": "x"}
    out = engine.zbctl("complete", "job", job["key"], "--variables", '{"output": "X"}').stdout
    assert f"Completed job with key '{job['key']}'" in out
    again = engine.zbctl("complete", "job", job["key"], check=False)
    assert again.returncode != 0 and "NotFound" in again.stderr
    [second] = engine.zbctl_json("activate", "jobs", "zb-publish")["jobs"]
    assert json.loads(second["variables"]) == {"input": "x", "output": "X"}
    out = engine.zbctl("fail", "job", second["key"], "--retries", "1", "--errorMessage", "try again").stdout
    assert "remaining retries to '1'" in out
    [retried] = engine.zbctl_json("activate", "jobs", "zb-publish")["jobs"]
    assert retried["key"] == second["key"] and retried["retries"] == 1


@pytest.mark.parametrize("flags", [(), ("--streamEnabled",)], ids=["polling", "streaming"])
def test_workers_with_handlers_and_create_with_result(engine, resources, flags):
    engine.zbctl("deploy", "resource", str(resources / "zb-worker.bpmn"))
    workers: List[subprocess.Popen] = [
        engine.worker("zbw-transform", "cat", *flags),
        engine.worker("zbw-publish", str(resources / "handler.py"), *flags),
    ]
    try:
        result = engine.zbctl_json("create", "instance", "zb-worker", "--withResult", "--variables",
                                   '{"input": "hello"}')
        assert result["bpmnProcessId"] == "zb-worker"
        assert json.loads(result["variables"]) == {"input": "hello", "handled": "HELLO"}
    finally:
        for worker in workers:
            worker.terminate()
            worker.communicate(timeout=10)  # reaps it and closes its pipe


def test_publish_message(engine, resources):
    engine.zbctl("deploy", "resource", str(resources / "zb-order.bpmn"))
    created = engine.zbctl_json("create", "instance", "zb-order", "--variables", '{"orderId": "o-7"}')
    published = engine.zbctl_json("publish", "message", "zb-paid", "--correlationKey", "o-7",
                                  "--variables", '{"amount": 12}')
    assert int(published["key"]) >> 51 == 1 and published["tenantId"] == "<default>"
    [job] = engine.zbctl_json("activate", "jobs", "zb-after-payment")["jobs"]
    assert job["processInstanceKey"] == created["processInstanceKey"]
    assert json.loads(job["variables"]) == {"orderId": "o-7", "amount": 12}


def test_broken_deploy_is_reported(engine, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(b"<not-bpmn")
    result = engine.zbctl("deploy", "resource", str(bad), check=False)
    assert result.returncode != 0 and "InvalidArgument" in result.stderr and "failed to parse XML" in result.stderr


def test_incident_seen_through_the_inspection_api_and_resolved_with_zbctl(engine, resources):
    engine.zbctl("deploy", "resource", str(resources / "zb-demo.bpmn"))
    created = engine.zbctl_json("create", "instance", "zb-demo", "--variables", '{"input": "y"}')
    instance_key = int(created["processInstanceKey"])
    jobs = engine.zbctl_json("activate", "jobs", "zb-transform", "--maxJobsToActivate", "10")["jobs"]
    [job] = [j for j in jobs if int(j["processInstanceKey"]) == instance_key]
    engine.zbctl("fail", "job", job["key"], "--retries", "0", "--errorMessage", "database down")
    [incident] = [i for i in engine.inspect("/incidents") if i["process_instance_key"] == instance_key]
    assert incident["error_type"] == "JOB_NO_RETRIES" and incident["error_message"] == "database down"
    assert engine.inspect(f"/process-instances/{instance_key}")["state"] == "ACTIVE"
    engine.zbctl("update", "retries", job["key"], "--retries", "2")
    engine.zbctl("resolve", "incident", str(incident["key"]))
    assert all(i["key"] != incident["key"] for i in engine.inspect("/incidents"))
    again = engine.zbctl_json("activate", "jobs", "zb-transform", "--maxJobsToActivate", "10")["jobs"]
    assert [j["retries"] for j in again if j["key"] == job["key"]] == [2]


def test_broadcast_signal_starts_a_signal_start_process(engine, tmp_path):
    body = ('<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>'
            + m.service_task("work", "zb-signalled") + '<bpmn:endEvent id="e"/>' + m.chain("s", "work", "e"))
    resource = tmp_path / "zb-signal.bpmn"
    resource.write_bytes(m.process("zb-signal", body, extra='<bpmn:signal id="sig" name="zb-go"/>'))
    engine.zbctl("deploy", "resource", str(resource))
    broadcast = engine.zbctl_json("broadcast", "signal", "zb-go", "--variables", '{"n": 3}')
    assert int(broadcast["key"]) >> 51 == 1
    [job] = engine.zbctl_json("activate", "jobs", "zb-signalled")["jobs"]
    assert json.loads(job["variables"]) == {"n": 3}
