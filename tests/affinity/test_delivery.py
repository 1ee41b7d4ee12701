"""Delivery guarantees end to end with the real engine and hub: an outcome lost on the way is
delivered again after the reconnect, a relay worker killed with -9 loses nothing, un-encodable
variables are refused before anything starts, a ``cb=`` call racing ``close()`` is told, the
``with_result`` + ``cb=`` path is admission-controlled on its own pool, and the timeout message
says what to check."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List

import pytest

from tests.affinity.conftest import BPMN_FILES, TOKEN, Gates, unique, variant
from tests.support.net import wait_until
from zeebe_affinity_sync import ZBAffinityClient
from zeebe_affinity_sync.errors import AffinityOverloaded, AffinityTimeout, AffinityUnavailable
from zeebe_affinity_sync.zeebe.client import ZeebeClient

NO_RELAY_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="no-relay" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_outcome_cut_off_before_it_was_read_arrives_after_the_reconnect(
    engine: Any, hub: Any, hub_relay: Any
) -> None:
    """The hub wrote the outcome, the connection died before the client handled it: the hub
    kept it (no RECEIPT yet) and hands it over again on the re-subscribe."""
    with ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0, reconnect_initial=0.05,
                          reconnect_max=0.2) as client:
        client.connect()
        connection = client._state.transport.connection  # type: ignore[union-attr]
        deliver = connection._on_outcome
        cut = threading.Event()

        def lose_the_first(frame: Any) -> None:
            if not cut.is_set():
                cut.set()
                with connection._sock_lock:
                    sock = connection._sock
                sock.shutdown(socket.SHUT_RDWR)  # gone before anybody here saw it
                return
            deliver(frame)

        connection._on_outcome = lose_the_first
        outcome = client.create_process_instance_with_affinity("relay-first", {"n": 5})
        assert cut.is_set() and outcome.variables == {"n": 5}
        assert client.pending_count == 0


RELAY_SCRIPT = """
import sys, threading
from zeebe_affinity_sync import ZBAffinityClient
client = ZBAffinityClient(sys.argv[1], sys.argv[2], sys.argv[3], 10.0)
client.create_affinity_worker(sys.argv[4], max_running_jobs=8, name=sys.argv[5])
print("ready", flush=True)
threading.Event().wait()
"""


def start_relay(engine: Any, hub: Any, task_type: str, name: str) -> "subprocess.Popen[str]":
    process = subprocess.Popen(
        [sys.executable, "-c", RELAY_SCRIPT, engine.address, hub.url, TOKEN, task_type, name],
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_a_relay_worker_killed_mid_load_loses_nothing(engine: Any, hub: Any, helper_workers: None) -> None:
    """kill -9 of the relay worker process under load, a replacement started: the dead one's
    activated relay jobs come back after the short relay job timeout (10 s), and every request is
    answered within its 30 s timeout."""
    task_type = "publish-outcome-kill"
    with ZeebeClient(engine.address) as plain:
        plain.deploy_resource(*[variant(p, "-kill", task_type) for p in BPMN_FILES])
    first = start_relay(engine, hub, task_type, "relay-a")
    second = None
    client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0, max_pending=64)
    try:
        answered: List[float] = []
        errors: List[BaseException] = []
        lock = threading.Lock()
        stop = threading.Event()

        def loop(worker_id: int) -> None:
            n = 0
            while not stop.is_set():
                value = worker_id * 100_000 + n
                n += 1
                started = time.monotonic()
                try:
                    outcome = client.create_process_instance_with_affinity("compute-kill", {"n": value})
                    assert outcome.variables["square"] == value * value
                except BaseException as exc:  # collected and asserted below
                    errors.append(exc)
                    return
                with lock:
                    answered.append(time.monotonic() - started)

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(loop, i) for i in range(16)]
            try:
                wait_until(lambda: len(answered) >= 50 or bool(errors), timeout=60)
                # frozen first until the engine hands it relay jobs it will never see (a relay
                # takes milliseconds: a bare kill would seldom catch one in flight)
                def held_by_first() -> set:
                    return {j["key"] for j in engine.jobs() if j["type"] == task_type
                            and j["state"] == "ACTIVATED" and j["worker"] == "relay-a"}

                for _ in range(20):
                    os.kill(first.pid, signal.SIGSTOP)
                    before = held_by_first()  # it may have relayed these already
                    deadline = time.monotonic() + 1.0
                    while not held_by_first() - before and time.monotonic() < deadline:
                        time.sleep(0.02)
                    if held_by_first() - before:
                        break
                    os.kill(first.pid, signal.SIGCONT)  # between two polls: let it poll again
                    time.sleep(0.1)
                assert held_by_first() - before, "the relay worker never held a job to lose"
                os.kill(first.pid, signal.SIGKILL)
                first.wait(10)
                at_kill = len(answered)
                second = start_relay(engine, hub, task_type, "relay-b")
                # long enough for the dead worker's jobs to time out and be relayed again
                wait_until(lambda: len(answered) >= at_kill + 100 or bool(errors), timeout=60)
            finally:
                stop.set()
            for future in futures:
                future.result(timeout=60)
        assert errors == []
        # the requests whose relay jobs died with the worker were answered after the relay
        # job timeout (10 s), well inside their own 30 s
        assert 5.0 < max(answered) < 30.0, f"slowest answer {max(answered):.1f}s"
        assert client.pending_count == 0
    finally:
        client.close()
        for process in (first, second):
            if process is not None:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
                assert process.stdout is not None
                process.stdout.close()


def test_unencodable_variables_are_refused_before_anything_starts(engine: Any, hub: Any) -> None:
    with ZBAffinityClient(engine.address, hub.url, TOKEN, 5.0) as client:
        with pytest.raises(TypeError, match=r"note\.text holds a lone surrogate"):
            client.create_process_instance_with_affinity("relay-first", {"note": {"text": "a\ud800b"}})
        with pytest.raises(TypeError, match="lone surrogate"):
            client.publish_message_with_affinity("m", "c", 1, {"\udc00": 1})
        assert client._state is None  # nothing connected, nothing started


def test_the_relay_worker_refuses_an_unencodable_outcome_with_a_clear_incident(
    engine: Any, hub: Any, helper_workers: None
) -> None:
    task_type = "publish-outcome-surrogate"
    with ZeebeClient(engine.address) as plain:
        plain.deploy_resource(*[variant(p, "-surrogate", task_type) for p in BPMN_FILES])
        with ZBAffinityClient(engine.address, hub.url, TOKEN, 10.0) as service:
            service.create_affinity_worker(task_type, retry_backoff=0.0)
            # json.dumps escapes the surrogate, so the gateway accepts it as valid JSON
            key = plain.create_process_instance("relay-first-surrogate", {"bad": "\ud800"}).process_instance_key

            def incident() -> Any:
                return next((i for i in engine.incidents() if i["process_instance_key"] == key), None)

            wait_until(lambda: incident() is not None, timeout=30)
            assert "bad holds a lone surrogate" in incident()["error_message"]


def test_a_timeout_message_says_what_to_check_and_that_the_instance_ended(
    engine: Any, hub: Any, hub_relay: Any
) -> None:
    with ZeebeClient(engine.address) as plain:
        plain.deploy_resource(("no-relay.bpmn", NO_RELAY_BPMN))
    with ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0) as client:
        with pytest.raises(AffinityTimeout) as info:
            client.create_process_instance_with_affinity("no-relay", {}, timeout=0.5)
        text = str(info.value)
        assert "has already ended" in text and "'publish-outcome'" in text
        assert "affinity worker" in text and info.value.process_instance_key is not None


def test_a_timeout_message_of_a_running_instance_points_to_get_outcome(
    engine: Any, hub: Any, hub_relay: Any, gates: Gates
) -> None:
    name = unique("still-running")
    with ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0) as client:
        try:
            with pytest.raises(AffinityTimeout) as info:
                client.create_process_instance_with_affinity("gated", {"gate": name}, timeout=0.5)
            key = info.value.process_instance_key
            assert "it is still running" in str(info.value) and f"get_outcome({key})" in str(info.value)
        finally:
            gates.open(name)
        # the timed-out process kept listening: the late outcome lands here
        assert client.get_outcome(key, timeout=30).variables["passed"] == name


def test_a_callback_call_racing_close_is_told(engine: Any, hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """close() runs after the call registered its waiter but before its deadline is watched:
    on_error hears of it (before the fix it got neither cb nor on_error)."""
    client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0)
    errors: List[BaseException] = []
    told = threading.Event()
    start = ZBAffinityClient.create_process_instance

    def start_then_close(self: Any, *args: Any, **kwargs: Any) -> Any:
        instance = start(self, *args, **kwargs)
        self.close()
        return instance

    monkeypatch.setattr(ZBAffinityClient, "create_process_instance", start_then_close)

    def on_error(error: BaseException) -> None:
        errors.append(error)
        told.set()

    client.create_process_instance_with_affinity("relay-first", {"n": 1}, cb=lambda o: None, on_error=on_error)
    assert told.wait(10)
    assert len(errors) == 1 and isinstance(errors[0], AffinityUnavailable) and "closed" in str(errors[0])


def test_a_callback_call_after_close_of_the_registry_is_refused(engine: Any, hub: Any) -> None:
    client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0)
    client.connect()
    state = client._state
    assert state is not None
    state.registry.close(AffinityUnavailable("closing"))
    with pytest.raises(AffinityUnavailable, match="closing"):
        client.create_process_instance_with_affinity("relay-first", {"n": 1}, cb=lambda o: None)
    client.close()


def test_with_result_callbacks_respect_max_pending_on_their_own_pool(
    engine: Any, helper_workers: None, gates: Gates
) -> None:
    name = unique("with-result-cb")
    threads: List[str] = []
    done = threading.Event()

    def on_outcome(outcome: Any) -> None:
        threads.append(threading.current_thread().name)
        done.set()

    with ZBAffinityClient(engine.address, strategy="with_result", max_pending=1,
                          affinity_timeout=30.0) as client:
        future = client.create_process_instance_with_affinity("gated", {"gate": name}, cb=on_outcome)
        assert gates.reached(name)
        assert client.pending_count == 1
        with pytest.raises(AffinityOverloaded):
            client.create_process_instance_with_affinity("gated", {"gate": "never"}, cb=on_outcome)
        gates.open(name)
        assert done.wait(30)
        future.result(timeout=10)
        assert threads and threads[0].startswith("zeebe-affinity-with-result")
        wait_until(lambda: client.pending_count == 0)


def test_redis_drops_a_duplicate_outcome_instead_of_keeping_it_as_late(
    engine: Any, redis_client: Any, redis_server: Any
) -> None:
    """The same request answered twice (a relay retried after a lost reply): the second copy is
    dropped, not taken for a late outcome (which would be stored for collection)."""
    import redis as redis_py

    from tests.affinity.conftest import REDIS_PREFIX
    from zeebe_affinity_sync import protocol

    outcome = redis_client.create_process_instance_with_affinity("relay-first-redis", {"n": 9})
    key = outcome.process_instance_key
    store = redis_py.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        late_key = f"{REDIS_PREFIX}:instance-outcome:{key}"
        assert store.get(late_key) is None
        transport = redis_client._state.transport
        transport.publish_outcome(protocol.process_outcome(key, {"n": 9}, request_id=outcome.request_id), 5.0)
        # then a genuinely late outcome on the same reply channel (a request id of this process
        # nobody waits for): it is kept for collection, and its arrival proves the duplicate
        # before it was handled already (one channel, in order)
        marker = key + 1_000_000
        transport.publish_outcome(protocol.process_outcome(marker, {"late": True},
                                                           request_id=transport.new_request_id()), 5.0)
        wait_until(lambda: store.get(f"{REDIS_PREFIX}:instance-outcome:{marker}") is not None)
        assert store.get(late_key) is None
    finally:
        store.close()


def test_a_seed_style_relay_worker_answers_our_client_through_the_hub(
    engine: Any, hub: Any, helper_workers: None
) -> None:
    """A worker that speaks the seed's frames (REGISTER_WORKER, then PROCESS_OUTCOME without
    requestId: the request id only in ``variables._affinity_request_id``): the hub routes it by
    that variable, our client matches it and strips the variable."""
    import json

    import websocket

    from zeebe_affinity_sync.zeebe.types import Job
    from zeebe_affinity_sync.zeebe.worker import JobWorker

    task_type = "publish-outcome-seed"
    with ZeebeClient(engine.address) as plain:
        plain.deploy_resource(*[variant(p, "-seed", task_type) for p in BPMN_FILES])
    ws = websocket.create_connection(hub.url, timeout=10, header=[f"Authorization: Bearer {TOKEN}"])
    lock = threading.Lock()
    ws.send(json.dumps({"type": "REGISTER_WORKER"}))
    seed = JobWorker(gateway_address=engine.address, name="seed-relay", max_running_jobs=4)

    @seed.task(task_type)
    def relay(job: Job) -> None:
        with lock:
            ws.send(json.dumps({"type": "PROCESS_OUTCOME", "processInstanceKey": str(job.process_instance_key),
                                "variables": job.variables}))

    try:
        with seed, ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0) as client:
            for n in range(5):
                outcome = client.create_process_instance_with_affinity("relay-first-seed", {"n": n})
                assert outcome.variables == {"n": n} and outcome.request_id
    finally:
        ws.close()


def test_collecting_over_redis_leaves_no_channel_subscribed(
    flavour: Any, gates: Gates
) -> None:
    """get_outcome subscribes the instance channel (Redis) or key (hub) and lets it go once the
    outcome is there, whether it came over pub/sub or from storage."""
    name = unique("collect-clean")
    client = flavour.client
    with pytest.raises(AffinityTimeout) as info:
        client.create_process_instance_with_affinity(flavour.pid("gated"), {"gate": name}, timeout=0.3)
    key = info.value.process_instance_key
    other = flavour.make_client()
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(other.get_outcome, key, 30)  # waits: arrives over pub/sub / hub
        wait_until(lambda: other.pending_count == 1)
        gates.open(name)
        assert waiting.result(timeout=30).variables["passed"] == name
    replicas = [other]
    if flavour.name == "redis":  # stored under a key: any number of collectors (the hub: the first)
        third = flavour.make_client()
        assert third.get_outcome(key, timeout=5).variables["passed"] == name
        replicas.append(third)
    for replica in replicas:
        transport = replica._state.transport
        if flavour.name == "redis":
            wait_until(lambda: transport._channels == {})
        assert replica.watched_key_count == 0 and replica.pending_count == 0
