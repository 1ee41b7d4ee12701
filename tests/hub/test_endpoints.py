"""/healthz, /stats, /metrics, the stats log line, TTL expiry, TLS: against real hubs."""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
import requests
import websocket

from tests.hub.conftest import unique
from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess


@pytest.fixture(scope="module")
def ttl_hub():
    with HubProcess(outcome_ttl=0.5, threads=8, extra_args=("--stats-interval", "0.3")) as hub:
        yield hub


def test_healthz(main_hub):
    response = requests.get(main_hub.http_url + "/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_plain_get_on_the_socket_path_says_upgrade(main_hub):
    response = requests.get(main_hub.http_url + "/", timeout=10)
    assert response.status_code == 426
    assert "websocket" in response.json()["message"]


def test_stats_counts_roles_subscriptions_and_outcomes(main_hub, connect):
    # Earlier tests' clients may still be closing: start from a quiet hub.
    wait_until(lambda: main_hub.stats()["connections"]["total"] == 0, timeout=20)
    before = main_hub.stats()
    client, worker = connect(main_hub), connect(main_hub)
    client.register()
    worker.register("REGISTER_WORKER")
    key = unique()
    client.subscribe(key, unique())
    worker.outcome("1", {}, request_id=key, frame_id="s1")
    assert worker.recv()["status"] == "delivered"
    client.recv()
    stats = main_hub.stats()
    assert stats["connections"]["client"] == before["connections"]["client"] + 1
    assert stats["connections"]["worker"] == before["connections"]["worker"] + 1
    assert stats["subscriptions"] == before["subscriptions"] + 2
    assert stats["outcomes"]["received"] == before["outcomes"]["received"] + 1
    assert stats["outcomes"]["routed"] == before["outcomes"]["routed"] + 1
    assert stats["acks"] == before["acks"] + 1
    for field in ("uptime", "rates", "held", "dropped", "threads"):
        assert field in stats


def test_metrics_are_prometheus_text(main_hub, connect):
    worker = connect(main_hub)
    worker.outcome("1", {}, request_id=unique(), frame_id="m1")
    worker.recv()
    response = requests.get(main_hub.http_url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    assert 'zeebe_affinity_hub_outcomes_total{result="received"}' in text
    assert 'zeebe_affinity_hub_connections{role="worker"}' in text
    assert "zeebe_affinity_hub_held_outcomes" in text


def test_held_outcome_expires_after_ttl_and_is_counted(ttl_hub, connect):
    worker = connect(ttl_hub)
    key = unique("ttl")
    worker.outcome("1", {}, request_id=key, frame_id="t1")
    assert worker.recv()["status"] == "held"
    wait_until(lambda: ttl_hub.stats()["outcomes"]["expired"] >= 1, timeout=15)
    stats = ttl_hub.stats()
    assert stats["held"] == 0 and stats["dropped"] >= 1
    assert connect(ttl_hub).subscribe(key) == []  # gone, not handed over late


def test_periodic_stats_line_is_logged(ttl_hub):
    wait_until(lambda: any("hub stats:" in line for line in list(ttl_hub.output)), timeout=15)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
def test_tls_serves_wss(tmp_path, connect):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with HubProcess(token="tls-token", threads=4, extra_args=(
            "--certfile", str(cert), "--keyfile", str(key), "--stats-interval", "0")) as hub:
        assert hub.url.startswith("wss://")
        ws = websocket.create_connection(hub.url, timeout=15, header=["Authorization: Bearer tls-token"],
                                         sslopt={"cert_reqs": ssl.CERT_NONE})
        try:
            assert '"HELLO"' in ws.recv()
        finally:
            ws.close()
