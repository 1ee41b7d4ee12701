"""Restarts and outages with real servers: the hub restarted during load, Redis restarted with
requests in flight, hub / Redis down at start-up, a wrong token, close() with waits in flight."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List

import pytest

from tests.affinity.conftest import BPMN_FILES, TOKEN, Gates, unique, variant
from tests.support.net import free_port, wait_until
from tests.support.redis_server import RedisServer
from zeebe_affinity_sync import RedisAffinity, ZBAffinityClient
from zeebe_affinity_sync.errors import AffinityUnavailable
from zeebe_affinity_sync.zeebe.client import ZeebeClient


def deploy_variant(engine: Any, suffix: str, relay_type: str) -> None:
    with ZeebeClient(engine.address) as client:
        client.deploy_resource(*[variant(p, suffix, relay_type) for p in BPMN_FILES])


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "memory"])
def test_hub_restarted_during_load_answers_every_request(
    engine: Any, helper_workers: None, request: pytest.FixtureRequest, with_redis: bool
) -> None:
    """With Redis the hub keeps what it holds there: an outcome it acknowledged just before it
    went down is still handed over after the restart. Without Redis a graceful restart loses
    nothing either: while shutting down the hub holds (and ACKs) no outcome in memory, so the
    workers send again to the restarted hub. (Only an outcome already ACKed as held, whose
    subscriber does not come before the hub exits, would be lost: see docs/protocol.md.)"""
    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    suffix = "-restart" if with_redis else "-restart-mem"
    deploy_variant(engine, suffix, "publish-outcome" + suffix)
    redis_url = None
    if with_redis:
        redis_url = request.getfixturevalue("redis_server").url.replace("/0", "/3")
    with HubProcess(token=TOKEN, redis_url=redis_url) as hub:
        options = dict(reconnect_initial=0.05, reconnect_max=0.5)
        service = ZBAffinityClient(engine.address, hub.url, TOKEN, 10.0, **options)
        client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0, **options)
        try:
            service.create_affinity_worker("publish-outcome" + suffix, max_running_jobs=16)
            answered: List[int] = []
            errors: List[BaseException] = []
            stop = threading.Event()
            lock = threading.Lock()

            def loop(worker_id: int) -> None:
                n = 0
                while not stop.is_set():
                    value = worker_id * 100_000 + n
                    n += 1
                    try:
                        outcome = client.create_process_instance_with_affinity("compute" + suffix, {"n": value})
                        assert outcome.variables["square"] == value * value
                    except BaseException as exc:  # collected and asserted below
                        errors.append(exc)
                        return
                    with lock:
                        answered.append(value)

            with ThreadPoolExecutor(max_workers=20) as pool:
                futures = [pool.submit(loop, i) for i in range(20)]
                try:
                    wait_until(lambda: len(answered) >= 100, timeout=60)
                    at_restart = len(answered)
                    hub.restart()
                    wait_until(lambda: len(answered) >= at_restart + 200 or bool(errors), timeout=90)
                finally:
                    stop.set()
                for future in futures:
                    future.result()
            assert errors == []
            assert client.pending_count == 0
            assert client.hub_connected and service.hub_connected
        finally:
            client.close()
            service.close()


def test_redis_restarted_with_requests_in_flight(
    engine: Any, helper_workers: None, gates: Gates, fresh_redis: RedisServer
) -> None:
    deploy_variant(engine, "-fresh", "publish-outcome-fresh")
    options = dict(channel_prefix="zas-fresh", reconnect_initial=0.05, reconnect_max=0.5)
    service = RedisAffinity(engine.address, fresh_redis.url, affinity_timeout=10.0, **options)
    client = RedisAffinity(engine.address, fresh_redis.url, affinity_timeout=30.0, **options)
    try:
        service.create_affinity_worker("publish-outcome-fresh", retry_backoff=0.2)
        names = [unique("in-flight") for _ in range(5)]
        with ThreadPoolExecutor(max_workers=5) as pool:
            futures = [
                pool.submit(client.create_process_instance_with_affinity, "gated-fresh", {"gate": name})
                for name in names
            ]
            for name in names:
                assert gates.reached(name)
            fresh_redis.restart()
            for name in names:
                gates.open(name)
            results = [f.result(timeout=60) for f in futures]
        assert [r.variables["passed"] for r in results] == names
        again = client.create_process_instance_with_affinity("relay-first-fresh", {"n": 1})
        assert again.variables == {"n": 1}
        assert client.pending_count == 0
    finally:
        client.close()
        service.close()


def test_relay_job_fails_when_the_hub_is_gone_and_nothing_is_completed(
    engine: Any, helper_workers: None
) -> None:
    """No ACK, no completion: the job is failed with a clear message, retried, and becomes an
    incident when its retries run out (as in the seed)."""
    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    deploy_variant(engine, "-down", "publish-outcome-down")
    with HubProcess(token=TOKEN) as hub:
        service = ZBAffinityClient(engine.address, hub.url, TOKEN, 10.0, ack_timeout=0.3)
        try:
            service.create_affinity_worker("publish-outcome-down", retry_backoff=0.0)
            hub.stop()
            with ZeebeClient(engine.address) as plain:
                key = plain.create_process_instance("relay-first-down", {"n": 1}).process_instance_key

            def incident() -> Any:
                return next((i for i in engine.incidents() if i["process_instance_key"] == key), None)

            wait_until(lambda: incident() is not None, timeout=60)
            message = incident()["error_message"]
            assert "not handed over" in message and hub.url in message
            assert engine.process_instance(key)["state"] == "ACTIVE"  # the job was never completed
        finally:
            service.close()


def test_hub_down_at_start_up_is_a_clear_error(engine: Any) -> None:
    url = f"ws://127.0.0.1:{free_port()}/"
    with ZBAffinityClient(engine.address, url, TOKEN, affinity_timeout=1.0) as client:
        with pytest.raises(AffinityUnavailable) as info:
            client.create_process_instance_with_affinity("relay-first", {"n": 1})
        assert url in str(info.value) and "cannot be reached within 1s" in str(info.value)
        with pytest.raises(AffinityUnavailable):
            client.create_affinity_worker()
        assert client.pending_count == 0


def test_wrong_token_is_reported_as_such(engine: Any, hub: Any) -> None:
    with ZBAffinityClient(engine.address, hub.url, "not-the-token", affinity_timeout=20.0) as client:
        with pytest.raises(AffinityUnavailable) as info:
            client.connect()
        assert "401" in str(info.value) and "token" in str(info.value)


def test_redis_down_at_start_up_is_a_clear_error(engine: Any) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with RedisAffinity(engine.address, url, affinity_timeout=1.0) as client:
        with pytest.raises(AffinityUnavailable) as info:
            client.create_process_instance_with_affinity("relay-first", {"n": 1})
        assert "Redis" in str(info.value) and url in str(info.value)


def test_close_fails_waits_in_flight_and_stops_the_threads(
    engine: Any, hub: Any, hub_relay: Any, gates: Gates
) -> None:
    client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0)
    name, cb_name = unique("closing"), unique("closing-cb")
    errors: List[BaseException] = []
    told = threading.Event()

    def on_error(error: BaseException) -> None:
        errors.append(error)
        told.set()

    client.create_process_instance_with_affinity(
        "gated", {"gate": cb_name}, cb=lambda outcome: None, on_error=on_error
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(client.create_process_instance_with_affinity, "gated", {"gate": name})
        assert gates.reached(name) and gates.reached(cb_name)
        connection = client._state.transport.connection  # type: ignore[union-attr]
        assert connection.running
        client.close()
        with pytest.raises(AffinityUnavailable, match="closed"):
            waiting.result(timeout=30)
    assert told.wait(30)  # the callback-style wait is told too, not left hanging
    assert len(errors) == 1 and isinstance(errors[0], AffinityUnavailable)
    assert "closed" in str(errors[0])
    assert not connection.running
    with pytest.raises(RuntimeError, match="closed"):
        client.create_process_instance_with_affinity("relay-first", {"n": 1})
    gates.open(name)
    gates.open(cb_name)


def test_an_interrupted_wait_leaves_no_waiter_behind(
    engine: Any, hub: Any, hub_relay: Any, gates: Gates
) -> None:
    """KeyboardInterrupt while blocked on the outcome: the waiter and its subscription go.

    (This test was flaky: its helper sent one SIGINT and gave up silently. A signal that lands
    between the main thread releasing the GIL and entering its semaphore wait is only handled
    when that wait ends, and a helper that gave up early left the main thread waiting its whole
    60 s. Now the SIGINT handler is pinned, the signal is sent again until the main thread has
    left the wait, and any helper failure fails the test.)"""
    import signal
    import sys

    name = unique("interrupted")
    main = threading.get_ident()
    problems: List[str] = []

    def main_is_waiting() -> bool:
        frame = sys._current_frames().get(main)
        while frame is not None:
            if frame.f_code.co_name == "_wait":  # RequestSide._wait: blocked on the outcome
                return True
            frame = frame.f_back
        return False

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0) as client:

            def interrupt_when_waiting() -> None:
                try:
                    if not gates.reached(name, timeout=60):  # the instance runs
                        problems.append("the gate was never reached")
                        return
                    wait_until(main_is_waiting, timeout=60)
                    for _ in range(50):
                        # a real SIGINT to the main thread; sent again if it was swallowed by
                        # the window before the wait began
                        signal.pthread_kill(main, signal.SIGINT)
                        deadline = time.monotonic() + 3.0
                        while main_is_waiting() and time.monotonic() < deadline:
                            time.sleep(0.01)
                        if not main_is_waiting():
                            return
                    problems.append("the main thread never left its wait")
                except BaseException as exc:  # reported by the assertion below
                    problems.append(repr(exc))

            helper = threading.Thread(target=interrupt_when_waiting, daemon=True)
            helper.start()
            with pytest.raises(KeyboardInterrupt):
                client.create_process_instance_with_affinity("gated", {"gate": name}, timeout=60)
            helper.join(30)
            assert problems == []
            assert client.pending_count == 0 and client.watched_key_count == 0
            gates.open(name)
            assert client.create_process_instance_with_affinity("relay-first", {"n": 4}).variables == {"n": 4}
    finally:
        signal.signal(signal.SIGINT, previous)
