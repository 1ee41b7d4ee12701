"""Seed (zeebe-node-affinity 2.0) frames and token options through a real hub.

The seed's worker sends PROCESS_OUTCOME without ``requestId`` (the id is only inside
``variables._affinity_request_id``); the seed's client registers one socket as client *and*
worker; seed clients cannot send headers, so ``--allow-query-token`` lets them put the token in
the URL. ``/healthz`` is always open; ``--protect-stats`` puts ``/stats`` and ``/metrics`` behind
the token.
"""
from __future__ import annotations

import json
from typing import Iterator

import pytest
import requests
import websocket

from tests.hub.conftest import Client, unique
from zeebe_affinity_sync.demo.hub_runner import HubProcess

TOKEN = "seed-token"


def test_seed_worker_outcome_routes_by_the_request_id_variable(main_hub, connect):
    request_id = unique("req")
    owner, seed_worker = connect(main_hub), connect(main_hub)
    owner.subscribe(request_id)
    seed_worker.send({"type": "REGISTER_WORKER"})
    seed_worker.send({"type": "PROCESS_OUTCOME", "processInstanceKey": "2251799813691001",
                      "variables": {"_affinity_request_id": request_id, "total": 3}})
    got = owner.recv()
    assert got["processInstanceKey"] == "2251799813691001" and got["variables"]["total"] == 3


def test_register_worker_after_register_client_keeps_the_broadcast(main_hub, connect):
    seed = connect(main_hub)
    seed.register("REGISTER_CLIENT")
    seed.register("REGISTER_WORKER")  # the seed README's one client for both roles
    worker = connect(main_hub)
    key = unique("bc")
    worker.outcome("2251799813691002", {"b": 1}, request_id=key, frame_id="b1")
    assert worker.recv()["type"] == "ACK"
    frames = [f for f in seed.fence() if f.get("requestId") == key]
    assert [f["variables"] for f in frames] == [{"b": 1}]
    seed.subscribe(unique("mine"))  # only SUBSCRIBE ends it
    worker.outcome("2251799813691003", {}, request_id=unique("other"), frame_id="b2")
    worker.recv()
    assert seed.fence() == []


def test_relay_worker_connection_is_not_counted_as_a_client(main_hub, connect):
    before = main_hub.stats()["connections"]
    relay = connect(main_hub)
    relay.send({"type": "HELLO", "version": 1, "role": "worker", "receipts": True})
    relay.register("REGISTER_CLIENT")  # a seed frame does not change what HELLO said
    after = main_hub.stats()["connections"]
    assert after["client"] == before["client"] and after["worker"] == before["worker"] + 1
    other = connect(main_hub)
    other.send({"type": "HELLO", "version": 1, "role": "client"})
    other.fence()
    assert main_hub.stats()["connections"]["client"] == before["client"] + 1


def test_query_token_is_refused_unless_allowed(main_hub):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(main_hub.url + f"?token={main_hub.token}", timeout=10)
    assert refused.value.status_code == 401


@pytest.fixture(scope="module")
def guarded_hub() -> Iterator[HubProcess]:
    with HubProcess(token=TOKEN, threads=8, extra_args=(
            "--allow-query-token", "--protect-stats", "--stats-interval", "0")) as hub:
        yield hub


def test_allowed_query_token_lets_a_seed_client_in(guarded_hub):
    ws = websocket.create_connection(guarded_hub.url + f"?token={TOKEN}", timeout=10)
    try:
        assert json.loads(ws.recv())["type"] == "HELLO"
    finally:
        ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(guarded_hub.url + "?token=wrong", timeout=10)
    assert refused.value.status_code == 401
    Client(guarded_hub.url, guarded_hub.headers).close()  # the header still works


def test_protected_stats_need_the_token_healthz_never(guarded_hub):
    base = guarded_hub.http_url
    assert requests.get(base + "/healthz", timeout=5).status_code == 200
    for path in ("/stats", "/metrics"):
        assert requests.get(base + path, timeout=5).status_code == 401
        answer = requests.get(base + path, headers=guarded_hub.headers, timeout=5)
        assert answer.status_code == 200


def test_stats_are_open_by_default(main_hub):
    assert requests.get(main_hub.http_url + "/stats", timeout=5).status_code == 200
    assert requests.get(main_hub.http_url + "/healthz", timeout=5).status_code == 200
