"""No peer can stall another: non-reading peers beside a normal load, inbound bounds, shutdown.

The hub here runs with a 30 s send timeout, twice the test clients' 15 s receive timeout: if a
worker's ACK or an owner's outcome ever waited on a stuck peer's socket, the waiting client's
receive would time out and the test fail. No timing is asserted beyond that.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from typing import Dict, Iterator, List

import pytest
import websocket

from tests.hub.conftest import Client, unique
from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess

SMALL_BUFFERS = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),
                 (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096))


@pytest.fixture(scope="module")
def patient_hub() -> Iterator[HubProcess]:
    with HubProcess(threads=48, extra_args=("--send-timeout", "30", "--stats-interval", "0")) as hub:
        yield hub


def _frozen(hub: HubProcess) -> websocket.WebSocket:
    """A raw connection with tiny socket buffers that will never read again."""
    ws = websocket.create_connection(hub.url, timeout=15, sockopt=SMALL_BUFFERS)
    json.loads(ws.recv())  # HELLO
    return ws


def test_non_reading_peers_change_nothing_for_the_others(patient_hub):
    hub = patient_hub
    n, blob = 500, "x" * 32 * 1024  # 16 MB per copy: beyond any queue plus socket buffer
    seeds = []
    for _ in range(3):
        ws = _frozen(hub)
        ws.send(json.dumps({"type": "REGISTER_CLIENT"}))  # gets the broadcast, never reads
        seeds.append(ws)
    frozen = _frozen(hub)  # a receipts subscriber of every instance key that freezes
    frozen.send(json.dumps({"type": "HELLO", "version": 1, "receipts": True}))
    frozen.send(json.dumps({"type": "SUBSCRIBE", "keys": [str(10_000 + i) for i in range(n)],
                            "id": "f"}))
    owners = [Client(hub.url) for _ in range(4)]
    keys = [unique("own") for _ in range(n)]
    for i, owner in enumerate(owners):
        owner.subscribe(*keys[i::4])
    wait_until(lambda: hub.stats()["connections"]["broadcast"] == 3, timeout=20)
    workers = [Client(hub.url) for _ in range(2)]
    acks: List[Dict[str, str]] = []
    got: Dict[str, int] = {}
    lock = threading.Lock()

    def work(worker: Client, mine: range) -> None:
        for i in mine:
            worker.outcome(str(10_000 + i), {"blob": blob, "i": i}, request_id=keys[i],
                           frame_id=str(i))
            ack = worker.recv()  # 15 s timeout: an ACK stuck behind a peer fails here
            with lock:
                acks.append(ack)

    def own(owner: Client, count: int) -> None:
        for _ in range(count):
            frame = owner.recv()
            with lock:
                got[frame["requestId"]] = got.get(frame["requestId"], 0) + 1

    threads = [threading.Thread(target=work, args=(w, range(i, n, 2)))
               for i, w in enumerate(workers)]
    threads += [threading.Thread(target=own, args=(o, len(keys[i::4])))
                for i, o in enumerate(owners)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(acks) == n and {a["status"] for a in acks} == {"delivered"}
        assert sorted(got) == sorted(keys) and set(got.values()) == {1}
        # the four non-readers were dropped (queue full), the others stayed
        wait_until(lambda: hub.stats()["connections"]["total"] == 6, timeout=20)
        assert hub.stats()["slowPeerDrops"] == 4  # each counted once, however many senders met it
        # what was routed to the frozen receipts subscriber stays stored for its re-subscribe
        again = Client(hub.url)
        again.send({"type": "HELLO", "version": 1, "receipts": True})
        handed = again.subscribe(str(10_000))  # the first one: routed to it before its drop
        assert [f["variables"]["i"] for f in handed] == [0] and handed[0]["deliveryId"]
        again.close()
    finally:
        for client in owners + workers:
            client.close()
        for ws in seeds + [frozen]:
            ws.shutdown()


def test_inbound_is_bounded_while_the_handler_is_busy(patient_hub):
    """A peer whose handler is blocked writing to it cannot make the hub buffer without limit."""
    hub = patient_hub
    key = unique("busy")
    worker = Client(hub.url)
    blob = "y" * 60_000
    for i in range(200):  # 12 MB held for one key: handing it over blocks on a non-reader
        worker.outcome(str(i), {"blob": blob}, request_id=key, frame_id=str(i))
        assert worker.recv()["status"] == "held"
    ws = _frozen(hub)
    ws.send(json.dumps({"type": "SUBSCRIBE", "keys": [key]}))  # its handler now writes, blocked
    pad = "z" * 60_000
    frame = websocket.ABNF.create_frame(
        json.dumps({"type": "HELLO", "version": 1, "pad": pad}), websocket.ABNF.OPCODE_TEXT)
    sock = ws.sock
    sock.settimeout(3.0)
    sent = 0
    limit = 100 * 1024 * 1024
    pending = b""
    try:
        while sent < limit:
            if not pending:
                pending = frame.format()  # whole frames only: a cut one would break framing
            n = sock.send(pending)
            pending = pending[n:]
            sent += n
    except (socket.timeout, OSError):
        pass  # the hub stopped reading: what we wanted to see
    finally:
        ws.shutdown()
        worker.close()
    # 4 MiB inbound bound + kernel buffers on both sides; unbounded it would take all 100 MiB
    assert hub.stats()["protocolErrors"] == 0  # well-formed frames: only the bound stopped them
    assert sent < 40 * 1024 * 1024, f"the hub accepted {sent} bytes from a peer it could not serve"


def test_shutdown_closes_stuck_peers_at_once_not_one_after_another():
    hub = HubProcess(threads=16, extra_args=("--send-timeout", "30", "--stats-interval", "0"))
    hub.start()
    peers = []
    worker = None
    try:
        worker = Client(hub.url)
        for _ in range(3):
            ws = _frozen(hub)
            ws.send(json.dumps({"type": "REGISTER_CLIENT"}))
            peers.append(ws)
        wait_until(lambda: hub.stats()["connections"]["broadcast"] == 3, timeout=20)
        blob = "w" * 60_000
        for i in range(60):  # 3.6 MB each: their sockets are full, their writers blocked
            worker.outcome(str(i), {"blob": blob}, frame_id=str(i))
            worker.recv()
        started = time.monotonic()
        hub.stop(timeout=25)
        took = time.monotonic() - started
    finally:
        hub.stop()
        if worker is not None:
            worker.close()
        for ws in peers:
            ws.shutdown()
    output = "\n".join(hub.output)
    # gunicorn's graceful timeout is 10 s: one after another at 30 s each would blow it
    assert "WORKER TIMEOUT" not in output and "SIGKILL" not in output, output
    assert took < 10.0, f"shutdown took {took:.1f}s\n{output}"


def test_non_reading_peers_on_the_receiving_hub_do_not_stall_outcomes_over_redis(redis_server):
    """Outcomes arriving over Redis are claimed and queued by dispatcher threads: two frozen
    broadcast peers on hub B change nothing for B's owner of outcomes sent to hub A."""
    args = ("--send-timeout", "30", "--stats-interval", "0")
    with HubProcess(redis_url=redis_server.url, threads=16, extra_args=args) as a, \
            HubProcess(redis_url=redis_server.url, threads=16, extra_args=args) as b:
        seeds = []
        for _ in range(2):
            ws = _frozen(b)
            ws.send(json.dumps({"type": "REGISTER_CLIENT"}))
            seeds.append(ws)
        owner, worker = Client(b.url), Client(a.url)
        n, blob = 300, "q" * 32 * 1024
        keys = [unique("via") for _ in range(n)]
        try:
            for start in range(0, n, 40):
                owner.subscribe(*keys[start:start + 40])
            wait_until(lambda: a.stats()["remoteSeedClients"], timeout=20)
            got: set = set()
            # The owner reads as the outcomes come, as a client does (9.6 MiB unread would be
            # more than a peer's outbound queue holds: the hub would drop it as a non-reader).
            reader = threading.Thread(
                target=lambda: got.update(owner.recv()["requestId"] for _ in range(n)))
            reader.start()
            statuses = set()
            for i, key in enumerate(keys):
                worker.outcome(str(20_000 + i), {"blob": blob}, request_id=key, frame_id=str(i))
                statuses.add(worker.recv()["status"])
            assert statuses == {"published"}
            reader.join(30)
            assert got == set(keys)
        finally:
            owner.close()
            worker.close()
            for ws in seeds:
                ws.shutdown()
