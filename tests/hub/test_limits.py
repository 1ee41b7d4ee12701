"""Auth, frame limits, bad frames, abuse, dead peers, full held store, broadcast off: real hub."""
from __future__ import annotations

import json
import socket
import struct

import pytest
import requests
import websocket

from tests.hub.conftest import TOKEN, Client, unique
from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess


def _close_code(ws: websocket.WebSocket) -> int:
    """Read frames until the close frame; return its status code."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_websocket_refused_without_the_right_token(main_hub, headers):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        Client(main_hub.url, headers)
    assert info.value.status_code == 401


def test_refusal_is_plain_http_401_with_a_clear_body(main_hub):
    response = requests.get(main_hub.http_url + "/", timeout=10, headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["message"]


def test_any_rotated_token_is_accepted(connect):
    with HubProcess(token=["new-token", "old-token"], threads=4,
                    extra_args=("--stats-interval", "0")) as hub:
        old = connect(hub, {"Authorization": "Bearer old-token"})
        new = connect(hub, {"Authorization": "Bearer new-token"})
        assert old.hello["type"] == new.hello["type"] == "HELLO"
        old.close()
        new.close()


def test_oversize_frame_closes_with_1009(main_hub, connect):
    client = connect(main_hub)
    client.send({"type": "PROCESS_OUTCOME", "processInstanceKey": "1",
                 "variables": {"blob": "x" * 70_000}})
    assert _close_code(client.ws) == 1009
    client.close()
    wait_until(lambda: main_hub.stats()["connections"]["total"] == 0, timeout=20)


def test_malformed_json_gets_an_error_frame(main_hub, connect):
    client = connect(main_hub)
    client.send_text("{not json")
    error = client.recv()
    assert error["type"] == "ERROR" and error["code"] == "bad-json"
    assert "JSON" in error["message"]
    assert client.subscribe(unique()) == []  # still connected and working


def test_unknown_type_gets_an_error_frame(main_hub, connect):
    client = connect(main_hub)
    client.send({"type": "SHOUT"})
    error = client.recv()
    assert error["code"] == "unknown-type"
    assert "SUBSCRIBE" in error["message"]  # says what is expected


def test_invalid_outcome_gets_an_error_frame(main_hub, connect):
    client = connect(main_hub)
    client.send({"type": "PROCESS_OUTCOME", "variables": {}, "id": "w-1"})
    error = client.recv()
    assert error["code"] == "bad-frame" and "processInstanceKey" in error["message"]
    assert error["id"] == "w-1"  # so the worker knows which outcome was refused


def test_repeated_abuse_closes_with_1008(main_hub, connect):
    client = connect(main_hub)
    for _ in range(4):  # --max-protocol-errors 4
        client.send_text("[]")
    codes = [client.recv()["code"] for _ in range(4)]
    assert codes == ["bad-frame"] * 4
    assert _close_code(client.ws) == 1008
    client.close()
    wait_until(lambda: main_hub.stats()["connections"]["total"] == 0, timeout=20)


@pytest.fixture
def fast_ping_hub():
    """Pings every 0.3 s: a peer that does not answer is reaped within a second."""
    with HubProcess(threads=4, extra_args=("--ping-interval", "0.3", "--stats-interval", "0")) as hub:
        yield hub


def test_dead_peer_is_reaped_with_its_subscriptions(fast_ping_hub):
    # A raw socket that completes the handshake, subscribes, then never answers a ping.
    sock = socket.create_connection(("127.0.0.1", fast_ping_hub.port), timeout=15)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(1)  # the 101 only, byte by byte: the frames after stay unread
        assert response.startswith(b"HTTP/1.1 101")
        payload = json.dumps({"type": "SUBSCRIBE", "keys": [unique("dead")]}).encode()
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)
        # Nothing is read or answered from here on: the hub must give up on us, and drop the
        # subscription with the connection (our socket stays open all along).
        wait_until(lambda: fast_ping_hub.stats()["subscriptionsClosed"] == 1, timeout=15)
        stats = fast_ping_hub.stats()
        assert stats["connections"]["total"] == 0 and stats["subscriptions"] == 0
        assert stats["connectionsOpened"] == 1
    finally:
        sock.close()


def test_full_held_store_refuses_with_an_error(tiny_hub, connect):
    worker = connect(tiny_hub)
    keys = [unique("full") for _ in range(4)]
    for i, key in enumerate(keys[:3]):
        worker.outcome(str(i), {}, request_id=key, frame_id=f"h{i}")
        assert worker.recv()["status"] == "held"
    worker.outcome("3", {}, request_id=keys[3], frame_id="h3")
    error = worker.recv()
    assert error["type"] == "ERROR" and error["code"] == "hub-full" and error["id"] == "h3"
    assert "retry" in error["message"]
    taker = connect(tiny_hub)
    assert len(taker.subscribe(*keys)) == 3  # frees the store for the other tests
    assert tiny_hub.stats()["outcomes"]["refused"] >= 1


def test_no_broadcast_hub_sends_seed_clients_nothing(tiny_hub, connect):
    seed, worker = connect(tiny_hub), connect(tiny_hub)
    seed.register()
    worker.register("REGISTER_WORKER")
    key = unique("nb")
    owner = connect(tiny_hub)
    owner.subscribe(key)
    worker.outcome("5", {}, request_id=key, frame_id="nb1")
    assert worker.recv()["status"] == "delivered"
    assert owner.recv()["requestId"] == key
    assert seed.fence() == []
    assert tiny_hub.stats()["connections"]["broadcast"] == 0


def test_stuck_subscriber_is_dropped_and_its_outcome_held(main_hub, connect):
    """A subscriber that stops reading fills its socket; the send times out, the peer goes."""
    stuck, worker = connect(main_hub), connect(main_hub)
    key = unique("stuck")
    stuck.subscribe(key)
    wait_until(lambda: main_hub.stats()["connections"]["total"] == 2, timeout=20)
    before = main_hub.stats()["sendFailures"]
    blob = "x" * 60_000
    statuses = []
    for i in range(1000):  # up to 60 MB: far beyond any loopback socket buffer
        worker.outcome(str(i), {"blob": blob}, request_id=key, frame_id=str(i))
        statuses.append(worker.recv()["status"])
        if statuses[-1] != "delivered":
            break
    assert statuses[-1] == "held"  # could not be written to the stuck peer: kept for later
    assert main_hub.stats()["sendFailures"] > before
    wait_until(lambda: main_hub.stats()["connections"]["total"] == 1, timeout=15)  # worker only
    assert main_hub.stats()["subscriptions"] == 0
    handed = [f["processInstanceKey"] for f in connect(main_hub).subscribe(key)]
    # The last one, and every outcome queued to the stuck peer but never written: held again.
    assert str(len(statuses) - 1) in handed
    assert len(handed) == len(set(handed)) and len(handed) <= len(statuses)
