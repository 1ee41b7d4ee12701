"""The relay worker streams its jobs by default (issue 11 item 3), and ``stream=False`` polls.

Each test runs its own relay worker on its own relay task type (a copy of ``relay-first`` whose
relay task has that type), so the folder's session relay workers never take these jobs. The long
poll beside the stream is parked for 30 s: a relay job answered well inside that time by a job
the worker counts as ``streamed`` (and none ``activated`` by a poll) was pushed over the stream.
"""
from __future__ import annotations

from typing import Any

from tests.affinity.conftest import HERE, TOKEN, unique, variant
from tests.support.net import wait_until
from zeebe_affinity_sync import ZBAffinityClient
from zeebe_affinity_sync.zeebe.client import ZeebeClient


def _deploy_relay_first(engine: Any, relay_type: str) -> str:
    suffix = "-" + relay_type
    with ZeebeClient(engine.address) as client:
        client.deploy_resource(variant(HERE / "bpmn" / "relay-first.bpmn", suffix, relay_type))
    return "relay-first" + suffix


def _job_streams(engine: Any) -> int:
    return int(engine.stats()["job_streams"])


def test_the_relay_worker_streams_by_default(engine: Any, hub: Any) -> None:
    relay_type = unique("relay-streamed")
    process_id = _deploy_relay_first(engine, relay_type)
    with ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0) as client:
        # the folder's session relay workers keep streams of their own types open
        before = _job_streams(engine)
        worker = client.create_affinity_worker(relay_type, poll_request_timeout=30)
        wait_until(lambda: _job_streams(engine) == before + 1, timeout=10)
        outcomes = [client.create_process_instance_with_affinity(process_id, {"n": n}) for n in range(3)]
        wait_until(lambda: worker.stats["completed"] == 3, timeout=10)
        stats = worker.stats
    assert [o.variables for o in outcomes] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert stats["streams_opened"] == 1
    assert stats["streamed"] == 3 and stats["activated"] == 0, stats
    wait_until(lambda: _job_streams(engine) == before, timeout=10)  # close() ended the stream


def test_stream_false_polls_only(engine: Any, hub: Any) -> None:
    relay_type = unique("relay-polled")
    process_id = _deploy_relay_first(engine, relay_type)
    with ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0) as client:
        before = _job_streams(engine)
        worker = client.create_affinity_worker(relay_type, stream=False, poll_request_timeout=1)
        outcome = client.create_process_instance_with_affinity(process_id, {"n": 7})
        wait_until(lambda: worker.stats["completed"] == 1, timeout=10)
        stats = worker.stats
        streams = _job_streams(engine)
    assert outcome.variables == {"n": 7}
    assert streams == before  # no stream was opened for it
    assert stats["streams_opened"] == 0 and stats["streamed"] == 0 and stats["activated"] == 1, stats
