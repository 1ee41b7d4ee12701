"""The Flask extension and the demo app on the real stack: embedded engine, hub under gunicorn,
real workers. Over Flask's test client, over the threaded dev server, and under gunicorn gthread
with two worker processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from flask import Flask, request

from zeebe_affinity_sync.commands.demo import make_order
from zeebe_affinity_sync.demo.flask_app import affinity as demo_affinity
from zeebe_affinity_sync.demo.flask_app import create_app
from zeebe_affinity_sync.flask import ZeebeAffinity

from ..support.net import free_port, wait_for_port
from .conftest import REPO
from .procs import serving


@pytest.fixture(scope="module")
def demo_app(local_stack) -> Iterator[Flask]:
    app = create_app(local_stack.flask_config())
    yield app
    demo_affinity.close(app)


@pytest.fixture(scope="module")
def dev_server(demo_app) -> Iterator[str]:
    """The demo app on werkzeug's threaded dev server (what `flask run` uses)."""
    with serving(demo_app) as base:
        yield base


def post(url: str, body: Any) -> Tuple[int, Dict[str, str], Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), json.loads(exc.read())


def test_order_answers_with_its_outcome(demo_app):
    client = demo_app.test_client()
    order, expected = make_order(1)
    response = client.post("/orders", json=order)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in expected} == expected
    assert "_affinity_request_id" not in body
    assert int(response.headers["X-Process-Instance-Key"]) > 0


def test_failure_outcome_is_answered_with_422_and_its_variables(demo_app):
    response = demo_app.test_client().post(
        "/orders", json={"orderId": "X", "items": [{"sku": "sold-out", "quantity": 1, "priceCents": 5}]}
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "process-failed"
    assert body["variables"]["reason"] == "out-of-stock"
    assert body["variables"]["orderId"] == "X"


def test_bad_order_is_refused_before_any_process_starts(demo_app):
    response = demo_app.test_client().post("/orders", json={"orderId": "X", "items": []})
    assert response.status_code == 400
    assert "items must be a non-empty list" in response.get_json()["message"]


def test_chat_rounds_each_answer_their_own_message(demo_app):
    client = demo_app.test_client()
    start = client.post("/chat", json={})
    assert start.status_code == 200
    conversation = start.get_json()["conversationId"]
    assert start.get_json()["reply"].startswith("Hello!")
    for n, text in enumerate(["first line", "second one here", "third"], start=1):
        reply = client.post(f"/chat/{conversation}", json={"text": text})
        assert reply.status_code == 200
        body = reply.get_json()
        assert body["round"] == n
        assert f'You said "{text}"' in body["reply"]
    last = client.post(f"/chat/{conversation}", json={"text": "bye"}).get_json()
    assert last["done"] is True and last["reply"] == "Goodbye!"


def test_unknown_process_is_404_and_timeout_is_202_then_collected(local_stack):
    app = Flask(__name__)
    app.config.update(local_stack.flask_config(), ZEEBE_AFFINITY_OUTCOME_URL="/outcomes/{key}")
    ext = ZeebeAffinity(app)

    @app.post("/nope")
    @ext.process("no-such-process")
    def nope():
        return {}

    @app.post("/slow")
    @ext.process("slow-process", timeout=0.2)
    def slow():
        return {"marker": request.get_json()["marker"]}

    @app.get("/outcomes/<key>")
    def outcome(key):
        return ext.collect(key, timeout=10)

    @app.get("/peek/<key>")
    def peek(key):
        return ext.collect(key)  # default: answer at once

    try:
        client = app.test_client()
        missing = client.post("/nope")
        assert missing.status_code == 404
        assert missing.get_json()["error"] == "not-found"
        assert "no-such-process" in missing.get_json()["message"]  # the gateway's words about the request
        # a key nobody knows: the documented 202 contract (poll at most collect_ttl), not a 500
        unknown = client.get("/peek/2251799813999999")
        assert unknown.status_code == 202 and unknown.get_json()["status"] == "pending"
        assert "collect_ttl" in unknown.get_json()["message"]
        assert unknown.headers["Location"] == "/outcomes/2251799813999999"
        assert client.get("/peek/not-a-key").status_code == 400
        pending = client.post("/slow", json={"marker": "m-1"})
        assert pending.status_code == 202, pending.get_json()
        location = pending.headers["Location"]
        assert location == f"/outcomes/{pending.get_json()['processInstanceKey']}"
        collected = client.get(location)
        assert collected.status_code == 200
        assert collected.get_json() == {"marker": "m-1"}
    finally:
        ext.close(app)


def check_concurrent_orders(base: str, first: int, count: int) -> None:
    """POST ``count`` orders from as many threads at once; each must get 200 and its own outcome."""
    results: List[Tuple[int, Any, Dict[str, Any]]] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        order, expected = make_order(first + n)
        status, _, body = post(base + "/orders", order)
        with lock:
            results.append((status, body, expected))

    threads = [threading.Thread(target=send, args=(n,), name=f"test-order-{n}") for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == count  # a sender that raised left no result
    for status, body, expected in results:
        assert status == 200, body
        assert {k: body[k] for k in expected} == expected


def test_concurrent_requests_over_http_each_get_their_own_outcome(dev_server):
    check_concurrent_orders(dev_server, 1000, 40)


def test_the_example_under_gunicorn_gthread_with_two_workers(local_stack, tmp_path):
    port = free_port()
    # a HOME of its own: gunicorn >= 25.1 would open ~/.gunicorn/gunicorn.ctl unless the
    # example's gunicorn.conf.py (read from the cwd) turns the control socket off
    env = dict(os.environ, **local_stack.environ(), HOME=str(tmp_path))
    env.pop("XDG_RUNTIME_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "--preload", "wsgi:app"],
        cwd=os.path.join(REPO, "examples", "flask_app"), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        check_concurrent_orders(f"http://127.0.0.1:{port}", 5000, 24)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert "gthread" in err.decode(errors="replace")  # the config file's worker class was used
    assert not (tmp_path / ".gunicorn").exists(), "gunicorn opened its shared control socket"


def test_admission_control_answers_503_with_retry_after(local_stack):
    from ..support.net import wait_until

    app = Flask(__name__)
    app.config.update(local_stack.flask_config(),
                      ZEEBE_AFFINITY_CLIENT_OPTIONS={"max_pending": 1, "retry_after": 2.0})
    ext = ZeebeAffinity(app)

    @app.post("/slow")
    @ext.process("slow-process", timeout=10)
    def slow():
        return {"marker": request.get_json()["marker"]}

    first: List[Any] = []
    try:
        client = app.test_client()
        waiting = threading.Thread(
            target=lambda: first.append(client.post("/slow", json={"marker": "first"})))
        waiting.start()
        with app.app_context():
            wait_until(lambda: ext.client.pending_count == 1, timeout=10)
        refused = client.post("/slow", json={"marker": "second"})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "2"
        assert refused.get_json()["error"] == "overloaded"
        waiting.join(15)
        assert first[0].status_code == 200 and first[0].get_json() == {"marker": "first"}
    finally:
        ext.close(app)


@pytest.mark.parametrize(
    "key, address, error, says",
    [
        ("ZEEBE_ADDRESS", "127.0.0.1:{port}", "gateway-unavailable", "is ZEEBE_ADDRESS right?"),
        ("ZEEBE_AFFINITY_URL", "ws://127.0.0.1:{port}/", "affinity-unavailable", "ws://127.0.0.1:{port}"),
    ],
    ids=["gateway-down", "hub-down"],
)
def test_a_part_that_is_down_answers_503(local_stack, key, address, error, says, caplog):
    app = Flask(__name__)
    port = free_port()
    # nothing listens on a port that was free a moment ago
    app.config.update(local_stack.flask_config(), **{key: address.format(port=port)})
    ext = ZeebeAffinity(app)

    @app.post("/orders")
    @ext.process("order-process", timeout=1)
    def order():
        return request.get_json()

    try:
        with caplog.at_level("WARNING", logger="zeebe_affinity_sync.web"):
            response = app.test_client().post("/orders", json=make_order(3)[0])
    finally:
        ext.close(app)
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == error
    # the HTTP client reads a stable code and a plain sentence; the address is for the log only
    assert "127.0.0.1" not in str(body) and str(port) not in str(body)
    assert says.format(port=port) in caplog.text
