"""The call watch (zeebe/call_watch.py): a job call gRPC leaves hanging gets its channel reopened.

grpcio can fail a streaming call at once and never complete the receive its iterator waits on
(seen about once in 300 gateway restarts: test_worker_survives_a_gateway_restart hung in CI). That
bug cannot be triggered on demand, so a reader that never finishes stands in for it here; the
channel, the long polls on it and the recovery are all real gRPC against a real engine.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Any, List

import grpc
import pytest

from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.errors import ZeebeError
from zeebe_affinity_sync.zeebe import ZeebeClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _drain_in_thread(stream: Any) -> "tuple[threading.Thread, List[BaseException]]":
    errors: List[BaseException] = []

    def drain() -> None:
        try:
            list(stream)
        except BaseException as exc:  # collected for the assertions
            errors.append(exc)

    thread = threading.Thread(target=drain, name="test-drain", daemon=True)
    thread.start()
    return thread, errors


def _watch_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "zeebe-client-call-watch" and t.is_alive()]


def test_a_call_left_hanging_past_its_deadline_reopens_the_channel(
    engine: EmbeddedZeebe, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="zeebe_affinity_sync.zeebe.call_watch")
    with ZeebeClient(engine.address) as client:
        client._channel._watch.grace = 0.2
        # a real long poll parked at the engine, read by a thread
        stream = client.activate_jobs_stream(unique("idle"), request_timeout=30)
        reader, errors = _drain_in_thread(stream)
        wait_until(lambda: engine.stats()["parked_polls"] >= 1)
        old_channel = client._channel._state[1]
        # a reader that gRPC left hanging: its deadline (0 s) passes and it is never done
        _, wedged = client._channel.watched_stub("ActivateJobs of 'stuck'", 0.0)
        wedged.reading()
        wait_until(lambda: not reader.is_alive(), timeout=10)
        # the channel was closed: the healthy poll on it ended too, as a lost connection does
        (error,) = errors
        assert isinstance(error, ZeebeError) and error.grpc_code == grpc.StatusCode.CANCELLED
        assert "ActivateJobs of 'stuck'" in caplog.text and "reopening the gRPC channel" in caplog.text
        assert client._channel._watch.wedged == 1
        # the next call opens a new channel, and it works
        assert client.topology().brokers
        assert client._channel._state[1] is not old_channel


def test_a_cancel_the_reader_does_not_return_from_reopens_the_channel(engine: EmbeddedZeebe) -> None:
    with ZeebeClient(engine.address) as client:
        client.topology()
        client._channel._watch.grace = 0.2
        old_channel = client._channel._state[1]
        _, wedged = client._channel.watched_stub("StreamActivatedJobs of 'stuck'", None)  # a stream: no deadline
        wedged.reading()
        assert client._channel._watch.wedged == 0
        wedged.cancelled()  # stop() cancels it, and the reader still does not come back
        wait_until(lambda: client._channel._watch.wedged == 1, timeout=10)
        wait_until(lambda: client._channel._state is None or client._channel._state[1] is not old_channel)
        assert client.topology().brokers


def test_calls_that_end_in_time_or_are_never_read_are_left_alone(engine: EmbeddedZeebe) -> None:
    with ZeebeClient(engine.address) as client:
        client._channel._watch.grace = 0.2
        task_type = unique("quick")
        for _ in range(20):  # short long polls, read to their end
            assert list(client.activate_jobs_stream(task_type, request_timeout=0.05)) == []
        assert client.activate_jobs(task_type) == []
        # opened, cancelled and never iterated: nobody blocks on it, so nothing is wedged
        never_read = client.activate_jobs_stream(task_type, request_timeout=0.05)
        never_read.cancel()
        channel = client._channel._state[1]
        stream = client.stream_activated_jobs(task_type)
        reader, errors = _drain_in_thread(stream)
        wait_until(lambda: engine.stats().get("job_streams", 1) >= 1)
        stream.cancel()
        reader.join(5)
        assert not reader.is_alive() and errors == []
        threading.Event().wait(1.0)  # several grace periods
        assert client._channel._watch.wedged == 0
        assert client._channel._state[1] is channel


def test_the_watch_thread_ends_when_idle_and_at_close(engine: EmbeddedZeebe) -> None:
    before = set(_watch_threads())
    client = ZeebeClient(engine.address)
    client._channel._watch.grace = 0.2
    try:
        list(client.activate_jobs_stream(unique("idle"), request_timeout=0.05))
        # nothing watched any more: the thread wakes at the call's limit (its 5.05 s gRPC deadline
        # + grace; a call that ends sooner does not wake it) and goes after a second of idling
        wait_until(lambda: not (set(_watch_threads()) - before), timeout=20)
        stream = client.stream_activated_jobs(unique("streamed"))
        reader, _ = _drain_in_thread(stream)
        wait_until(lambda: bool(set(_watch_threads()) - before))
    finally:
        client.close()  # ends the stream and the watch thread
    reader.join(5)
    wait_until(lambda: not (set(_watch_threads()) - before), timeout=10)
