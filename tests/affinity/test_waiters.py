"""Unit tests of the waiter registry and the deadline watcher (no network: plain threads)."""
from __future__ import annotations

import threading
from typing import List

import pytest

from zeebe_affinity_sync.affinity.outcome import ProcessOutcome, strip_reserved
from zeebe_affinity_sync.affinity.waiters import DeadlineWatcher, Waiter, WaiterRegistry
from zeebe_affinity_sync.errors import AffinityOverloaded
from zeebe_affinity_sync import protocol


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outcome(key: int, **variables: object) -> ProcessOutcome:
    return ProcessOutcome(key, dict(variables))


def test_deliver_wakes_only_the_waiter_of_the_key() -> None:
    registry = WaiterRegistry(10)
    a = registry.register(["req-a"])
    b = registry.register(["req-b"])
    woken = registry.deliver(outcome(1, n=1), ["req-a", "1"])
    assert woken == [a]
    assert a.event.is_set() and a.outcome == outcome(1, n=1)
    assert not b.event.is_set() and b.outcome is None
    assert registry.pending_count == 1
    assert registry.pending_keys() == ["req-b"]


def test_cancel_after_delivery_reports_the_outcome_is_there() -> None:
    registry = WaiterRegistry(10)
    waiter = registry.register(["r"])
    registry.deliver(outcome(5), ["r", "5"])
    assert registry.cancel(waiter) is False
    assert waiter.outcome is not None and waiter.outcome.process_instance_key == 5
    assert registry.pending_count == 0 and registry.key_count == 0


def test_cancelled_waiter_is_gone_and_a_late_outcome_is_kept_for_collection() -> None:
    clock = FakeClock()
    registry = WaiterRegistry(10, collect_ttl=60.0, clock=clock)
    waiter = registry.register(["r"])
    assert registry.cancel(waiter) is True
    assert registry.cancel(waiter) is False  # idempotent
    assert registry.deliver(outcome(7, x=1), ["r", "7"]) == []
    assert not waiter.event.is_set()
    assert registry.take_late("7") == outcome(7, x=1)
    assert registry.take_late("r") == outcome(7, x=1)
    clock.now += 61
    assert registry.take_late("7") is None
    assert registry.late_count == 0


def test_late_outcomes_are_bounded_oldest_first() -> None:
    registry = WaiterRegistry(10, max_collected=3)
    for key in range(5):
        registry.deliver(outcome(key), [str(key)])
    assert registry.late_count == 3
    assert registry.take_late("0") is None and registry.take_late("1") is None
    assert registry.take_late("4") == outcome(4)


def test_admission_control_fails_fast_and_frees_slots() -> None:
    registry = WaiterRegistry(2, retry_after=2.5)
    first = registry.register(["a"])
    registry.register(["b"])
    with pytest.raises(AffinityOverloaded) as info:
        registry.register(["c"])
    assert info.value.retry_after == 2.5
    assert "max_pending=2" in str(info.value)
    registry.cancel(first)
    registry.register(["c"])  # a slot is free again
    assert registry.pending_count == 2


def test_bad_max_pending_is_refused() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        WaiterRegistry(0)


def test_two_waiters_on_one_key_both_get_the_outcome() -> None:
    registry = WaiterRegistry(10)
    a = registry.register(["42"])
    b = registry.register(["42"])
    assert set(map(id, registry.deliver(outcome(42), ["req", "42"]))) == {id(a), id(b)}
    assert registry.pending_count == 0 and registry.key_count == 0


def test_fail_all_wakes_everybody_with_the_error() -> None:
    registry = WaiterRegistry(10)
    waiters = [registry.register([f"k{i}"]) for i in range(3)]
    error = RuntimeError("closed")
    assert len(registry.fail_all(error)) == 3
    assert all(w.event.is_set() and w.error is error for w in waiters)
    assert registry.pending_count == 0


def test_many_threads_each_get_their_own_outcome_and_nothing_leaks() -> None:
    registry = WaiterRegistry(1000)
    results: List[object] = [None] * 200
    barrier = threading.Barrier(201)

    def request(i: int) -> None:
        waiter = registry.register([f"req-{i}"])
        barrier.wait()
        assert waiter.event.wait(30)
        results[i] = waiter.outcome

    threads = [threading.Thread(target=request, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    barrier.wait()
    for i in reversed(range(200)):
        registry.deliver(outcome(i, n=i), [f"req-{i}", str(i)])
    for t in threads:
        t.join(30)
    assert [r.variables["n"] for r in results] == list(range(200))  # type: ignore[union-attr]
    assert registry.pending_count == 0 and registry.key_count == 0 and registry.late_count == 0


def test_deadline_watcher_expires_only_pending_waiters() -> None:
    registry = WaiterRegistry(10)
    expired: List[Waiter] = []
    done = threading.Event()

    def on_expired(waiter: Waiter) -> None:
        if registry.cancel(waiter):
            expired.append(waiter)
        if len(expired) == 1:
            done.set()

    watcher = DeadlineWatcher(on_expired, name="test-deadlines")
    watcher.start()
    try:
        import time

        answered = registry.register(["a"], deadline=time.monotonic() + 0.05)
        silent = registry.register(["b"], deadline=time.monotonic() + 0.1)
        watcher.watch(silent)
        watcher.watch(answered)
        registry.deliver(outcome(1), ["a"])
        assert done.wait(10)
        assert expired == [silent]
        assert registry.pending_count == 0
    finally:
        watcher.stop()
        watcher.join(5)


def test_outcome_from_frame_strips_reserved_variables() -> None:
    frame = protocol.decode(protocol.encode(protocol.process_outcome(
        "12", {"a": 1, protocol.REQUEST_ID_VARIABLE: "x"}, request_id="x", status="error")))
    result = ProcessOutcome.from_frame(frame)
    assert result == ProcessOutcome(12, {"a": 1}, "error", "x")
    assert result.failed
    assert strip_reserved(None) == {}


def test_deadline_watcher_does_not_keep_answered_waiters() -> None:
    import time

    registry = WaiterRegistry(5000)
    watcher = DeadlineWatcher(lambda w: None, name="test-compact")  # never started: no expiry
    far = time.monotonic() + 3600
    for i in range(3000):
        waiter = registry.register([f"k{i}"], deadline=far)
        watcher.watch(waiter)
        registry.deliver(outcome(i), [f"k{i}"])
    assert watcher.watched_count < 1100  # answered waiters were dropped, not kept for an hour


def test_a_closed_registry_fails_the_pending_keyless_waiters_and_refuses_new_ones() -> None:
    from zeebe_affinity_sync.errors import AffinityUnavailable

    registry = WaiterRegistry(4)
    keyed = registry.register(["r-1"])
    keyless = registry.register([])  # a with_result + cb= call: counted, no key
    assert registry.pending_count == 2
    failed = registry.close(AffinityUnavailable("closing"))
    assert {id(w) for w in failed} == {id(keyed), id(keyless)}
    assert keyed.event.is_set() and keyless.event.is_set() and registry.pending_count == 0
    with pytest.raises(AffinityUnavailable, match="closing"):
        registry.register(["r-2"])


def test_a_stopped_deadline_watcher_says_so_instead_of_dropping_the_waiter() -> None:
    watcher = DeadlineWatcher(lambda w: None, name="test-deadlines")
    watcher.start()
    waiter = Waiter(("k",), deadline=0.0)
    watcher.stop()
    watcher.join(5)
    assert watcher.watch(waiter) is False


def test_seed_outcomes_are_keyed_by_the_request_id_in_their_variables() -> None:
    from zeebe_affinity_sync.affinity.outcome import outcome_keys

    seed = {"type": "PROCESS_OUTCOME", "processInstanceKey": "12",
            "variables": {protocol.REQUEST_ID_VARIABLE: "req-9", "a": 1}}
    assert outcome_keys(seed) == ["req-9", "12"]
    outcome = ProcessOutcome.from_frame(seed)
    assert outcome.request_id == "req-9" and outcome.variables == {"a": 1}
    ours = dict(seed, requestId="req-1")
    assert outcome_keys(ours) == ["req-1", "12"]  # requestId wins when both are there


def test_seen_set_is_bounded_and_forgets_after_its_ttl() -> None:
    from zeebe_affinity_sync.affinity.transport import SeenSet

    now = [0.0]
    seen = SeenSet(3, ttl=10.0, clock=lambda: now[0])
    assert seen.add("a") and not seen.add("a")
    for name in ("b", "c", "d"):
        seen.add(name)
    assert "a" not in seen and len(seen) == 3  # count bound: oldest first
    now[0] = 11.0
    assert "d" not in seen and len(seen) == 0


def test_unencodable_text_is_found_with_its_path() -> None:
    from zeebe_affinity_sync.affinity.checks import unencodable_path

    assert unencodable_path({"a": [1, {"b": "ok"}, "x\ud800"]}) == "a[2]"
    assert unencodable_path({"\udfff": 1}) == "\udfff (its name)"
    assert unencodable_path({"a": "héllo ☃ 🙂"}) is None
    deep: dict = {}
    node = deep
    for _ in range(600):
        node["n"] = {}
        node = node["n"]
    assert unencodable_path(deep).endswith("(too deep)")
