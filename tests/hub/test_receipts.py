"""At-least-once delivery (contract C1) through a real hub, with raw websocket clients.

A client whose HELLO says ``"receipts": true`` gets each outcome with a ``deliveryId``; the hub
keeps it until a RECEIPT (from any connection), an UNSUBSCRIBE of its key, or the TTL. Seed
clients (no receipts) keep "handed over once".
"""
from __future__ import annotations

import json
import socket
from typing import Any, Callable, Iterator, List, Tuple

import pytest
import redis

from tests.hub.conftest import TOKEN, Client, unique
from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess
from zeebe_affinity_sync.hub.config import HubConfig
from zeebe_affinity_sync.hub.core import HubCore
from zeebe_affinity_sync.hub.redis_bridge import RedisBridge


class FramePeer:
    """A peer as the routing core sees it, for the in-process test: keeps what it is sent."""

    def __init__(self) -> None:
        self.frames: List[Any] = []

    def send(self, data: bytes, requeue: Any = None) -> bool:
        self.frames.append(json.loads(data))
        return True

    def close(self, code: int, reason: str) -> None:
        pass

    def abort(self) -> None:
        pass


@pytest.fixture
def receipt_client(connect) -> Callable[[HubProcess], Client]:
    """``receipt_client(hub)``: a connection whose HELLO asks for receipts (closed after)."""

    def _open(hub: HubProcess) -> Client:
        client = connect(hub)
        client.send({"type": "HELLO", "version": 1, "role": "client", "receipts": True})
        return client

    return _open


def cut(client: Client) -> None:
    """Drop the connection without reading what the hub has written (no close handshake)."""
    client.ws.sock.shutdown(socket.SHUT_RDWR)
    client.ws.shutdown()


def test_hub_hello_advertises_receipts(main_hub, connect):
    assert connect(main_hub).hello["receipts"] is True


def test_outcome_written_but_never_read_comes_again_after_reconnect(main_hub, connect, receipt_client):
    key = unique("cut")
    client = receipt_client(main_hub)
    client.subscribe(key)
    worker = connect(main_hub)
    worker.outcome("2251799813690001", {"n": 1}, request_id=key, frame_id="w1")
    assert worker.recv() == {"type": "ACK", "id": "w1", "status": "delivered"}
    cut(client)  # the hub wrote it (ACK delivered), the client never read it
    again = receipt_client(main_hub)
    first = again.subscribe(key)
    assert [f["variables"] for f in first] == [{"n": 1}]
    delivery_id = first[0]["deliveryId"]
    # Still stored until the receipt: a second re-subscribe gets it again, same delivery id.
    assert [f["deliveryId"] for f in receipt_client(main_hub).subscribe(key)] == [delivery_id]
    again.send({"type": "RECEIPT", "deliveryIds": [delivery_id]})
    again.fence()  # the RECEIPT is handled before this fence's ACK
    assert receipt_client(main_hub).subscribe(key) == []


def test_live_delivery_carries_the_delivery_id_and_receipt_from_another_connection(
        main_hub, connect, receipt_client):
    key = unique("live")
    client = receipt_client(main_hub)
    client.subscribe(key)
    worker = connect(main_hub)
    worker.outcome("2251799813690002", {"n": 2}, request_id=key, frame_id="w2")
    assert worker.recv()["status"] == "delivered"
    frame = client.recv()
    assert frame["deliveryId"] and frame["requestId"] == key and "id" not in frame
    other = receipt_client(main_hub)
    other.send({"type": "RECEIPT", "deliveryIds": [frame["deliveryId"], "unknown-id"]})
    other.fence()
    assert receipt_client(main_hub).subscribe(key) == []
    assert main_hub.stats()["receipts"] >= 2


def test_unsubscribe_releases_what_awaits_a_receipt(main_hub, connect, receipt_client):
    key = unique("unsub")
    client = receipt_client(main_hub)
    client.subscribe(key)
    worker = connect(main_hub)
    worker.outcome("2251799813690003", {}, request_id=key, frame_id="w3")
    worker.recv()
    client.recv()
    client.send({"type": "UNSUBSCRIBE", "keys": [key], "id": "u"})
    assert client.recv() == {"type": "ACK", "id": "u"}
    assert receipt_client(main_hub).subscribe(key) == []


def test_seed_subscriber_still_gets_each_outcome_once(main_hub, connect):
    key = unique("seed")
    worker = connect(main_hub)
    worker.outcome("2251799813690004", {}, request_id=key, frame_id="w4")
    assert worker.recv()["status"] == "held"
    handed = connect(main_hub).subscribe(key)
    assert len(handed) == 1 and "deliveryId" not in handed[0]
    assert connect(main_hub).subscribe(key) == []


def test_bad_receipt_frames_are_refused(main_hub, connect):
    client = connect(main_hub)
    client.send({"type": "RECEIPT", "deliveryIds": []})
    assert client.recv()["code"] == "bad-frame"
    client.send({"type": "RECEIPT", "deliveryIds": ["x"] * 1001})
    assert client.recv()["code"] == "bad-frame"


def test_a_batched_receipt_confirms_many_and_a_malformed_batch_loses_nothing(
        main_hub, connect, receipt_client):
    """Our client confirms in batches: one RECEIPT names many outcomes. A batch with one bad id
    is refused whole (ERROR bad-frame saying what a valid one looks like) and removes nothing:
    a re-subscribe still gets every outcome; the corrected batch then removes them all."""
    keys = [unique("batch") for _ in range(5)]
    client = receipt_client(main_hub)
    client.subscribe(*keys)
    worker = connect(main_hub)
    for n, key in enumerate(keys):
        # written as our relay worker writes it: compact, the id last
        worker.send_text('{"type":"PROCESS_OUTCOME","processInstanceKey":"22517998136%05d",'
                         '"variables":{"n":%d},"requestId":"%s","id":"b%d"}' % (n, n, key, n))
    assert [worker.recv()["status"] for _ in keys] == ["delivered"] * 5
    got = [client.recv() for _ in keys]
    assert [f["variables"]["n"] for f in got] == list(range(5)) and all("id" not in f for f in got)
    ids = [f["deliveryId"] for f in got]
    receipts_before = main_hub.stats()["receipts"]
    client.send({"type": "RECEIPT", "deliveryIds": ids[:4] + [{"not": "an id"}]})
    refused = client.recv()
    assert refused["type"] == "ERROR" and refused["code"] == "bad-frame"
    assert "deliveryId" in refused["message"]
    again = receipt_client(main_hub).subscribe(*keys)
    assert sorted(f["deliveryId"] for f in again) == sorted(ids)  # nothing lost
    client.send({"type": "RECEIPT", "deliveryIds": ids})
    client.fence()
    assert receipt_client(main_hub).subscribe(*keys) == []
    assert main_hub.stats()["receipts"] == receipts_before + 5


def test_receipt_outcome_expires_at_its_ttl(connect, receipt_client):
    with HubProcess(threads=8, outcome_ttl=0.5, extra_args=("--stats-interval", "0")) as hub:
        key = unique("ttl")
        client = receipt_client(hub)
        client.subscribe(key)
        worker = connect(hub)
        worker.outcome("1", {}, request_id=key, frame_id="f")
        worker.recv()
        client.recv()
        wait_until(lambda: hub.stats()["held"] == 0, timeout=10)
        assert receipt_client(hub).subscribe(key) == []
        assert hub.stats()["outcomes"]["expired"] == 1


# ---------------------------------------------------------------------- across hubs (Redis)


@pytest.fixture(scope="module")
def redis_pair(redis_server) -> Iterator[Tuple[HubProcess, HubProcess]]:
    args = ("--stats-interval", "0")
    with HubProcess(token=TOKEN, redis_url=redis_server.url, threads=16, extra_args=args) as a, \
            HubProcess(token=TOKEN, redis_url=redis_server.url, threads=16, extra_args=args) as b:
        yield a, b
    with redis.Redis.from_url(redis_server.url) as client_of_redis:
        client_of_redis.flushall()  # what awaits receipts here must not confuse other tests


def test_delivered_on_one_hub_resubscribed_on_the_other_gets_it_again(redis_pair, redis_server,
                                                                     connect, receipt_client):
    a, b = redis_pair
    key = unique("xhub")
    client = receipt_client(a)
    client.subscribe(key)
    worker = connect(a)
    worker.outcome("2251799813690010", {"hub": "a"}, request_id=key, frame_id="x1")
    assert worker.recv()["status"] == "delivered"  # local subscriber, stored in Redis too
    cut(client)
    on_b = receipt_client(b)
    got = on_b.subscribe(key)
    assert [f["variables"] for f in got] == [{"hub": "a"}]
    on_b.send({"type": "RECEIPT", "deliveryIds": [got[0]["deliveryId"]]})
    on_b.fence()
    assert receipt_client(a).subscribe(key) == []
    with redis.Redis.from_url(redis_server.url) as client_of_redis:
        stored = client_of_redis.keys(f"zeebe-affinity:hub:out:{got[0]['deliveryId']}*")
    assert stored == []


def test_published_outcome_claimed_by_the_other_hub_stays_until_receipt(redis_pair, connect,
                                                                        receipt_client):
    a, b = redis_pair
    key = unique("claim")
    owner = receipt_client(b)
    owner.subscribe(key)
    worker = connect(a)
    worker.outcome("2251799813690011", {"n": 11}, request_id=key, frame_id="x2")
    assert worker.recv()["status"] == "published"
    live = owner.recv()
    assert live["variables"] == {"n": 11} and live["deliveryId"]
    cut(owner)  # read, but pretend it never reached the waiter: no RECEIPT
    again = receipt_client(a).subscribe(key)
    assert [f["deliveryId"] for f in again] == [live["deliveryId"]]


def test_redis_stored_receipt_outcomes_survive_a_hub_restart(fresh_redis, connect,
                                                             receipt_client):
    key = unique("restart")
    with HubProcess(redis_url=fresh_redis.url, threads=8,
                    extra_args=("--stats-interval", "0")) as hub:
        client = receipt_client(hub)
        client.subscribe(key)
        worker = connect(hub)
        worker.outcome("2251799813690012", {"kept": True}, request_id=key, frame_id="r")
        assert worker.recv()["status"] == "delivered"
        cut(client)
        hub.restart()
        frames = receipt_client(hub).subscribe(key)
        # At least once: the restarted hub's first resync (its listener subscribing) may run
        # beside this SUBSCRIBE and queue the same delivery a second time; a client keeps one.
        assert {f["deliveryId"]: f["variables"] for f in frames} == {frames[0]["deliveryId"]: {"kept": True}}


def test_an_outcome_redis_refused_is_handed_to_redis_once_it_takes_writes_again(
        fresh_redis, connect, receipt_client):
    # One failed store (here Redis refuses writes: out of memory) leaves the outcome in hub A's
    # memory while A's listener stays connected, so no resync comes; A's maintenance tick
    # hands it over, and a re-subscribe on hub B finds it.
    key = unique("oom")
    args = ("--stats-interval", "0")
    with HubProcess(redis_url=fresh_redis.url, threads=8, extra_args=args) as a, \
            HubProcess(redis_url=fresh_redis.url, threads=8, extra_args=args) as b, \
            redis.Redis.from_url(fresh_redis.url) as admin:

        def found_on_b() -> List[Any]:
            probe = receipt_client(b)
            try:
                return [f["variables"] for f in probe.subscribe(key)]
            finally:
                probe.close()  # each holds one of B's 8 threads while open

        client = receipt_client(a)
        client.subscribe(key)
        admin.config_set("maxmemory", 1)
        try:
            worker = connect(a)
            worker.outcome("2251799813690013", {"where": "memory"}, request_id=key, frame_id="m")
            assert worker.recv()["status"] == "delivered"
            assert client.recv()["variables"] == {"where": "memory"}
            cut(client)  # never receipted
            assert found_on_b() == []  # only in A's memory
            assert a.stats()["held"] == 1
        finally:
            admin.config_set("maxmemory", 0)
        wait_until(lambda: found_on_b() == [{"where": "memory"}], timeout=10)
        wait_until(lambda: a.stats()["held"] == 0)


def test_a_graceful_stop_hands_what_redis_refused_to_redis(fresh_redis):
    # In-process (a real Redis, a core without its listener, so no tick or resync hands it
    # over): the last chance is the shutdown.
    bridge = RedisBridge(fresh_redis.url)
    core = HubCore(HubConfig(), bridge=bridge, hub_id=bridge.hub_id)
    subscriber, worker = FramePeer(), FramePeer()
    cs, cw = core.open(subscriber), core.open(worker)
    core.receive(cs, json.dumps({"type": "HELLO", "version": 1, "receipts": True}))
    core.receive(cs, json.dumps({"type": "SUBSCRIBE", "keys": ["r-stop"]}))
    with redis.Redis.from_url(fresh_redis.url) as admin:
        admin.config_set("maxmemory", 1)
        try:
            core.receive(cw, json.dumps({"type": "PROCESS_OUTCOME", "processInstanceKey": "7",
                                         "requestId": "r-stop", "variables": {"n": 7}}))
        finally:
            admin.config_set("maxmemory", 0)
    reader = RedisBridge(fresh_redis.url)  # the hub's own bridge now backs off after the failure
    assert core.stats()["held"] == 1 and reader.take(["r-stop"], keep=True) == []
    core.shutdown(timeout=1.0)
    taken = reader.take(["r-stop"], keep=True)
    assert [json.loads(text)["variables"] for _, text in taken] == [{"n": 7}]
    bridge.join(1.0)
