"""Fixtures of the hub tests: real hubs (gunicorn subprocesses) and a small websocket client."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
import websocket

from zeebe_affinity_sync.demo.hub_runner import HubProcess

TOKEN = "hub-test-token"


def unique(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Client:
    """A websocket-client connection speaking the hub protocol, one JSON frame at a time."""

    def __init__(self, url: str, headers: Optional[Dict[str, str]] = None) -> None:
        header = [f"{k}: {v}" for k, v in (headers or {}).items()]
        # The socket timeout is a safety net against a hung test, not an assertion.
        self.ws = websocket.create_connection(url, header=header, timeout=15)
        self.hello = self.recv()
        assert self.hello["type"] == "HELLO", self.hello

    def send(self, frame: Dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def send_text(self, text: str) -> None:
        self.ws.send(text)

    def recv(self) -> Dict[str, Any]:
        return json.loads(self.ws.recv())

    def subscribe(self, *keys: str) -> List[Dict[str, Any]]:
        """SUBSCRIBE with an id; returns the frames handed over before the ACK."""
        frame_id = unique("sub")
        self.send({"type": "SUBSCRIBE", "keys": list(keys), "id": frame_id})
        before = []
        while True:
            frame = self.recv()
            if frame["type"] == "ACK" and frame["id"] == frame_id:
                return before
            before.append(frame)

    def register(self, kind: str = "REGISTER_CLIENT") -> None:
        """REGISTER_CLIENT / REGISTER_WORKER, waiting for the hub's ACK (so it is in effect)."""
        frame_id = unique("reg")
        self.send({"type": kind, "id": frame_id})
        assert self.recv() == {"type": "ACK", "id": frame_id}

    def fence(self) -> List[Dict[str, Any]]:
        """Everything the hub queued for us so far (frames sent before a fresh ACK)."""
        key = unique("fence")
        before = self.subscribe(key)
        self.send({"type": "UNSUBSCRIBE", "keys": [key]})
        return before

    def outcome(self, instance_key: str, variables: Optional[Dict[str, Any]] = None, *,
                request_id: Optional[str] = None, frame_id: Optional[str] = None) -> None:
        frame: Dict[str, Any] = {"type": "PROCESS_OUTCOME", "processInstanceKey": instance_key,
                                 "variables": variables or {}}
        if request_id is not None:
            frame["requestId"] = request_id
        if frame_id is not None:
            frame["id"] = frame_id
        self.send(frame)

    def close(self) -> None:
        try:
            self.ws.close(timeout=2)
        except Exception:
            pass  # the hub may have closed first (1008, 1009, shutdown)
        finally:
            self.ws.shutdown()


@pytest.fixture(scope="session")
def main_hub() -> Iterator[HubProcess]:
    """Token auth, broadcast on, small limits so the limit tests are cheap."""
    hub = HubProcess(token=TOKEN, threads=48, extra_args=(
        "--max-subscriptions", "50", "--max-frame-bytes", "65536",
        "--max-protocol-errors", "4", "--stats-interval", "0", "--send-timeout", "1",
    ))
    with hub:
        yield hub


@pytest.fixture(scope="session")
def tiny_hub() -> Iterator[HubProcess]:
    """No auth, no broadcast, 3 held outcomes at most."""
    with HubProcess(threads=16, extra_args=(
        "--no-broadcast", "--max-held", "3", "--stats-interval", "0",
    )) as hub:
        yield hub


@pytest.fixture
def connect() -> Iterator[Callable[..., Client]]:
    """``connect(hub)`` opens a Client with the hub's token; all are closed after the test."""
    opened: List[Client] = []

    def _connect(hub: HubProcess, headers: Optional[Dict[str, str]] = None) -> Client:
        client = Client(hub.url, hub.headers if headers is None else headers)
        opened.append(client)
        return client

    yield _connect
    for client in opened:
        client.close()
