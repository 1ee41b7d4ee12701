"""JobWorker with job streaming (StreamActivatedJobs) over real gRPC against the EmbeddedZeebe."""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from tests.client import processes
from tests.support.net import wait_until
from tests.support.proxy import TcpProxy
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.zeebe import JobWorker, ZeebeClient


@pytest.fixture
def zeebe() -> Iterator[EmbeddedZeebe]:
    with EmbeddedZeebe() as engine:
        yield engine


_LOCK = 3.0  # s, the job timeout of the cut test's worker


def _parked_polls(zeebe: EmbeddedZeebe) -> int:
    return zeebe.stats()["parked_polls"]


def test_a_job_reaches_the_stream_ahead_of_the_parked_poll(zeebe: EmbeddedZeebe) -> None:
    handled = threading.Event()
    with ZeebeClient(zeebe.address) as client:
        client.deploy_resource(("s1.bpmn", processes.single_task("s1", "s1-work")))
        worker = JobWorker(client, poll_request_timeout=30)
        worker.register("s1-work", lambda: handled.set(), stream=True)
        with worker:
            # both are open: the stream, and the long poll beside it (parked for 30 s)
            wait_until(lambda: zeebe.stats()["job_streams"] == 1 and _parked_polls(zeebe) == 1)
            client.create_process_instance("s1")
            assert handled.wait(10)
            wait_until(lambda: worker.stats["completed"] == 1)
            stats = worker.stats
            assert _parked_polls(zeebe) == 1  # the poll is still waiting: it never saw the job
    assert stats["streamed"] == 1 and stats["activated"] == 0, stats


def test_jobs_created_before_the_stream_opened_are_back_filled(zeebe: EmbeddedZeebe) -> None:
    with ZeebeClient(zeebe.address) as client:
        client.deploy_resource(("s2.bpmn", processes.single_task("s2", "s2-work")))
        keys = {client.create_process_instance("s2").process_instance_key for _ in range(5)}
        done = collections.Counter()
        lock = threading.Lock()

        def handle(job: Any) -> None:
            with lock:
                done[job.process_instance_key] += 1

        worker = JobWorker(client, poll_request_timeout=1, stream=True)
        worker.register("s2-work", handle)
        with worker:
            wait_until(lambda: worker.stats["completed"] == 5 and zeebe.stats()["job_streams"] == 1)
            client.create_process_instance("s2")
            wait_until(lambda: worker.stats["completed"] == 6)
            stats = worker.stats
    assert set(done) >= keys and set(done.values()) == {1}
    assert stats["activated"] == 5 and stats["streamed"] == 1, stats  # old ones by the poll, the new one pushed


@pytest.mark.parametrize("how", ["gateway-closes", "connection-reset"])
def test_a_stream_cut_mid_run_recovers_without_losing_or_duplicating_a_job(
        zeebe: EmbeddedZeebe, how: str, caplog: pytest.LogCaptureFixture) -> None:
    # job key -> the lock deadline of each activation it was handled under
    handled: Dict[int, List[float]] = collections.defaultdict(list)
    lock = threading.Lock()

    def handle(job: Any) -> Dict[str, int]:
        with lock:
            handled[job.key].append(job.deadline)
        return {"seen": 1}

    with ZeebeClient(zeebe.address) as setup:
        setup.deploy_resource(("cut.bpmn", processes.single_task("cut", "cut-work")))
        with TcpProxy(zeebe.address) as proxy:
            client = ZeebeClient(proxy.address)
            worker = JobWorker(client, poll_request_timeout=2, stream=True, error_backoff_initial=0.05,
                               error_backoff_max=0.2, timeout=_LOCK)
            # a job pushed into a connection just before it was reset is lost on the wire (as
            # with Zeebe) and comes back after its lock, which is kept short for that
            worker.register("cut-work", handle)
            keys = []
            with worker:
                wait_until(lambda: zeebe.stats()["job_streams"] == 1)
                for _round in range(4):
                    for _ in range(10):
                        keys.append(setup.create_process_instance("cut").process_instance_key)
                    opened = worker.stats["streams_opened"]
                    if how == "gateway-closes":
                        assert zeebe.close_job_streams() >= 1
                    else:
                        assert proxy.cut() >= 1
                    # reopened, and registered at the gateway again
                    wait_until(lambda: worker.stats["streams_opened"] > opened, timeout=15)
                    wait_until(lambda: zeebe.stats()["job_streams"] >= 1, timeout=15)
                # the engine decides: a CompleteJob whose answer was lost in a cut is retried
                # and then told NOT_FOUND, so the worker's own "completed" count may miss it
                wait_until(lambda: sum(1 for i in zeebe.process_instances()
                                       if i["bpmn_process_id"] == "cut" and i["state"] == "COMPLETED") == 40,
                           timeout=30)
                stats = worker.stats
            client.close()
        done = [i for i in zeebe.process_instances() if i["bpmn_process_id"] == "cut"]
    assert len(keys) == 40
    assert sorted(i["process_instance_key"] for i in done if i["state"] == "COMPLETED") == sorted(keys)
    assert len(handled) == 40, "a job was never handled"
    # Zeebe's delivery is at-least-once per lock: a job is handed out again only after the lock
    # it was activated with has expired (here, 3 s; a CompleteJob delayed past it by the cuts on
    # a busy machine makes that happen). Never twice under one lock, never re-activated early.
    for key, deadlines in handled.items():
        for earlier, later in zip(deadlines, deadlines[1:]):
            assert later - _LOCK >= earlier - 0.01, (
                f"job {key} was handed out again while its lock ran: deadlines {deadlines}")
    # and no handling went wrong unseen: a swallowed CompleteJob error would also end in a re-run
    errors = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.ERROR and r.name.startswith("zeebe_affinity_sync")]
    assert not errors, errors
    handlings = sum(len(d) for d in handled.values())
    assert stats["streamed"] > 0 and stats["streamed"] + stats["activated"] == handlings, stats


def test_stop_ends_the_stream_at_once(zeebe: EmbeddedZeebe) -> None:
    with ZeebeClient(zeebe.address) as client:
        worker = JobWorker(client, poll_request_timeout=30, stream=True)
        worker.register("idle-type", lambda: None)
        worker.start()
        wait_until(lambda: zeebe.stats()["job_streams"] == 1 and _parked_polls(zeebe) == 1)
        started = time.monotonic()
        assert worker.stop(timeout=10)
        assert time.monotonic() - started < 2.0  # neither the stream nor the 30 s poll is waited out
        wait_until(lambda: zeebe.stats()["job_streams"] == 0)


def test_a_gateway_without_job_streaming_leaves_the_poll_alone(fake: Any, caplog: pytest.LogCaptureFixture) -> None:
    # the recording fake gateway has no StreamActivatedJobs: gRPC answers UNIMPLEMENTED, as a
    # gateway before 8.4 does
    handled = threading.Event()
    with ZeebeClient(fake.address) as client:
        worker = JobWorker(client, poll_request_timeout=1, stream=True)
        worker.register("old-gateway", lambda: handled.set())
        with worker:
            wait_until(lambda: any("does not support job streaming" in r.getMessage() for r in caplog.records))
            fake.gateway.add_jobs("old-gateway", 1)
            assert handled.wait(10)  # the poll serves the type
            stats = worker.stats
    assert stats["streams_opened"] == 1 and stats["streamed"] == 0  # tried once, not again and again
