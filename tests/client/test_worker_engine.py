"""JobWorker against a real EmbeddedZeebe: the demo process at volume, BPMN errors, failures
turning into incidents, and recovery from a gateway outage."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Set

from tests.client import processes
from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.errors import BpmnError
from zeebe_affinity_sync.zeebe import Job, JobWorker, ZeebeClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def active_instances(engine: EmbeddedZeebe, pid: str) -> int:
    return sum(1 for i in engine.process_instances(include_finished=False) if i["bpmn_process_id"] == pid)


def test_demo_process_runs_1000_instances_with_two_workers(client: ZeebeClient, engine: EmbeddedZeebe) -> None:
    pid = unique("affinity-demo")
    client.deploy_resource(("demo.bpmn", processes.demo(pid)))
    lock = threading.Lock()
    outcomes: Dict[int, str] = {}  # instance key -> published value; under lock
    handled_by: Dict[str, Set[int]] = {"w1": set(), "w2": set()}  # under lock

    def make_worker(name: str) -> JobWorker:
        worker = JobWorker(client, name=name, max_running_jobs=16, poll_request_timeout=5)

        @worker.task("transform")
        def transform(variables):
            return {"upper": variables["text"].upper()}

        @worker.task("publish-outcome")
        def publish(job: Job):
            with lock:
                assert job.process_instance_key not in outcomes, "a job was handled twice"
                outcomes[job.process_instance_key] = job.variables["upper"]
                handled_by[name].add(job.process_instance_key)
            return {"published": True}

        return worker

    n = 1000
    with make_worker("w1"), make_worker("w2"):
        with ThreadPoolExecutor(4) as pool:
            created = list(pool.map(lambda i: client.create_process_instance(pid, {"text": f"t{i}"}), range(n)))
        keys = {c.process_instance_key for c in created}
        wait_until(lambda: len(outcomes) == n and active_instances(engine, pid) == 0, timeout=90, interval=0.05)
    assert set(outcomes) == keys
    by_key = {c.process_instance_key: i for i, c in enumerate(created)}
    assert all(outcomes[k] == f"T{by_key[k]}" for k in keys)
    assert handled_by["w1"] and handled_by["w2"]  # both workers took part
    assert [i for i in engine.incidents() if i["bpmn_process_id"] == pid] == []


def test_handler_bpmn_error_is_caught(client: ZeebeClient, engine: EmbeddedZeebe) -> None:
    pid, job_type = unique("err"), unique("risky")
    client.deploy_resource(("e.bpmn", processes.with_error_boundary(pid, job_type, "OUT_OF_STOCK")))
    worker = JobWorker(client, poll_request_timeout=5)

    @worker.task(job_type)
    def risky(variables):
        raise BpmnError("OUT_OF_STOCK", "none left", {"sku": variables["sku"]})

    with worker:
        result = client.create_process_instance_with_result(pid, {"sku": "A1"}, timeout=20)
    assert result.variables == {"sku": "A1"}
    assert worker.stats["errors_thrown"] == 1


def test_handler_exception_uses_retries_then_raises_an_incident(client: ZeebeClient, engine: EmbeddedZeebe) -> None:
    pid, job_type = unique("fails"), unique("broken")
    client.deploy_resource(("f.bpmn", processes.single_task(pid, job_type, retries=2)))
    calls = []

    def broken(job: Job):
        calls.append(job.retries)
        raise ValueError(f"bad input on try {len(calls)}")

    worker = JobWorker(client, poll_request_timeout=5)
    worker.register(job_type, broken, retry_backoff=0.0)
    with worker:
        instance = client.create_process_instance(pid)
        wait_until(lambda: any(i["process_instance_key"] == instance.process_instance_key for i in engine.incidents()))
    assert calls == [2, 1]
    (incident,) = [i for i in engine.incidents() if i["process_instance_key"] == instance.process_instance_key]
    assert incident["error_message"] == "ValueError: bad input on try 2"


def test_result_too_large_for_a_grpc_message_fails_the_job(engine: EmbeddedZeebe) -> None:
    # instead of leaving the job to time out and come back forever, the worker fails it with the
    # reason, so the retries run out into an incident that says what is wrong
    pid, job_type = unique("too-large"), unique("big-result")
    small = ZeebeClient(engine.address, max_message_bytes=70_000)
    small.deploy_resource(("big.bpmn", processes.single_task(pid, job_type, retries=1)))
    worker = JobWorker(small, poll_request_timeout=5)
    worker.register(job_type, lambda variables: {"blob": "x" * 100_000}, retry_backoff=0.0)
    try:
        with worker:
            instance = small.create_process_instance(pid)
            wait_until(lambda: any(i["process_instance_key"] == instance.process_instance_key
                                   for i in engine.incidents()))
        (incident,) = [i for i in engine.incidents() if i["process_instance_key"] == instance.process_instance_key]
        assert incident["error_type"] == "JOB_NO_RETRIES"
        assert "larger than max" in incident["error_message"]
        assert worker.stats["failed"] == 1 and worker.stats["completed"] == 0
    finally:
        small.close()


def test_worker_survives_a_gateway_restart(caplog) -> None:
    first = EmbeddedZeebe(port=0).start()
    port = first.port
    worker = JobWorker(gateway_address=first.address, poll_request_timeout=2,
                       error_backoff_initial=0.02, error_backoff_max=0.2)
    worker.register("after-outage", lambda variables: {"seen": variables["n"] + 1})
    worker.start()
    try:
        first.stop()  # the gateway goes away while the worker polls
        wait_until(lambda: any("polling failed" in r.getMessage() for r in caplog.records), timeout=30)
        second = EmbeddedZeebe(port=port).start()
        try:
            with ZeebeClient(second.address) as client:
                client.deploy_resource(("o.bpmn", processes.single_task("outage", "after-outage")))
                result = client.create_process_instance_with_result("outage", {"n": 1}, timeout=30)
            assert result.variables == {"n": 1, "seen": 2}
        finally:
            assert worker.stop(timeout=30)
            second.stop()
    finally:
        worker.stop(timeout=30)
        first.stop()
    assert worker.client.closed  # built by the worker from gateway_address, so closed by it


def test_stop_is_prompt_against_the_real_long_poll(engine: EmbeddedZeebe) -> None:
    before = set(threading.enumerate())
    worker = JobWorker(gateway_address=engine.address, poll_request_timeout=100)  # beyond the test timeout
    worker.register(unique("idle"), lambda v: {})
    worker.start()
    wait_until(lambda: bool(worker._streams))  # a long poll is in flight
    assert worker.stop(timeout=60) is True
    assert not [
        t
        for t in threading.enumerate()
        if t.name.startswith("zeebe-worker-") and t.is_alive() and t not in before
    ]


def test_worker_name_job_timeout_and_fetch_variables(client: ZeebeClient, engine: EmbeddedZeebe) -> None:
    import time

    pid, job_type = unique("fetch"), unique("picky")
    client.deploy_resource(("p.bpmn", processes.single_task(pid, job_type)))
    seen = []
    worker = JobWorker(client, name="picky-worker", poll_request_timeout=5)

    @worker.task(job_type, timeout=12.5, fetch_variables=["a"])
    def picky(job: Job):
        seen.append((job, time.time()))
        return {"b": job.variables["a"] + 1}

    with worker:
        result = client.create_process_instance_with_result(pid, {"a": 1, "secret": "x"}, timeout=20)
    (job, when), = seen
    assert job.worker == "picky-worker" and job.variables == {"a": 1}
    assert 0 < job.deadline - when <= 12.5  # locked for the task's timeout, not the worker's 300 s
    assert result.variables == {"a": 1, "secret": "x", "b": 2}


def test_closing_the_client_under_a_running_worker_ends_its_pollers(engine: EmbeddedZeebe) -> None:
    """No poller may retry forever against a client that can never work again."""
    task_type = unique("orphan")
    client = ZeebeClient(engine.address)
    worker = JobWorker(client, poll_request_timeout=100)
    worker.register(task_type, lambda v: {})
    worker.start()
    wait_until(lambda: bool(worker._streams))  # a long poll is in flight
    client.close()
    poller = f"zeebe-worker-poll[{task_type}]"
    wait_until(lambda: not [t for t in threading.enumerate() if t.name == poller], timeout=30)
    assert worker.stop(timeout=30) is True
