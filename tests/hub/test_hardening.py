"""Hostile and broken peers against a real hub: slowloris, compression, bad JSON, bad text,
a close right after the upgrade. Real gunicorn (the hub's HubWorker), real sockets."""
from __future__ import annotations

import base64
import os
import socket
import threading
import time
from typing import Iterator, List

import pytest
import requests

from tests.hub.conftest import Client, unique
from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess


def _upgrade_request(port: int, extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extra}\r\n").encode()


def _read_head(sock: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n")[0].decode("latin-1")


@pytest.fixture(scope="module")
def small_hub() -> Iterator[HubProcess]:
    """Eight threads, a 2 s header timeout: the slowloris test's scale."""
    with HubProcess(threads=8, extra_args=("--header-timeout", "2", "--stats-interval", "0")) as hub:
        yield hub


def test_slowloris_holds_no_thread_and_is_closed_at_the_header_timeout(small_hub):
    hub = small_hub
    attackers: List[socket.socket] = []
    for _ in range(40):  # five times the thread count
        sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
        sock.sendall(b"G")
        attackers.append(sock)
    stop = threading.Event()

    def drip() -> None:  # one more header byte every 0.5 s on each (well inside any timeout)
        while not stop.wait(0.5):
            for sock in attackers:
                try:
                    sock.send(b"E")
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        for _ in range(3):  # meanwhile probes and upgrades go through
            assert requests.get(hub.http_url + "/healthz", timeout=5).ok
            client = Client(hub.url)
            assert client.subscribe(unique("ok")) == []
            client.close()

        def all_closed() -> bool:
            closed = 0
            for sock in attackers:
                sock.settimeout(0.01)
                try:
                    if sock.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
                except OSError:
                    closed += 1
            return closed == len(attackers)

        wait_until(all_closed, timeout=30, interval=0.2)
    finally:
        stop.set()
        dripper.join(5)
        for sock in attackers:
            sock.close()


def test_compression_is_not_negotiated(small_hub):
    with socket.create_connection(("127.0.0.1", small_hub.port), timeout=10) as sock:
        sock.sendall(_upgrade_request(
            small_hub.port, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"))
        head = _read_head(sock)
    assert head.startswith("HTTP/1.1 101")
    assert "sec-websocket-extensions" not in head.lower()


def test_a_close_right_after_the_upgrade_logs_no_traceback(small_hub):
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", small_hub.port), timeout=10) as sock:
            sock.sendall(_upgrade_request(small_hub.port))
            assert _read_head(sock).startswith("HTTP/1.1 101")
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", small_hub.port), timeout=10) as sock:
            sock.sendall(_upgrade_request(small_hub.port))
            _read_head(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    wait_until(lambda: small_hub.stats()["connections"]["total"] == 0, timeout=15)
    time.sleep(0.5)  # let any late log line arrive
    output = "\n".join(small_hub.output)
    assert "Traceback" not in output and "[ERROR]" not in output and " ERROR " not in output, output


@pytest.mark.parametrize("text, what", [
    ("[" * 50_000 + "]" * 50_000, "deep nesting"),
    ('{"type":"HELLO","n":' + "7" * 5000 + "}", "a 5000-digit integer"),
])
def test_decode_failures_answer_bad_json_and_are_counted(small_hub, connect, text, what):
    client = connect(small_hub)
    before = small_hub.stats()["protocolErrors"]
    client.send_text(text)
    error = client.recv()
    assert error["type"] == "ERROR" and error["code"] == "bad-json", (what, error)
    assert client.subscribe(unique("alive")) == []  # the connection goes on
    assert small_hub.stats()["protocolErrors"] == before + 1


def test_binary_frame_with_bad_utf8_answers_bad_json(small_hub, connect):
    client = connect(small_hub)
    client.ws.send_binary(b'{"type":"HELLO","x":"\xff\xfe"}')
    assert client.recv()["code"] == "bad-json"


@pytest.mark.parametrize("with_id", [True, False])
def test_unencodable_outcome_is_refused_to_its_sender_and_never_reaches_a_subscriber(
        small_hub, connect, with_id):
    key = unique("sur")
    owner, worker = connect(small_hub), connect(small_hub)
    owner.subscribe(key)
    frame_id = ',"id":"bad"' if with_id else ""
    worker.send_text('{"type":"PROCESS_OUTCOME","processInstanceKey":"1","requestId":"' + key
                     + '","variables":{"s":"\\ud800"}' + frame_id + "}")
    error = worker.recv()
    assert error["type"] == "ERROR" and error["code"] == "bad-frame"
    assert error.get("id") == ("bad" if with_id else None)
    worker.outcome("2", {"s": "\U0001F600 fine"}, request_id=key, frame_id="good")
    assert worker.recv()["status"] == "delivered"
    assert owner.recv()["variables"] == {"s": "\U0001F600 fine"}  # the subscriber is unharmed
    assert small_hub.stats()["outcomes"]["badOutcomes"] >= 1


def test_handlers_catch_what_they_mean():
    """No bare ``except Exception`` in the hub's connection and request paths."""
    import inspect

    from zeebe_affinity_sync.hub import app, core, websocket as transport, worker

    for module in (app, core, transport, worker):
        source = inspect.getsource(module)
        for line in source.splitlines():
            if "except Exception" in line or "except:" in line:
                assert "noqa: BLE001" in line, f"{module.__name__}: {line.strip()}"


def test_text_frame_with_bad_utf8_fails_the_connection_with_1007(small_hub):
    """RFC 6455 section 8.1: invalid UTF-8 in a text frame fails the connection (1007)."""
    import struct

    with socket.create_connection(("127.0.0.1", small_hub.port), timeout=10) as sock:
        sock.sendall(_upgrade_request(small_hub.port))
        _read_head(sock)
        payload = b'{"type":"HELLO","x":"\xff"}'
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)
        received = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    close = received[received.index(b"\x88"):]
    assert struct.unpack("!H", close[2:4]) == (1007,)
    assert "Traceback" not in "\n".join(small_hub.output)
