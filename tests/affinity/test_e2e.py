"""End-to-end: real EmbeddedZeebe, real hub under gunicorn, real redis-server; every test runs over
both transports (the ``flavour`` fixture)."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import pytest

from tests.affinity.conftest import CARD_LIMIT, Flavour, Gates, unique
from tests.support.net import wait_until
from zeebe_affinity_sync import protocol
from zeebe_affinity_sync.affinity.outcome import ProcessOutcome
from zeebe_affinity_sync.errors import AffinityOverloaded, AffinityTimeout, ProcessFailed
from zeebe_affinity_sync.zeebe.types import ProcessInstance


def test_100_threads_1000_requests_each_get_their_own_outcome(flavour: Flavour) -> None:
    client = flavour.client
    process = flavour.pid("compute")

    def one(n: int) -> None:
        token = uuid.uuid4().hex
        outcome = client.create_process_instance_with_affinity(process, {"n": n, "token": token})
        assert isinstance(outcome, ProcessOutcome)
        assert outcome.variables == {"n": n, "token": token, "square": n * n}

    with ThreadPoolExecutor(max_workers=100) as pool:
        for future in [pool.submit(one, n) for n in range(1000)]:
            future.result()
    assert client.pending_count == 0
    assert client.watched_key_count == 0
    if flavour.name == "hub":  # and the hub forgets every subscription of the run
        import requests

        hub = flavour.hub
        wait_until(lambda: requests.get(hub.http_url + "/stats", timeout=5).json()["subscriptions"] == 0,
                   timeout=10)


def test_relay_task_first_outcome_exists_before_the_instance_is_even_returned(
    flavour: Flavour, engine: Any
) -> None:
    """The seed's race made deterministic: the instance has *completed* (so its outcome was
    handed over and acknowledged) before CreateProcessInstance returns to the caller."""
    client = flavour.client
    create = client.create_process_instance
    seen: List[int] = []

    def create_then_wait_for_completion(*args: Any, **kwargs: Any) -> ProcessInstance:
        instance = create(*args, **kwargs)
        key = instance.process_instance_key
        wait_until(lambda: (engine.process_instance(key) or {}).get("state") == "COMPLETED", timeout=30)
        seen.append(key)
        return instance

    client.create_process_instance = create_then_wait_for_completion
    for n in range(3):
        outcome = client.create_process_instance_with_affinity(flavour.pid("relay-first"), {"n": n}, timeout=30)
        assert outcome.variables == {"n": n}
        assert outcome.process_instance_key == seen[-1]
    assert client.pending_count == 0


def test_chat_loop_over_rounds_with_a_timed_out_round(flavour: Flavour, gates: Gates) -> None:
    client = flavour.client
    conversation = unique("chat")
    first = client.create_process_instance_with_affinity(
        flavour.pid("chat"), {"correlationKey": conversation, "text": "hello"}
    )
    assert first.variables["answer"] == "you said hello"
    key = first.process_instance_key

    def say(text: str, timeout: float = 30.0) -> ProcessOutcome:
        return client.publish_message_with_affinity(
            "chat-message", conversation, key, {"text": text}, timeout=timeout
        )

    assert say("one").variables["answer"] == "you said one"
    slow = unique("slow")
    with pytest.raises(AffinityTimeout) as info:
        say(slow, timeout=0.5)
    assert info.value.process_instance_key == key
    assert f"get_outcome({key})" in str(info.value)
    assert gates.reached(slow)
    assert client.pending_count == 0  # the timed-out wait is gone
    # the next round is published while the slow one still runs: its message waits in the
    # buffer, and the slow round's late outcome must not answer it
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(say, "two")
        gates.open(slow)
        assert later.result(timeout=60).variables["answer"] == "you said two"
    assert say("three").variables["answer"] == "you said three"
    # the late outcome of the timed-out round can still be collected, from another replica
    other = flavour.make_client()
    collected = other.get_outcome(key, timeout=30)
    assert collected.variables["answer"] == f"you said {slow}"
    final = say("bye")
    assert final.variables["chatFinished"] is True
    assert protocol.REQUEST_ID_VARIABLE not in final.variables
    assert client.pending_count == 0 and client.watched_key_count == 0


def test_relay_task_inside_a_call_activity_answers_the_parent_request(flavour: Flavour) -> None:
    instance_holder: List[ProcessInstance] = []
    arrived = threading.Event()
    got: List[ProcessOutcome] = []

    def on_outcome(outcome: ProcessOutcome) -> None:
        got.append(outcome)
        arrived.set()

    started = flavour.client.create_process_instance_with_affinity(
        flavour.pid("parent-call"), {"n": 12}, cb=on_outcome
    )
    assert isinstance(started, ProcessInstance)
    instance_holder.append(started)
    assert arrived.wait(30)
    outcome = got[0]
    assert outcome.variables == {"n": 12, "square": 144}
    # the relay task ran in the child instance: its key is the child's, not the parent's
    assert outcome.process_instance_key != started.process_instance_key
    blocking = flavour.client.create_process_instance_with_affinity(flavour.pid("parent-call"), {"n": 3})
    assert blocking.variables["square"] == 9


def test_failure_outcome_raises_process_failed_with_the_variables(flavour: Flavour) -> None:
    client = flavour.client
    ok = client.create_process_instance_with_affinity(flavour.pid("charge-order"), {"amount": CARD_LIMIT})
    assert ok.variables["charged"] == CARD_LIMIT
    with pytest.raises(ProcessFailed) as info:
        client.create_process_instance_with_affinity(flavour.pid("charge-order"), {"amount": CARD_LIMIT + 1})
    assert info.value.variables["amount"] == CARD_LIMIT + 1
    assert info.value.variables["reason"] == f"limit is {CARD_LIMIT}"
    assert info.value.process_instance_key is not None
    assert client.pending_count == 0


def test_admission_control_fails_fast_and_recovers(flavour: Flavour, gates: Gates) -> None:
    client = flavour.make_client(max_pending=2, retry_after=3.0)
    names = [unique("admit"), unique("admit")]
    outcomes: Dict[str, ProcessOutcome] = {}
    done = threading.Semaphore(0)

    def keep(outcome: ProcessOutcome) -> None:
        outcomes[outcome.variables["gate"]] = outcome
        done.release()

    for name in names:
        client.create_process_instance_with_affinity(flavour.pid("gated"), {"gate": name}, cb=keep)
    assert client.pending_count == 2
    with pytest.raises(AffinityOverloaded) as info:
        client.create_process_instance_with_affinity(flavour.pid("gated"), {"gate": "never"})
    assert info.value.retry_after == 3.0
    for name in names:
        gates.open(name)
    for _ in names:
        assert done.acquire(timeout=30)
    assert sorted(outcomes) == sorted(names)
    assert all(outcomes[n].variables["passed"] == n for n in names)
    wait_until(lambda: client.pending_count == 0, timeout=10)
    extra = unique("admit")
    gates.open(extra)
    assert client.create_process_instance_with_affinity(flavour.pid("gated"), {"gate": extra}).variables["passed"] == extra


def test_timeout_then_collect_later_from_another_replica(flavour: Flavour, gates: Gates) -> None:
    client = flavour.client
    name = unique("late")
    with pytest.raises(AffinityTimeout) as info:
        client.create_process_instance_with_affinity(flavour.pid("gated"), {"gate": name}, timeout=0.3)
    key = info.value.process_instance_key
    assert isinstance(key, int)
    assert client.pending_count == 0 and client.watched_key_count == 0
    replica = flavour.make_client()
    with ThreadPoolExecutor(max_workers=1) as pool:
        collector = pool.submit(replica.get_outcome, key, 30)
        gates.open(name)
        collected = collector.result(timeout=60)
    assert collected.process_instance_key == key
    assert collected.variables == {"gate": name, "passed": name}
    # once it has arrived it can be collected again (kept for the collect TTL)
    assert replica.get_outcome(key, timeout=5).variables["passed"] == name
    with pytest.raises(AffinityTimeout):
        replica.get_outcome(1, timeout=0.2)
    assert replica.pending_count == 0 and replica.watched_key_count == 0


def test_collect_with_zero_timeout_returns_an_outcome_already_kept(
    flavour: Flavour, gates: Gates, engine: Any
) -> None:
    name = unique("kept")
    with pytest.raises(AffinityTimeout) as info:
        flavour.client.create_process_instance_with_affinity(flavour.pid("gated"), {"gate": name}, timeout=0.3)
    key = info.value.process_instance_key
    assert isinstance(key, int)
    gates.open(name)
    wait_until(lambda: (engine.process_instance(key) or {}).get("state") == "COMPLETED", timeout=30)
    poller = flavour.make_client()  # a replica that never saw this request
    found: List[ProcessOutcome] = []

    def poll() -> bool:  # what a "202 Accepted, poll this URL" endpoint does
        try:
            found.append(poller.get_outcome(key, timeout=0))
        except AffinityTimeout:
            return False  # the requester may still be handing it back: poll again
        return True

    wait_until(poll, timeout=30, interval=0.05)
    assert found[0].variables == {"gate": name, "passed": name}
    assert poller.pending_count == 0


def test_callback_style_gets_outcome_or_timeout_error(flavour: Flavour, gates: Gates) -> None:
    client = flavour.client
    outcomes: List[ProcessOutcome] = []
    errors: List[BaseException] = []
    both = threading.Semaphore(0)
    callback_threads: List[str] = []

    def on_outcome(outcome: ProcessOutcome) -> None:
        callback_threads.append(threading.current_thread().name)
        outcomes.append(outcome)
        both.release()

    def on_error(error: BaseException) -> None:
        errors.append(error)
        both.release()

    client.create_process_instance_with_affinity(flavour.pid("relay-first"), {"n": 5}, cb=on_outcome, on_error=on_error)
    stuck = unique("never-opened")
    started = client.create_process_instance_with_affinity(
        flavour.pid("gated"), {"gate": stuck}, timeout=0.3, cb=on_outcome, on_error=on_error
    )
    assert both.acquire(timeout=30) and both.acquire(timeout=30)
    assert [o.variables for o in outcomes] == [{"n": 5}]
    assert callback_threads[0].startswith("zeebe-affinity-cb")
    assert len(errors) == 1 and isinstance(errors[0], AffinityTimeout)
    assert errors[0].process_instance_key == started.process_instance_key  # type: ignore[union-attr]
    assert client.pending_count == 0
    gates.open(stuck)  # let the instance finish


def test_outcome_of_a_requester_that_went_away_is_collected_elsewhere(
    flavour: Flavour, gates: Gates, engine: Any
) -> None:
    requester = flavour.make_client()
    name = unique("gone")
    started = requester.create_process_instance_with_affinity(
        flavour.pid("gated"), {"gate": name}, cb=lambda outcome: None
    )
    assert gates.reached(name)
    requester.close()  # the web process died with the request in flight
    gates.open(name)
    key = started.process_instance_key
    # completed = handed over: kept by the hub / stored in Redis, as nobody listened for it
    wait_until(lambda: (engine.process_instance(key) or {}).get("state") == "COMPLETED", timeout=30)
    replica = flavour.make_client()
    assert replica.get_outcome(key, timeout=30).variables == {"gate": name, "passed": name}
