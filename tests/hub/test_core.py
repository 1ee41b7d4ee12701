"""Unit tests of the routing core and the held store, with plain peer objects (no sockets).

These sit beside the real-hub tests: they pin the exact routing rules and the subscribe /
outcome race quickly; the same rules are checked end to end through gunicorn in test_routing.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest

from zeebe_affinity_sync.errors import ConfigurationError
from zeebe_affinity_sync.hub.config import HubConfig
from zeebe_affinity_sync.hub.core import HubCore
from zeebe_affinity_sync.hub.held import HeldStore


class Peer:
    """A peer as the core sees it: a non-blocking queue (here: a list) that can refuse."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.frames: List[Dict[str, Any]] = []
        self.closed: Optional[Tuple[int, str]] = None
        self.aborted = False
        self.capacity = capacity
        self.lock = threading.Lock()

    def send(self, data: bytes, requeue: Any = None) -> bool:
        if self.closed or self.aborted:
            return False
        with self.lock:
            if len(self.frames) >= self.capacity:
                return False
            self.frames.append(json.loads(data.decode("utf-8")))
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def abort(self) -> None:
        self.aborted = True

    def take(self) -> List[Dict[str, Any]]:
        with self.lock:
            frames, self.frames = self.frames, []
        return frames


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outcome(key: str, request_id: Optional[str] = None, frame_id: Optional[str] = None,
            **variables: Any) -> str:
    frame: Dict[str, Any] = {"type": "PROCESS_OUTCOME", "processInstanceKey": key,
                             "variables": variables}
    if request_id:
        frame["requestId"] = request_id
    if frame_id:
        frame["id"] = frame_id
    return json.dumps(frame)


@pytest.fixture
def core():
    return HubCore(HubConfig(max_subscriptions=3, max_protocol_errors=2, max_held=2))


def test_targeted_routing_and_one_copy_per_connection(core):
    a, b, w = Peer(), Peer(), Peer()
    ca, cb, cw = core.open(a), core.open(b), core.open(w)
    core.receive(ca, json.dumps({"type": "SUBSCRIBE", "keys": ["r1", "100"]}))
    core.receive(cb, json.dumps({"type": "SUBSCRIBE", "keys": ["r2"]}))
    core.receive(cw, outcome("100", "r1", "f1", x=1))
    assert a.take() == [{"type": "PROCESS_OUTCOME", "processInstanceKey": "100",
                         "requestId": "r1", "variables": {"x": 1}}]
    assert b.take() == []
    assert w.take() == [{"type": "ACK", "id": "f1", "status": "delivered"}]


def test_broadcast_to_registered_clients_until_they_subscribe(core):
    seed, w = Peer(), Peer()
    cs, cw = core.open(seed), core.open(w)
    core.receive(cs, json.dumps({"type": "REGISTER_CLIENT"}))
    core.receive(cw, outcome("1"))
    assert [f["processInstanceKey"] for f in seed.take()] == ["1"]
    core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": ["mine"]}))
    core.receive(cw, outcome("2"))
    assert seed.take() == []  # a subscriber is no seed client any more


def test_broadcast_off():
    core = HubCore(HubConfig(broadcast=False))
    seed, w = Peer(), Peer()
    cs, cw = core.open(seed), core.open(w)
    core.receive(cs, json.dumps({"type": "REGISTER_CLIENT"}))
    core.receive(cw, outcome("1"))
    assert seed.take() == []


def test_held_until_subscribe_then_consumed_under_every_key(core):
    w, a, b = Peer(), Peer(), Peer()
    cw, ca, cb = core.open(w), core.open(a), core.open(b)
    core.receive(cw, outcome("100", "r1", "f1"))
    assert w.take() == [{"type": "ACK", "id": "f1", "status": "held"}]
    core.receive(ca, json.dumps({"type": "SUBSCRIBE", "keys": ["100"], "id": "s"}))
    frames = a.take()
    assert [f["type"] for f in frames] == ["PROCESS_OUTCOME", "ACK"]
    core.receive(cb, json.dumps({"type": "SUBSCRIBE", "keys": ["r1"], "id": "s"}))
    assert b.take() == [{"type": "ACK", "id": "s"}]


def test_full_store_refuses_with_error(core):
    w = Peer()
    cw = core.open(w)
    for i in range(3):
        core.receive(cw, outcome(str(i), frame_id=f"f{i}"))
    frames = w.take()
    assert [f.get("status") for f in frames[:2]] == ["held", "held"]
    assert frames[2]["type"] == "ERROR" and frames[2]["code"] == "hub-full"
    assert core.stats()["dropped"] == 1


def test_subscription_limit(core):
    p = Peer()
    c = core.open(p)
    core.receive(c, json.dumps({"type": "SUBSCRIBE", "keys": ["a", "b", "c", "d"], "id": "x"}))
    assert p.take()[0]["code"] == "too-many-subscriptions"
    assert core.stats()["subscriptions"] == 0


def test_bad_frames_then_close(core):
    p = Peer()
    c = core.open(p)
    core.receive(c, "nope")
    assert p.closed is None
    core.receive(c, '{"type": "WHAT"}')
    assert [f["code"] for f in p.take()] == ["bad-json", "unknown-type"]
    assert p.closed is not None and p.closed[0] == 1008


def test_close_forgets_everything(core):
    p = Peer()
    c = core.open(p)
    core.receive(c, json.dumps({"type": "REGISTER_CLIENT"}))
    core.receive(c, json.dumps({"type": "SUBSCRIBE", "keys": ["a", "b"]}))
    core.close(c)
    core.close(c)  # idempotent
    stats = core.stats()
    assert stats["connections"]["total"] == 0
    assert stats["subscriptions"] == 0 and stats["subscribedKeys"] == 0


def test_failed_delivery_is_held_again(core):
    gone, w, later = Peer(), Peer(), Peer()
    cg, cw, cl = core.open(gone), core.open(w), core.open(later)
    core.receive(cg, json.dumps({"type": "SUBSCRIBE", "keys": ["k"]}))
    gone.closed = (1006, "vanished")
    core.receive(cw, outcome("1", "k", "f"))
    assert w.take()[0]["status"] == "held"
    core.receive(cl, json.dumps({"type": "SUBSCRIBE", "keys": ["k"]}))
    assert [f["requestId"] for f in later.take()] == ["k"]


def test_subscribe_racing_outcomes_delivers_each_exactly_once():
    core = HubCore(HubConfig())
    n = 400
    subscriber, worker = Peer(), Peer()
    cs, cw = core.open(subscriber), core.open(worker)
    start = threading.Barrier(2)

    def subscribe() -> None:
        start.wait()
        for i in range(n):
            core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": [f"r{i}"]}))

    def send() -> None:
        start.wait()
        for i in range(n):
            core.receive(cw, outcome(str(i), f"r{i}", str(i)))

    threads = [threading.Thread(target=subscribe), threading.Thread(target=send)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = sorted(f["requestId"] for f in subscriber.take())
    assert got == sorted(f"r{i}" for i in range(n))
    assert core.stats()["held"] == 0


def test_held_store_ttl_and_bounds():
    clock = Clock()
    store = HeldStore(ttl=10, max_count=10, max_bytes=20, clock=clock)
    assert store.put(["a", "b"], "x" * 8)
    assert store.put(["c"], "y" * 8)
    assert not store.put(["d"], "z" * 8)  # 24 > 20 bytes
    clock.now += 11
    assert store.expire() == 2 and store.expired == 2
    assert len(store) == 0 and store.bytes == 0
    assert store.put(["a"], "1") and store.put(["a"], "2")
    assert [e.text for e in store.take(["a", "zzz"], keep=False)] == ["1", "2"]
    assert store.take(["a"], keep=False) == []


def test_held_store_check_out_and_back_in_keeps_expiry_order_and_indexes():
    clock = Clock()
    store = HeldStore(ttl=10, max_count=10, max_bytes=1000, clock=clock)
    store.put(["k"], "old", "d-old", awaiting_receipt=True)
    clock.now += 1
    store.put(["k"], "new", "d-new")
    old = store.pending()[0]
    assert store.check_out(old) and not store.check_out(old)  # out once
    assert [e.text for e in store.pending()] == ["new"] and store.get("d-old") is None
    store.check_in(old)  # the hand-over failed: back as the oldest, with its own expiry
    assert [e.text for e in store.pending()] == ["old", "new"] and store.get("d-old") is old
    assert store.bytes == 6
    clock.now += 9.5  # "old" is due, "new" is not
    assert store.expire() == 1 and [e.text for e in store.pending()] == ["new"]
    # under its key it is found again, oldest first (and only while it lives)
    store.check_in(old)  # expired meanwhile: not put back
    assert [e.text for e in store.take(["k"], keep=True)] == ["new"]


def test_held_store_counts_utf8_bytes_not_characters():
    store = HeldStore(ttl=10, max_count=10, max_bytes=10)
    assert store.put(["a"], "\u00e9" * 4)  # 4 characters, 8 bytes
    assert store.bytes == 8
    assert not store.put(["b"], "\u00e9\u00e9")  # 8 + 4 > 10
    assert store.put(["b"], "xy")


def test_held_store_keeps_receipt_entries_until_receipt_or_release():
    store = HeldStore(ttl=10, max_count=10, max_bytes=1000)
    store.put(["r1", "100"], "one", "d1")
    store.put(["r2"], "two", "d2")
    assert [e.delivery_id for e in store.take(["100"], keep=True)] == ["d1"]
    assert [e.delivery_id for e in store.take(["r1"], keep=True)] == ["d1"]  # again, same id
    assert store.receipt(["d1", "unknown"]) == 1
    assert store.take(["r1", "100"], keep=True) == []
    store.take(["r2"], keep=True)
    assert store.release(["r2"]) == 1 and len(store) == 0 and store.bytes == 0


def test_held_store_take_skips_expired_entries_not_yet_swept():
    clock = Clock()
    store = HeldStore(ttl=1, max_count=10, max_bytes=100, clock=clock)
    store.put(["k"], "old")
    clock.now += 2
    assert store.take(["k"], keep=False) == []
    assert store.expired == 1


@pytest.mark.parametrize("kwargs", [{"outcome_ttl": 0}, {"max_held": 0}, {"ping_interval": -1},
                                    {"redis_url": "http://x"}, {"max_frame_bytes": "big"}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ConfigurationError):
        HubConfig(**kwargs)


def test_config_from_env():
    config = HubConfig.from_env({"ZEEBE_AFFINITY_TOKEN": "a, b,a", "ZEEBE_AFFINITY_BROADCAST": "0",
                                 "ZEEBE_AFFINITY_OUTCOME_TTL": "5"})
    assert config.tokens == ("a", "b") and config.broadcast is False and config.outcome_ttl == 5.0
    with pytest.raises(ConfigurationError, match="ZEEBE_AFFINITY_OUTCOME_TTL"):
        HubConfig.from_env({"ZEEBE_AFFINITY_OUTCOME_TTL": "soon"})


def test_encode_ack_matches_the_builder():
    from zeebe_affinity_sync import protocol

    for frame_id, status in (("w-1", "delivered"), ('quo"te\n', None), ("ünï", "held")):
        expected = protocol.ack(frame_id, status=status) if status else protocol.ack(frame_id)
        assert json.loads(protocol.encode_ack(frame_id, status)) == expected


def test_capacity_warning_when_sockets_near_the_thread_count(caplog):
    core = HubCore(HubConfig(threads=4))
    conns = [core.open(Peer()) for _ in range(2)]
    assert "gunicorn threads" in caplog.text
    assert core.stats()["threadCapacity"] == 4
    for conn in conns:
        core.close(conn)


def test_a_failed_send_unregisters_the_connection_at_once(core):
    """The peer is gone: until its handler thread notices, no outcome may be aimed at it again."""
    gone, w = Peer(), Peer()
    cg, cw = core.open(gone), core.open(w)
    core.receive(cg, json.dumps({"type": "REGISTER_CLIENT"}))
    core.receive(cg, json.dumps({"type": "SUBSCRIBE", "keys": ["k", "k2"]}))
    gone.closed = (1006, "vanished")
    core.receive(cw, outcome("1", "k", "f"))
    assert w.take() == [{"type": "ACK", "id": "f", "status": "held"}]
    assert cg.closed
    stats = core.stats()
    assert stats["connections"]["total"] == 1 and stats["subscribedKeys"] == 0
    assert stats["sendFailures"] == 1
    core.receive(cw, outcome("2", "k2", "g"))
    assert w.take() == [{"type": "ACK", "id": "g", "status": "held"}]
    assert core.stats()["sendFailures"] == 1  # not tried again


def test_hello_role_counts_the_connection_without_broadcast(core):
    client, worker, w = Peer(), Peer(), Peer()
    cc, cw2, cw = core.open(client), core.open(worker), core.open(w)
    core.receive(cc, json.dumps({"type": "HELLO", "version": 1, "role": "client"}))
    core.receive(cw2, json.dumps({"type": "HELLO", "version": 1, "role": "worker"}))
    core.receive(cw, json.dumps({"type": "HELLO", "version": 1, "role": "hub"}))  # not a role
    stats = core.stats()
    assert stats["connections"]["client"] == 1 and stats["connections"]["worker"] == 1
    assert stats["connections"]["unregistered"] == 1 and stats["connections"]["broadcast"] == 0
    core.receive(cw, outcome("1"))
    assert client.take() == []  # a HELLO is no REGISTER_CLIENT: no broadcast copy


def test_a_hub_shutting_down_holds_nothing_more_and_does_not_ack_it():
    """A "held" ACK during shutdown would be a lie (the memory goes with the process): no ACK,
    the sender's connection is closed (1001) so it resends the outcome to the next hub."""
    core = HubCore(HubConfig())
    sub, w = Peer(), Peer()
    cs, cw = core.open(sub), core.open(w)
    core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": ["live"]}))
    core.shutdown()
    assert sub.closed[0] == 1001 and w.closed[0] == 1001
    w.closed = None  # a frame its handler thread read just before the close
    core.receive(cw, outcome("1", "nobody", "f1"))
    assert w.take() == []
    assert w.closed is not None and w.closed[0] == 1001
    assert core.stats()["held"] == 0 and core.stats()["outcomes"]["held"] == 0


def test_full_queue_drops_that_peer_only_and_the_ack_goes_out(core):
    stuck, owner, w = Peer(capacity=0), Peer(), Peer()
    cs, co, cw = core.open(stuck), core.open(owner), core.open(w)
    core.receive(cs, json.dumps({"type": "REGISTER_CLIENT"}))  # a broadcast peer that is full
    core.receive(co, json.dumps({"type": "SUBSCRIBE", "keys": ["r1"]}))
    core.receive(cw, outcome("100", "r1", "f1"))
    assert [f["requestId"] for f in owner.take()] == ["r1"]
    assert w.take() == [{"type": "ACK", "id": "f1", "status": "delivered"}]
    assert stuck.aborted and core.stats()["slowPeerDrops"] == 1
    assert core.stats()["connections"]["total"] == 2


def test_receipt_connection_gets_a_delivery_id_and_it_is_stored_until_receipt(core):
    sub, w, later = Peer(), Peer(), Peer()
    cs, cw, cl = core.open(sub), core.open(w), core.open(later)
    core.receive(cs, json.dumps({"type": "HELLO", "version": 1, "receipts": True}))
    core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": ["r1"]}))
    core.receive(cw, outcome("100", "r1", "f1", x=1))
    (frame,) = sub.take()
    assert frame["deliveryId"].startswith(core.hub_id)
    core.close(cs)
    core.receive(cl, json.dumps({"type": "HELLO", "version": 1, "receipts": True}))
    core.receive(cl, json.dumps({"type": "SUBSCRIBE", "keys": ["100"]}))
    assert [f["deliveryId"] for f in later.take()] == [frame["deliveryId"]]
    core.receive(cl, json.dumps({"type": "RECEIPT", "deliveryIds": [frame["deliveryId"]]}))
    assert core.stats()["held"] == 0


def test_register_worker_keeps_the_broadcast_only_subscribe_ends_it(core):
    seed, w = Peer(), Peer()
    cs, cw = core.open(seed), core.open(w)
    core.receive(cs, json.dumps({"type": "REGISTER_CLIENT"}))
    core.receive(cs, json.dumps({"type": "REGISTER_WORKER"}))
    core.receive(cw, outcome("1"))
    assert len(seed.take()) == 1
    core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": ["x"]}))
    core.receive(cw, outcome("2"))
    assert seed.take() == []


def test_seed_outcome_routes_by_the_reserved_variable(core):
    owner, w = Peer(), Peer()
    co, cw = core.open(owner), core.open(w)
    core.receive(co, json.dumps({"type": "SUBSCRIBE", "keys": ["req-9"]}))
    core.receive(cw, json.dumps({"type": "PROCESS_OUTCOME", "processInstanceKey": "9",
                                 "variables": {"_affinity_request_id": "req-9"}}))
    assert [f["processInstanceKey"] for f in owner.take()] == ["9"]


def test_full_store_evicts_outcomes_awaiting_a_receipt_before_refusing_new_ones():
    store = HeldStore(ttl=10, max_count=2, max_bytes=1000)
    store.put(["a"], "one", "d1", awaiting_receipt=True)
    store.put(["b"], "two", "d2")
    assert store.put(["c"], "three", "d3")  # d1 (handed over once already) makes room
    assert store.get("d1") is None and store.evicted == 1
    assert not store.put(["d"], "four", "d4")  # only never-delivered ones left: refused


def test_new_settings_from_env_and_their_checks():
    config = HubConfig.from_env({"ZEEBE_AFFINITY_ALLOW_QUERY_TOKEN": "1",
                                 "ZEEBE_AFFINITY_PROTECT_STATS": "yes",
                                 "ZEEBE_AFFINITY_HEADER_TIMEOUT": "2.5",
                                 "ZEEBE_AFFINITY_SEND_TIMEOUT": "3",
                                 "ZEEBE_AFFINITY_SEND_BUFFER": "0"})
    assert config.allow_query_token and config.protect_stats
    assert config.send_buffer_bytes == 0 and HubConfig().send_buffer_bytes == 128 * 1024
    with pytest.raises(ConfigurationError, match="send_buffer_bytes"):
        HubConfig(send_buffer_bytes=-1)
    with pytest.raises(ConfigurationError, match="ZEEBE_AFFINITY_SEND_BUFFER"):
        HubConfig.from_env({"ZEEBE_AFFINITY_SEND_BUFFER": "lots"})
    assert config.header_timeout == 2.5 and config.send_timeout == 3.0
    assert not HubConfig().allow_query_token and not HubConfig().protect_stats
    with pytest.raises(ConfigurationError, match="ZEEBE_AFFINITY_PROTECT_STATS"):
        HubConfig.from_env({"ZEEBE_AFFINITY_PROTECT_STATS": "maybe"})
    with pytest.raises(ConfigurationError, match="outbound_queue_bytes"):
        HubConfig(outbound_queue_bytes=10, max_frame_bytes=100)
    with pytest.raises(ConfigurationError, match="header_timeout"):
        HubConfig(header_timeout=0)


class RawPeer(Peer):
    """Keeps the frames' text as sent (Peer keeps them decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: List[str] = []

    def send(self, data: bytes, requeue: Any = None) -> bool:
        self.texts.append(data.decode("utf-8"))
        return super().send(data, requeue)


@pytest.mark.parametrize("text, frame_id, expected", [
    ('{"type":"PROCESS_OUTCOME","processInstanceKey":"1","id":"w1"}', "w1",
     '{"type":"PROCESS_OUTCOME","processInstanceKey":"1"}'),
    ('{"type":"PROCESS_OUTCOME","processInstanceKey":"1","id":"q\\"\\\\"}', 'q"\\',
     '{"type":"PROCESS_OUTCOME","processInstanceKey":"1"}'),
    ('{"type": "PROCESS_OUTCOME", "processInstanceKey": "1", "id": "w1"}', "w1", None),  # spaced
    ('{"type":"PROCESS_OUTCOME","processInstanceKey":"1","id":7}', "7", None),  # numeric id
    ('{"type":"PROCESS_OUTCOME","id":"w1","processInstanceKey":"1"}', "w1", None),  # not last
    ('{"type":"PROCESS_OUTCOME","variables":{"id":"x"},"processInstanceKey":"1","id":"w1"}', "w1",
     None),  # another "id" (nested): never guessed at
    ('{"type":"PROCESS_OUTCOME","processInstanceKey":"1","id":"w1"} ', "w1", None),  # trailing space
])
def test_without_trailing_id_cuts_only_a_last_compact_id(text, frame_id, expected):
    from zeebe_affinity_sync import protocol

    assert protocol.without_trailing_id(text, frame_id) == expected
    if expected is not None:
        decoded = json.loads(text)
        del decoded["id"]
        assert json.loads(expected) == decoded


def test_outcome_is_delivered_as_sent_minus_its_id_cut_or_re_encoded(core):
    from zeebe_affinity_sync import protocol

    sub, w = RawPeer(), Peer()
    cs, cw = core.open(sub), core.open(w)
    core.receive(cs, json.dumps({"type": "HELLO", "version": 1, "receipts": True}))
    core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": ["10", "11", "12"]}))
    compact = '{"type":"PROCESS_OUTCOME","processInstanceKey":"10","variables":{"a":[1,2.5,"\u00e9"]},"id":"w1"}'
    core.receive(cw, compact)
    nested = {"type": "PROCESS_OUTCOME", "processInstanceKey": "11", "variables": {"id": "inner"}, "id": "w2"}
    core.receive(cw, json.dumps(nested, separators=(",", ":")))
    core.receive(cw, '{"type":"PROCESS_OUTCOME","processInstanceKey":12,"id":"w3"}')  # lenient
    first, second, third = sub.texts
    # the cut: byte for byte what was sent, minus the id, plus the deliveryId
    assert first.startswith(compact[:-len(',"id":"w1"}')] + ',"deliveryId":')
    assert third.startswith('{"type":"PROCESS_OUTCOME","processInstanceKey":12,"deliveryId":')
    # another "id" in the text: the decoded frame re-encoded, the nested "id" kept
    delivered = json.loads(second)
    del delivered["deliveryId"]
    assert delivered == {k: v for k, v in nested.items() if k != "id"}
    assert all("id" not in f and f["deliveryId"] for f in sub.frames)
    # what a receiver decodes is the same either way (missing variables mean {})
    assert [protocol.decode(t)["variables"] for t in sub.texts] == [{"a": [1, 2.5, "\u00e9"]}, {"id": "inner"}, {}]
    assert protocol.decode(third)["processInstanceKey"] == "12"
    assert [f["status"] for f in w.frames] == ["delivered"] * 3


def test_protocol_loads_agrees_with_json_loads():
    from zeebe_affinity_sync import protocol

    for text in ['{"a":1}', ' \t{"a":1}\r\n', '{"a":1} x', "", " ", "\ufeff{}", "[1]", '{"a":1}{}',
                 '{"a":1}\u00a0']:
        try:
            expected: Any = json.loads(text)
        except json.JSONDecodeError:
            expected = json.JSONDecodeError
        try:
            got: Any = protocol._loads(text)
        except json.JSONDecodeError:
            got = json.JSONDecodeError
        assert got == expected, text


def test_held_store_many_entries_under_one_key_and_duplicate_keys():
    store = HeldStore(ttl=10, max_count=10, max_bytes=1000)
    for n in range(3):
        store.put(["k", f"own-{n}", "k"], f"t{n}", f"d{n}")  # "k" twice: stored once
    assert [e.keys for e in store.take(["own-1"], keep=True)] == [("k", "own-1")]
    assert store.receipt(["d1"]) == 1
    assert [e.text for e in store.take(["k"], keep=True)] == ["t0", "t2"]
    assert store.receipt(["d0"]) == 1
    assert [e.text for e in store.take(["k", "own-2"], keep=True)] == ["t2"]
    assert store.release(["k"]) == 1
    assert len(store) == 0 and store.bytes == 0 and store.take(["k", "own-0"], keep=False) == []


def test_held_store_expires_on_time_after_its_oldest_entry_was_receipted():
    clock = Clock()
    store = HeldStore(ttl=10, max_count=10, max_bytes=1000, clock=clock)
    store.put(["a"], "one", "d1")
    clock.now += 5
    store.put(["b"], "two", "d2")  # expires at +15
    store.receipt(["d1"])
    clock.now += 7  # +12: past the first entry's expiry, not the second's
    store.put(["c"], "three", "d3")
    assert len(store) == 2 and store.expired == 0
    clock.now += 4  # +16
    store.put(["d"], "four", "d4")
    assert store.expired == 1 and [e.text for e in store.take(["b", "c", "d"], keep=False)] == ["three", "four"]
