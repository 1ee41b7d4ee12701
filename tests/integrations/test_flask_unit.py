"""ZeebeAffinity (Flask) against a fake client: decorators, error mapping, app factory, config.

The same extension runs against the real engine + hub in test_e2e_flask.py.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional

import pytest
from flask import Flask, jsonify, request

from zeebe_affinity_sync import errors
from zeebe_affinity_sync.flask import EXTENSION_KEY, MessageRound, ZeebeAffinity

from .cases import BODY_CASES, ERROR_CASES, KEY, LEAKY_ERRORS, check_answer, check_no_internals
from .fakes import FakeAffinityClient


def make_app(fake: FakeAffinityClient, config: Optional[Dict[str, Any]] = None, affinity=None):
    affinity = affinity or ZeebeAffinity(client_factory=lambda settings: fake)
    app = Flask(__name__)
    app.config.update(TESTING=True, **(config or {}))
    affinity.init_app(app)

    @app.post("/orders")
    @affinity.process("order-process", timeout=10)
    def order():
        body = request.get_json()
        if body.get("reject"):
            return {"error": "rejected by the view"}, 400
        return body

    @app.post("/versioned")
    @affinity.process("order-process", version=3)
    def versioned():
        return {"a": 1}

    @app.post("/passthrough")
    @affinity.process("order-process")
    def passthrough():
        return request.get_json()  # the README's first snippet

    @app.post("/broken")
    @affinity.process("order-process")
    def broken():
        return ["not", "a", "dict"]

    @app.post("/chat/<int:key>")
    @affinity.message("chat-message", timeout=5)
    def chat(key):
        return MessageRound(str(key), key, {"text": request.get_json()["text"]}, time_to_live=7.0)

    @app.post("/chat-broken")
    @affinity.message("chat-message")
    def chat_broken():
        return {"text": "a dict is not a round"}

    @app.get("/custom")
    def custom():
        outcome = affinity.client.create_process_instance_with_affinity("custom", {"x": 1}, timeout=1)
        return jsonify(outcome.variables)

    @app.get("/outcomes/<key>")
    def outcome(key):
        return affinity.collect(key)

    return app, affinity


@pytest.fixture
def fake() -> FakeAffinityClient:
    return FakeAffinityClient()


def test_process_decorator_answers_with_the_outcome(fake):
    app, _ = make_app(fake)
    response = app.test_client().post("/orders", json={"orderId": 7})
    assert response.status_code == 200
    assert response.get_json() == {"echo": {"orderId": 7}, "process": "order-process"}
    assert response.headers["X-Process-Instance-Key"] == str(fake.next_key)
    method, args, kwargs = fake.calls[0]
    assert (method, args) == ("create", ("order-process", {"orderId": 7}))
    assert kwargs == {"version": None, "timeout": 10}


def test_version_and_configured_timeout_are_passed(fake):
    app, _ = make_app(fake, {"ZEEBE_AFFINITY_TIMEOUT": "2.5"})
    assert app.test_client().post("/versioned").status_code == 200
    assert fake.calls[0][2] == {"version": 3, "timeout": 2.5}


def test_a_view_may_answer_by_itself(fake):
    app, _ = make_app(fake)
    response = app.test_client().post("/orders", json={"reject": True})
    assert response.status_code == 400
    assert response.get_json() == {"error": "rejected by the view"}
    assert fake.calls == []


def test_a_view_returning_no_dict_is_a_clear_programming_error(fake):
    app, _ = make_app(fake)
    with pytest.raises(TypeError, match="'broken' must return the process variables as a dict"):
        app.test_client().post("/broken")
    with pytest.raises(TypeError, match="must return a MessageRound"):
        app.test_client().post("/chat-broken")


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_mapping_of_the_decorator(fake, case):
    fake.error = case[1]
    app, _ = make_app(fake)
    response = app.test_client().post("/orders", json={"orderId": 1})
    check_answer(response.status_code, response.get_json(), response.headers, case)


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_mapping_of_custom_views_using_the_client(fake, case):
    fake.error = case[1]
    app, _ = make_app(fake)
    response = app.test_client().get("/custom")
    check_answer(response.status_code, response.get_json(), response.headers, case)


def test_timeout_answers_202_with_location_when_an_outcome_url_is_configured(fake):
    fake.error = errors.AffinityTimeout("slow", process_instance_key=KEY, timeout=10.0)
    app, _ = make_app(fake, {"ZEEBE_AFFINITY_OUTCOME_URL": "/outcomes/{key}"})
    client = app.test_client()
    response = client.post("/orders", json={})
    assert response.status_code == 202
    assert response.headers["Location"] == f"/outcomes/{KEY}"
    assert response.get_json()["processInstanceKey"] == str(KEY)
    fake.error = None
    collected = client.get(response.headers["Location"])
    assert collected.status_code == 200
    assert collected.get_json() == {"collected": True}
    assert fake.calls[-1] == ("get_outcome", (KEY,), {"timeout": 0.0})


def test_collect_answers_202_while_pending_and_400_for_a_bad_key(fake):
    app, _ = make_app(fake, {"ZEEBE_AFFINITY_OUTCOME_URL": "/outcomes/{key}"})
    client = app.test_client()
    fake.error = errors.AffinityTimeout("not yet", process_instance_key=KEY)
    pending = client.get(f"/outcomes/{KEY}")
    assert pending.status_code == 202
    assert pending.get_json()["status"] == "pending"
    assert pending.headers["Location"] == f"/outcomes/{KEY}"
    bad = client.get("/outcomes/abc")
    assert bad.status_code == 400
    assert "not an integer" in bad.get_json()["message"]


def test_failure_status_is_configurable(fake):
    fake.error = errors.ProcessFailed("no", process_instance_key=KEY, variables={"why": "x"})
    app, _ = make_app(fake, {"ZEEBE_AFFINITY_FAILURE_STATUS": 409})
    response = app.test_client().post("/orders", json={})
    assert response.status_code == 409
    assert response.get_json()["variables"] == {"why": "x"}


def test_message_decorator_publishes_and_answers(fake):
    app, _ = make_app(fake)
    response = app.test_client().post("/chat/42", json={"text": "hi"})
    assert response.status_code == 200
    assert response.get_json() == {"message": "chat-message", "echo": {"text": "hi"}}
    method, args, kwargs = fake.calls[0]
    assert (method, args) == ("publish", ("chat-message", "42", 42, {"text": "hi"}))
    assert kwargs == {"timeout": 5, "time_to_live": 7.0}


def test_message_decorator_timeout_carries_the_instance_key(fake):
    fake.error = errors.AffinityTimeout("no reply", process_instance_key=42, timeout=5.0)
    app, _ = make_app(fake)
    response = app.test_client().post("/chat/42", json={"text": "hi"})
    assert response.status_code == 504
    assert response.get_json()["processInstanceKey"] == "42"


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_mapping_of_the_message_decorator(fake, case):
    fake.error = case[1]
    app, _ = make_app(fake)
    response = app.test_client().post("/chat/42", json={"text": "hi"})
    check_answer(response.status_code, response.get_json(), response.headers, case)


def test_the_reserved_variable_in_a_request_body_is_bad_input(fake):
    # /orders passes the client's JSON through: a client must not be able to cause a 500
    app, _ = make_app(fake)
    response = app.test_client().post("/orders", json={"orderId": 1, "_affinity_request_id": "spoofed"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid-argument"
    assert "'_affinity_request_id' is reserved" in response.get_json()["message"]
    assert fake.calls == []


def test_the_reserved_variable_in_a_message_round_is_bad_input(fake):
    affinity = ZeebeAffinity(client_factory=lambda settings: fake)
    app = Flask(__name__)
    affinity.init_app(app)

    @app.post("/raw/<int:key>")
    @affinity.message("chat-message")
    def raw(key):
        return MessageRound(str(key), key, request.get_json())

    response = app.test_client().post("/raw/42", json={"_affinity_request_id": "spoofed"})
    assert response.status_code == 400
    assert "'_affinity_request_id' is reserved" in response.get_json()["message"]
    assert fake.calls == []


def test_app_factory_keeps_state_per_app_and_none_on_the_extension():
    fakes = {"a": FakeAffinityClient(), "b": FakeAffinityClient()}
    affinity = ZeebeAffinity(client_factory=lambda settings: fakes[settings.affinity_url])
    app_a, _ = make_app(fakes["a"], {"ZEEBE_AFFINITY_URL": "a"}, affinity)
    app_b, _ = make_app(fakes["b"], {"ZEEBE_AFFINITY_URL": "b", "ZEEBE_AFFINITY_TIMEOUT": 3}, affinity)
    assert not hasattr(affinity, "app")
    assert app_a.extensions[EXTENSION_KEY] is not app_b.extensions[EXTENSION_KEY]
    app_a.test_client().post("/orders", json={"n": 1})
    app_b.test_client().post("/chat/5", json={"text": "x"})
    assert [c[0] for c in fakes["a"].calls] == ["create"]
    assert [c[0] for c in fakes["b"].calls] == ["publish"]
    assert affinity.settings(app_b).timeout == 3.0
    with app_a.app_context():
        assert affinity.client is fakes["a"]


def test_init_app_sets_defaults_without_overriding_the_apps_config(fake):
    app, affinity = make_app(fake, {"ZEEBE_AFFINITY_TIMEOUT": 4, "ZEEBE_ADDRESS": "zeebe:26500"})
    assert app.config["ZEEBE_AFFINITY_TIMEOUT"] == 4
    assert app.config["ZEEBE_ADDRESS"] == "zeebe:26500"
    assert app.config["ZEEBE_AFFINITY_STRATEGY"] == "hub"
    assert app.config["ZEEBE_AFFINITY_FAILURE_STATUS"] == 422
    assert affinity.settings(app).zeebe_address == "zeebe:26500"


def test_second_registration_on_the_same_app_is_refused(fake):
    app, affinity = make_app(fake)
    with pytest.raises(RuntimeError, match="already registered"):
        affinity.init_app(app)
    with pytest.raises(RuntimeError, match="already registered"):
        ZeebeAffinity(app)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"ZEEBE_AFFINITY_STRATEGY": "websocket"}, "ZEEBE_AFFINITY_STRATEGY must be one of 'hub', 'redis', 'with_result'"),
        ({"ZEEBE_AFFINITY_TIMEOUT": "soon"}, "ZEEBE_AFFINITY_TIMEOUT = 'soon' is not a number"),
        ({"ZEEBE_AFFINITY_TIMEOUT": 0}, "ZEEBE_AFFINITY_TIMEOUT must be > 0 seconds"),
        ({"ZEEBE_AFFINITY_TIMEOUT": float("inf")}, "ZEEBE_AFFINITY_TIMEOUT must be a finite number"),
        ({"ZEEBE_AFFINITY_FAILURE_STATUS": 200}, "ZEEBE_AFFINITY_FAILURE_STATUS must be an HTTP status in 400..599"),
        ({"ZEEBE_AFFINITY_OUTCOME_URL": "/outcomes"}, "ZEEBE_AFFINITY_OUTCOME_URL = '/outcomes' has no '{key}' placeholder"),
        ({"ZEEBE_AFFINITY_STRATEGY": "redis"}, "needs a Redis URL: set ZEEBE_AFFINITY_REDIS_URL"),
        ({"ZEEBE_AFFINITY_TENANT_ID": ""}, "ZEEBE_AFFINITY_TENANT_ID must be a non-empty str"),
        ({"ZEEBE_AFFINITY_TENANT_ID": 7}, "ZEEBE_AFFINITY_TENANT_ID must be a non-empty str"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(config, message):
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(errors.ConfigurationError, match=message.replace("(", r"\(").replace("{", r"\{")):
        ZeebeAffinity().init_app(app)
    assert EXTENSION_KEY not in app.extensions


def test_client_is_lazy_and_shared_by_request_threads(fake):
    created = []

    def factory(settings):
        created.append(settings)
        return fake

    app, affinity = make_app(fake, affinity=ZeebeAffinity(client_factory=factory))
    assert created == []
    barrier = threading.Barrier(8)
    statuses = []

    def call():
        barrier.wait()
        statuses.append(app.test_client().post("/orders", json={"i": 1}).status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert len(created) == 1
    with app.app_context():
        affinity.close()
    assert fake.closed


def test_client_outside_an_app_context_says_what_to_do(fake):
    _, affinity = make_app(fake)
    with pytest.raises(RuntimeError, match="needs an application context"):
        affinity.client
    other = Flask("other")
    with other.app_context(), pytest.raises(RuntimeError, match="call affinity.init_app"):
        affinity.client


def test_decorators_work_in_blueprints_of_any_app(fake):
    from flask import Blueprint

    affinity = ZeebeAffinity(client_factory=lambda settings: fake)
    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.post("/orders")
    @affinity.process("order-process")
    def order():
        return {"n": 1}

    app = Flask(__name__)
    affinity.init_app(app)
    app.register_blueprint(shop)
    response = app.test_client().post("/shop/orders")
    assert response.status_code == 200
    assert response.get_json()["echo"] == {"n": 1}
    assert fake.calls[0][2]["timeout"] == 30.0  # the configured default


@pytest.mark.parametrize("case", BODY_CASES, ids=[c[0] for c in BODY_CASES])
@pytest.mark.parametrize("path", ["/passthrough", "/orders", "/chat/5"])
def test_a_body_that_is_no_json_object_is_a_400_json_answer(fake, case, path):
    _, body, words = case
    app, _ = make_app(fake)
    response = app.test_client().post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.data
    assert response.is_json
    answer = response.get_json()
    assert answer["error"] == "invalid-body"
    assert words in answer["message"]
    assert fake.calls == []


def test_a_json_object_body_still_reaches_the_process(fake):
    app, _ = make_app(fake)
    response = app.test_client().post("/passthrough", json={"orderId": 1})
    assert response.status_code == 200
    assert fake.calls[0][1] == ("order-process", {"orderId": 1})


def test_a_view_failing_on_a_good_body_is_still_its_own_error(fake):
    app, _ = make_app(fake)
    with pytest.raises(KeyError):  # {"no": "text"} is an object: the view's KeyError is a bug
        app.test_client().post("/chat/5", json={"no": "text"})


@pytest.mark.parametrize("exc", LEAKY_ERRORS, ids=lambda e: type(e).__name__)
def test_error_bodies_carry_no_addresses_and_the_log_has_them(fake, exc, caplog):
    fake.error = exc
    app, _ = make_app(fake)
    with caplog.at_level("INFO", logger="zeebe_affinity_sync.web"):
        response = app.test_client().post("/orders", json={"a": 1})
    check_no_internals(response.get_json())
    assert str(exc) in caplog.text


def test_the_old_mode_key_still_works_with_a_deprecation_warning(fake):
    app = Flask(__name__)
    app.config["ZEEBE_AFFINITY_MODE"] = "with_result"
    with pytest.warns(DeprecationWarning, match="ZEEBE_AFFINITY_MODE is deprecated: call it ZEEBE_AFFINITY_STRATEGY"):
        affinity = ZeebeAffinity(app, client_factory=lambda settings: fake)
    assert affinity.settings(app).strategy == "with_result" == affinity.settings(app).mode
    contradicting = Flask(__name__)
    contradicting.config.update(ZEEBE_AFFINITY_MODE="with_result", ZEEBE_AFFINITY_STRATEGY="redis")
    with pytest.warns(DeprecationWarning), pytest.raises(errors.ConfigurationError, match="contradicts"):
        ZeebeAffinity(contradicting)
