"""JobWorker mechanics against the recording fake gateway: slot accounting, prompt stop,
outage recovery, handler calling conventions."""
from __future__ import annotations

import json
import threading
from typing import Any, Dict, List

import grpc
import pytest

from tests.client.fake_gateway import FakeServer
from tests.support.net import wait_until
from zeebe_affinity_sync.errors import BpmnError, ConfigurationError, GatewayUnavailableError
from zeebe_affinity_sync.zeebe import Job, JobWorker, ZeebeClient


def finished(fake: FakeServer) -> List[Any]:
    with fake.gateway.lock:
        return list(fake.gateway.finished)


def test_handler_gets_variables_or_job_by_signature(fake: FakeServer, fake_client: ZeebeClient) -> None:
    seen: Dict[str, Any] = {}
    worker = JobWorker(fake_client, max_running_jobs=4, poll_request_timeout=5)

    @worker.task("by-vars")
    def by_vars(variables):
        seen["vars"] = variables
        return {"doubled": variables["n"] * 2}

    @worker.task("by-name")
    def by_name(job):
        seen["name"] = job
        return None

    def by_annotation(anything: Job) -> Dict[str, Any]:
        seen["annotation"] = anything
        return {}

    worker.register("by-annotation", by_annotation)
    keys = [fake.gateway.add_jobs(t, 1)[0] for t in ("by-vars", "by-name", "by-annotation")]
    with worker:
        wait_until(lambda: len(finished(fake)) == 3, timeout=30)
    assert sorted(finished(fake)) == sorted(("complete", k) for k in keys)
    assert seen["vars"] == {"n": keys[0]}
    assert isinstance(seen["name"], Job) and seen["name"].custom_headers == {"h": "v"}
    assert isinstance(seen["annotation"], Job)
    completes = {r.jobKey: json.loads(r.variables or "{}") for r in fake.gateway.calls_of("CompleteJob")}
    assert completes[keys[0]] == {"doubled": 2 * keys[0]}
    assert worker.stats["completed"] == 3
    assert not worker.running


def test_errors_fail_or_throw(fake: FakeServer, fake_client: ZeebeClient) -> None:
    worker = JobWorker(fake_client, poll_request_timeout=5)
    worker.register("boom", lambda v: 1 / 0, retry_backoff=2.5)
    worker.register("bpmn", lambda v: (_ for _ in ()).throw(BpmnError("E42", "no stock", {"sku": "x"})))
    worker.register("wrong-return", lambda v: ["not", "a", "dict"])
    worker.register("bad-json", lambda v: {"when": object()})

    def calls_zeebe(variables):
        raise GatewayUnavailableError("Zeebe call failed: the handler's own call")

    worker.register("zeebe-err", calls_zeebe)
    keys = {t: fake.gateway.add_jobs(t, 1)[0] for t in ("boom", "bpmn", "wrong-return", "bad-json", "zeebe-err")}
    with worker:
        wait_until(lambda: len(finished(fake)) == 5, timeout=30)
    fails = {f.jobKey: f for f in fake.gateway.calls_of("FailJob")}
    assert set(fails) == {keys["boom"], keys["wrong-return"], keys["bad-json"], keys["zeebe-err"]}
    assert "the handler's own call" in fails[keys["zeebe-err"]].errorMessage
    boom = fails[keys["boom"]]
    assert boom.errorMessage.startswith("ZeroDivisionError:")
    assert (boom.retries, boom.retryBackOff) == (2, 2500)  # the fake's jobs have 3 retries
    assert "returned list" in fails[keys["wrong-return"]].errorMessage
    assert "JSON-serialisable" in fails[keys["bad-json"]].errorMessage
    (thrown,) = fake.gateway.calls_of("ThrowError")
    assert (thrown.errorCode, thrown.errorMessage, json.loads(thrown.variables)) == ("E42", "no stock", {"sku": "x"})
    assert worker.stats["failed"] == 4 and worker.stats["errors_thrown"] == 1


def test_never_activates_more_jobs_than_free_slots(fake: FakeServer, fake_client: ZeebeClient) -> None:
    release = threading.Event()
    running = []
    lock = threading.Lock()
    peak = [0]

    def slow(variables):
        with lock:
            running.append(1)
            peak[0] = max(peak[0], len(running))
        release.wait(30)
        with lock:
            running.pop()

    worker = JobWorker(fake_client, max_running_jobs=3, poll_request_timeout=5)
    worker.register("slow", slow, max_jobs_to_activate=10)  # asks grow 1, 2, 4... capped by free slots
    fake.gateway.add_jobs("slow", 7)
    with worker:
        wait_until(lambda: len(running) == 3, timeout=30)
        # all slots busy: the poller must not hold an ActivateJobs request open
        wait_until(lambda: fake.gateway.active_polls == 0, timeout=30)
        with fake.gateway.lock:
            assert len(fake.gateway.jobs["slow"]) == 4  # still at the gateway, not in a local queue
        release.set()
        wait_until(lambda: len(finished(fake)) == 7, timeout=30)
    assert peak[0] == 3
    assert all(r.maxJobsToActivate <= 3 for r in fake.gateway.calls_of("ActivateJobs"))


def test_stop_cancels_the_long_poll(fake: FakeServer, fake_client: ZeebeClient) -> None:
    worker = JobWorker(fake_client, poll_request_timeout=100)  # longer than the test timeout
    worker.register("idle", lambda v: {})
    worker.start()
    wait_until(lambda: fake.gateway.active_polls == 1, timeout=30)
    assert worker.stop(timeout=60) is True
    wait_until(lambda: fake.gateway.cancelled_polls == 1, timeout=30)
    assert not any(t.is_alive() for t in worker._threads())
    assert not worker.running
    with pytest.raises(RuntimeError, match="runs once"):
        worker.start()


def test_stop_lets_running_handlers_finish(fake: FakeServer, fake_client: ZeebeClient) -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow(variables):
        entered.set()
        release.wait(30)
        return {"done": True}

    worker = JobWorker(fake_client, poll_request_timeout=5)
    worker.register("slow", slow)
    (key,) = fake.gateway.add_jobs("slow", 1)
    worker.start()
    assert entered.wait(30)
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    assert not worker.join(0.05)  # the handler still holds its job
    release.set()
    stopper.join(30)
    assert worker.join(0) is True
    assert finished(fake) == [("complete", key)]


def test_gateway_outage_backs_off_and_recovers(fake: FakeServer, fake_client: ZeebeClient) -> None:
    fake.gateway.fail("ActivateJobs", grpc.StatusCode.UNAVAILABLE, times=3)
    worker = JobWorker(fake_client, poll_request_timeout=5, error_backoff_initial=0.01, error_backoff_max=0.05)
    worker.register("t", lambda v: {"ok": 1})
    (key,) = fake.gateway.add_jobs("t", 1)
    with worker:
        wait_until(lambda: finished(fake) == [("complete", key)], timeout=30)
    assert len(fake.gateway.calls_of("ActivateJobs")) >= 4


def test_register_while_running_and_refusals(fake: FakeServer, fake_client: ZeebeClient) -> None:
    worker = JobWorker(fake_client, poll_request_timeout=5)
    with worker:
        worker.register("late", lambda v: {"late": True})
        (key,) = fake.gateway.add_jobs("late", 1)
        wait_until(lambda: finished(fake) == [("complete", key)], timeout=30)
        with pytest.raises(ConfigurationError, match="already has a handler"):
            worker.register("late", lambda v: {})
    with pytest.raises(ConfigurationError, match="not both"):
        JobWorker(fake_client, gateway_address="x:1")
    with pytest.raises(ConfigurationError, match="max_running_jobs"):
        JobWorker(fake_client, max_running_jobs=0)
    with pytest.raises(ConfigurationError, match="fetch_variables"):
        JobWorker(fake_client).register("t", lambda v: {}, fetch_variables="one")
    async def coroutine(variables):
        return {}

    with pytest.raises(ConfigurationError, match="async"):
        JobWorker(fake_client).register("t", coroutine)
    assert worker.client is fake_client
    assert not fake_client.closed  # a client passed in belongs to the caller
