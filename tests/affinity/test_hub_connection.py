"""The hub connection on its own, against a real hub under gunicorn (no engine)."""
from __future__ import annotations

import threading
from typing import Any, Dict, Iterator, List

import pytest
import requests

from tests.affinity.conftest import TOKEN
from tests.support.net import wait_until
from zeebe_affinity_sync import protocol
from zeebe_affinity_sync.affinity.hub_connection import HubConnection
from zeebe_affinity_sync.errors import AffinityUnavailable


@pytest.fixture
def own_hub() -> Iterator[Any]:
    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    with HubProcess(token=TOKEN) as hub:
        yield hub


def stats(hub: Any) -> Dict[str, Any]:
    return requests.get(hub.http_url + "/stats", timeout=5).json()


def connection(hub: Any, keys: List[str], received: List[Dict[str, Any]], **options: Any) -> HubConnection:
    options.setdefault("reconnect_initial", 0.05)
    options.setdefault("reconnect_max", 0.5)
    return HubConnection(hub.url, token=TOKEN, on_outcome=received.append,
                         pending_keys=lambda: list(keys), is_pending=lambda k: k in keys, **options)


def test_reconnects_and_resubscribes_after_a_hub_restart(own_hub: Any) -> None:
    keys = ["req-1", "req-2"]
    received: List[Dict[str, Any]] = []
    client = connection(own_hub, keys, received).start()
    worker = connection(own_hub, [], [], role="worker").start()
    try:
        assert client.wait_connected(10)
        client.subscribe(keys)
        wait_until(lambda: stats(own_hub)["subscriptions"] == 2)
        own_hub.restart()
        # nobody subscribes again by hand: the connection does it after reconnecting
        wait_until(lambda: stats(own_hub)["subscriptions"] == 2, timeout=30)
        assert worker.wait_connected(30)
        worker.publish_outcome(protocol.process_outcome(7, {"a": 1}, request_id="req-2"), timeout=10)
        wait_until(lambda: len(received) == 1)
        assert received[0]["requestId"] == "req-2" and received[0]["variables"] == {"a": 1}
        # keys no longer awaited are unsubscribed (lazily, but without further traffic)
        keys.clear()
        client.unsubscribe(["req-1", "req-2"])
        wait_until(lambda: stats(own_hub)["subscriptions"] == 0)
    finally:
        client.stop()
        worker.stop()
    assert not client.running and not worker.running


def test_publish_to_a_stopped_hub_fails_with_a_clear_message(own_hub: Any) -> None:
    worker = connection(own_hub, [], [], role="worker").start()
    try:
        assert worker.wait_connected(10)
        own_hub.stop()
        with pytest.raises(AffinityUnavailable) as info:
            worker.publish_outcome(protocol.process_outcome(1, {}), timeout=0.5)
        assert own_hub.url in str(info.value) and "not handed over" in str(info.value)
    finally:
        worker.stop()


def test_send_never_blocks_while_disconnected(own_hub: Any) -> None:
    keys: List[str] = []
    client = connection(own_hub, keys, [])
    own_hub.stop()
    client.start()
    try:
        done = threading.Event()

        def burst() -> None:
            for i in range(1000):
                client.subscribe([f"k{i}"])
                client.unsubscribe([f"k{i}"])
            done.set()

        threading.Thread(target=burst, daemon=True).start()
        assert done.wait(30)
        assert not client.wait_connected(0.2)
        assert client.last_error
    finally:
        client.stop()


def test_subscriptions_are_batched_and_filtered_to_keys_still_awaited() -> None:
    awaited = {"a", "b", "d"}
    conn = HubConnection("ws://unused", on_outcome=lambda f: None, pending_keys=lambda: sorted(awaited),
                         is_pending=lambda k: k in awaited)
    frames = conn._writer._coalesce(
        ["x", "a"],  # pending unsubscriptions: "a" is awaited again, so it stays
        [protocol.subscribe(["a"]), protocol.subscribe(["b", "c"]), dict(protocol.subscribe(["d"]), id="1")],
    )
    assert frames == [
        {"type": "UNSUBSCRIBE", "keys": ["x"]},
        {"type": "SUBSCRIBE", "keys": ["a", "b"]},  # "c" is no longer awaited
        {"type": "SUBSCRIBE", "keys": ["d"], "id": "1"},  # confirmed subscribes are never merged
    ]


def test_a_subscribe_queued_beside_the_resubscribe_after_a_connect_sends_each_key_once() -> None:
    from zeebe_affinity_sync.affinity.hub_writer import RESUBSCRIBE

    awaited = ["a", "b"]
    conn = HubConnection("ws://unused", on_outcome=lambda f: None, pending_keys=lambda: list(awaited),
                         is_pending=lambda k: k in awaited)
    # a request subscribed while the reader had just connected and queued the re-subscribe
    frames = conn._writer._coalesce([], [RESUBSCRIBE, protocol.subscribe(["b"])])
    assert frames == [{"type": "SUBSCRIBE", "keys": ["a", "b"]}]


def test_an_outcome_over_the_hub_frame_limit_is_refused_before_sending(hub: Any) -> None:
    from zeebe_affinity_sync.errors import AffinityError

    worker = connection(hub, [], [], role="worker").start()
    try:
        assert worker.wait_connected(10)
        wait_until(lambda: bool(worker.hub_hello))  # the hub announces its limits on connect
        limit = worker.hub_hello["maxFrameBytes"]
        with pytest.raises(AffinityError, match="frame limit"):
            worker.publish_outcome(protocol.process_outcome(1, {"blob": "x" * limit}), timeout=5)
        assert worker.connected  # the connection was not sacrificed
        worker.publish_outcome(protocol.process_outcome(1, {"small": True}), timeout=5)
    finally:
        worker.stop()


def test_confirmed_subscribe_returns_after_the_held_outcomes_arrived(hub: Any) -> None:
    """One SUBSCRIBE with an id: the hub ACKs it after handing over what it held for the keys."""
    import uuid

    key = f"held-{uuid.uuid4().hex}"
    received: List[Dict[str, Any]] = []
    worker = connection(hub, [], [], role="worker").start()
    client = connection(hub, [], received).start()  # awaits nothing yet: no re-subscribe
    try:
        assert worker.wait_connected(10) and client.wait_connected(10)
        worker.publish_outcome(protocol.process_outcome(9, {"early": True}, request_id=key),
                               timeout=10)  # nobody subscribed yet: the hub holds it
        assert client.subscribe_confirmed([key], timeout=10) is True
        assert [f["variables"] for f in received] == [{"early": True}]  # already here
        assert len(client._acks) == 0  # the confirmation slot is gone
    finally:
        client.stop()
        worker.stop()


def test_confirmed_subscribe_queues_a_single_frame() -> None:
    import queue

    conn = HubConnection("ws://unused", on_outcome=lambda f: None, pending_keys=lambda: [])
    assert conn.subscribe_confirmed(["123", "r-1"], timeout=0) is False  # never started: no ACK
    frames = []
    while True:
        try:
            frames.append(conn._writer._queue.get_nowait())
        except queue.Empty:
            break
    assert len(frames) == 1
    assert frames[0]["type"] == "SUBSCRIBE" and frames[0]["keys"] == ["123", "r-1"] and frames[0]["id"]
    assert len(conn._acks) == 0


@pytest.mark.skipif(__import__("shutil").which("openssl") is None, reason="needs the openssl binary")
def test_outcomes_travel_over_wss(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS: the connection drives the SSL socket itself after the handshake (non-blocking reads
    and writes on their own threads, SSL's buffered bytes read before polling)."""
    import subprocess

    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(cert))  # websocket-client's CA override
    with HubProcess(token=TOKEN, threads=8, extra_args=(
            "--certfile", str(cert), "--keyfile", str(key), "--stats-interval", "0")) as hub:
        assert hub.url.startswith("wss://")
        keys = [f"tls-{n}" for n in range(50)]
        received: List[Dict[str, Any]] = []
        client = connection(hub, keys, received).start()
        worker = connection(hub, [], [], role="worker").start()
        try:
            assert client.wait_connected(15) and worker.wait_connected(15)
            client.subscribe(keys)
            big = "y" * 200_000  # several TLS records per frame
            for n, key_ in enumerate(keys):
                worker.publish_outcome(protocol.process_outcome(n, {"n": n, "big": big if n % 10 == 0 else ""},
                                                                request_id=key_), timeout=10)
            wait_until(lambda: len(received) == len(keys), timeout=30)
            assert sorted(int(f["variables"]["n"]) for f in received) == list(range(50))
        finally:
            client.stop()
            worker.stop()


# ---------------------------------------------------------------- receipt batching (RawHub)


def raw_connection(hub: Any, **options: Any) -> HubConnection:
    return HubConnection(hub.url, on_outcome=lambda frame: None, pending_keys=lambda: [],
                         receipts=True, reconnect_initial=0.05, reconnect_max=0.5, **options)


def receipt_frames(raw: Any) -> List[List[str]]:
    return [f["deliveryIds"] for f in raw.frames if f.get("type") == protocol.RECEIPT]


def test_receipts_wait_for_a_full_frame_and_go_out_in_one() -> None:
    """With a linger far longer than the test, receipts go out only once a frame's worth is
    pending: all of them in order in one RECEIPT, none ahead of it with the SUBSCRIBE sent
    meanwhile (receipts do not ride along with other frames)."""
    from tests.support.raw_hub import RawHub
    from zeebe_affinity_sync.affinity.hub_writer import KEYS_PER_FRAME

    with RawHub() as hub:
        conn = raw_connection(hub, receipt_linger=3600.0).start()
        try:
            assert conn.wait_connected(10)
            raw = hub.connection()
            ids = [f"d-{n}" for n in range(KEYS_PER_FRAME)]
            conn.receipt(ids[:3])
            conn.receipt(ids[3:7])
            conn.subscribe(["k-1"])
            hub.wait_for(lambda: any(f.get("type") == protocol.SUBSCRIBE for f in raw.frames))
            assert receipt_frames(raw) == []
            conn.receipt(ids[7:])
            hub.wait_for(lambda: receipt_frames(raw))
            assert receipt_frames(raw) == [ids]
        finally:
            conn.stop()


def test_a_lone_receipt_goes_out_after_the_linger() -> None:
    """An idle writer sends a pending receipt by itself once the linger has passed, and the
    receipts queued together travel in one frame."""
    from tests.support.raw_hub import RawHub

    with RawHub() as hub:
        conn = raw_connection(hub, receipt_linger=0.2).start()
        try:
            assert conn.wait_connected(10)
            raw = hub.connection()
            conn.receipt(["d-1", "d-2", "d-1"])
            hub.wait_for(lambda: receipt_frames(raw))
            assert receipt_frames(raw) == [["d-1", "d-2"]]
        finally:
            conn.stop()
