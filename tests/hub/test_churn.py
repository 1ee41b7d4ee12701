"""Thousands of short connections leave nothing behind: no connection, subscription or thread."""
from __future__ import annotations

import json
import threading
from typing import List

import pytest
import websocket

from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess

THREADS = 12  # gunicorn threads of this hub
CONNECTIONS = 2000
CONCURRENCY = 8


@pytest.fixture
def churn_hub():
    with HubProcess(threads=THREADS, extra_args=("--stats-interval", "0")) as hub:
        yield hub


def _open(hub: HubProcess) -> websocket.WebSocket:
    ws = websocket.create_connection(hub.url, timeout=15)
    assert json.loads(ws.recv())["type"] == "HELLO"
    return ws


def test_short_connections_leave_no_subscriptions_or_threads(churn_hub):
    # Warm up: hold THREADS sockets at once so gunicorn's thread pool reaches its full size;
    # the baseline is taken after they are gone, so pool growth does not count as a leak.
    warm = [_open(churn_hub) for _ in range(THREADS)]
    for ws in warm:
        ws.close()
    wait_until(lambda: churn_hub.stats()["connections"]["total"] == 0, timeout=20)
    wait_until(lambda: churn_hub.stats()["readerThreads"] == 0, timeout=20)
    baseline = churn_hub.stats()["threads"]

    errors: List[BaseException] = []
    counter = iter(range(CONNECTIONS))
    lock = threading.Lock()

    def run() -> None:
        try:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                ws = _open(churn_hub)
                ws.send(json.dumps({"type": "REGISTER_CLIENT"}))
                ws.send(json.dumps({"type": "SUBSCRIBE", "keys": [f"c{n}", f"d{n}"], "id": "s"}))
                assert json.loads(ws.recv()) == {"type": "ACK", "id": "s"}
                if n % 10 == 0:
                    ws.shutdown()  # abrupt: no close frame, just the TCP close
                else:
                    ws.close()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    wait_until(lambda: churn_hub.stats()["connections"]["total"] == 0, timeout=30)
    wait_until(lambda: churn_hub.stats()["threads"] == baseline, timeout=30)
    stats = churn_hub.stats()
    assert stats["connectionsOpened"] == THREADS + CONNECTIONS
    assert stats["subscriptions"] == 0
    assert stats["subscribedKeys"] == 0
    assert stats["connections"]["broadcast"] == 0
    assert stats["readerThreads"] == 0
    assert stats["threads"] == baseline
