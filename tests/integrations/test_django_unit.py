"""The Django app against a fake client, through Django's test client: decorators, middleware,
lazy settings with override_settings, configuration errors."""
from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from zeebe_affinity_sync import errors
from zeebe_affinity_sync.django import close_client, get_client
from zeebe_affinity_sync.django.conf import get_settings

from .cases import BODY_CASES, ERROR_CASES, KEY, LEAKY_ERRORS, check_answer, check_no_internals
from .fakes import FakeAffinityClient

#: the fake the CLIENT_FACTORY below hands out; replaced per test by the fixture
CURRENT: Dict[str, Any] = {}
FACTORY_CALLS = []


def fake_factory(settings):
    FACTORY_CALLS.append(settings)
    return CURRENT["fake"]


BASE = {"CLIENT_FACTORY": "tests.integrations.test_django_unit.fake_factory"}


@pytest.fixture
def fake() -> Iterator[FakeAffinityClient]:
    CURRENT["fake"] = FakeAffinityClient()
    FACTORY_CALLS.clear()
    with override_settings(ZEEBE_AFFINITY=dict(BASE)):
        yield CURRENT["fake"]
    close_client()


def headers_of(response) -> Dict[str, str]:
    return {k: v for k, v in response.headers.items()}


def test_decorator_answers_with_the_outcome(fake):
    response = Client().post("/orders", {"orderId": 3}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"echo": {"orderId": 3}, "process": "order-process"}
    assert response["X-Process-Instance-Key"] == str(fake.next_key)
    assert fake.calls == [("create", ("order-process", {"orderId": 3}), {"version": None, "timeout": 10})]


def test_a_view_may_answer_by_itself(fake):
    response = Client().post("/orders", {"reject": True}, content_type="application/json")
    assert response.status_code == 400
    assert fake.calls == []


def test_a_view_returning_no_dict_is_a_programming_error(fake):
    with pytest.raises(TypeError, match="'broken' must return the process variables as a dict"):
        Client().get("/broken")


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_mapping_of_the_decorator(fake, case):
    fake.error = case[1]
    response = Client().post("/orders", {}, content_type="application/json")
    check_answer(response.status_code, response.json(), headers_of(response), case)


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_middleware_maps_errors_of_custom_views(fake, case):
    fake.error = case[1]
    response = Client().get("/custom")
    check_answer(response.status_code, response.json(), headers_of(response), case)


def test_middleware_leaves_other_exceptions_to_django(fake):
    fake.error = KeyError("not ours")
    with pytest.raises(KeyError):
        Client().get("/custom")


def test_message_decorator(fake):
    response = Client().post("/chat/77", {"text": "hello"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"message": "chat-message", "echo": {"text": "hello"}}
    assert fake.calls == [("publish", ("chat-message", "77", 77, {"text": "hello"}), {"timeout": 5})]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_mapping_of_the_message_decorator(fake, case):
    fake.error = case[1]
    response = Client().post("/chat/77", {"text": "hello"}, content_type="application/json")
    check_answer(response.status_code, response.json(), headers_of(response), case)


def test_the_reserved_variable_in_a_request_body_is_bad_input(fake):
    # the order view passes the client's JSON through: a client must not be able to cause a 500
    response = Client().post("/orders", {"_affinity_request_id": "spoofed"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid-argument"
    assert "'_affinity_request_id' is reserved" in response.json()["message"]
    assert fake.calls == []


def test_override_settings_is_seen_and_gets_a_new_client(fake):
    fake.error = errors.AffinityTimeout("slow", process_instance_key=KEY)
    assert Client().post("/orders", {}, content_type="application/json").status_code == 504
    first = get_client()
    with override_settings(ZEEBE_AFFINITY=dict(BASE, OUTCOME_URL="/outcomes/{key}", TIMEOUT=2)):
        assert get_settings().web.timeout == 2.0
        response = Client().post("/orders", {}, content_type="application/json")
        assert response.status_code == 202
        assert response["Location"] == f"/outcomes/{KEY}"
        assert first.closed  # the old client was closed when the setting changed
        fake.error = None
        collected = Client().get(response["Location"])
        assert collected.status_code == 200 and collected.json() == {"collected": True}
    assert len(FACTORY_CALLS) == 2
    assert get_settings().web.outcome_url is None
    get_client()
    assert len(FACTORY_CALLS) == 3 and FACTORY_CALLS[-1].outcome_url is None


def test_failure_status_override(fake):
    fake.error = errors.ProcessFailed("no", process_instance_key=KEY, variables={"why": "stock"})
    with override_settings(ZEEBE_AFFINITY=dict(BASE, FAILURE_STATUS=409)):
        response = Client().post("/orders", {}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["variables"] == {"why": "stock"}


def test_collect_pending_and_bad_key(fake):
    fake.error = errors.AffinityTimeout("not yet", process_instance_key=KEY)
    pending = Client().get(f"/outcomes/{KEY}")
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    assert Client().get("/outcomes/xyz").status_code == 400


def test_client_is_created_once_per_process(fake):
    assert FACTORY_CALLS == []
    assert get_client() is get_client() is fake
    assert len(FACTORY_CALLS) == 1


@pytest.mark.parametrize(
    "value, message",
    [
        ("ws://hub", "must be a dict"),
        ({"TIMOUT": 3}, r"unknown key\(s\) TIMOUT"),
        ({"STRATEGY": "carrier-pigeon"}, r'ZEEBE_AFFINITY\["STRATEGY"\] must be one of'),
        ({"STRATEGY": "redis"}, r'needs a Redis URL: set ZEEBE_AFFINITY\["REDIS_URL"\]'),
        ({"STRATEGY": "hub"}, r'needs the hub\'s URL: set ZEEBE_AFFINITY\["URL"\]'),
        ({"TIMEOUT": -1}, r'ZEEBE_AFFINITY\["TIMEOUT"\] must be > 0 seconds'),
        ({"FAILURE_STATUS": "x"}, r'ZEEBE_AFFINITY\["FAILURE_STATUS"\] = \'x\' is not a number'),
        ({"OUTCOME_URL": "/o"}, r'ZEEBE_AFFINITY\["OUTCOME_URL"\] = \'/o\' has no'),
        ({"CLIENT_FACTORY": "no.such.module.factory"}, "cannot be imported"),
        ({"WORKERS": "shop.workers.register"}, "must be a list of dotted paths"),
    ],
)
def test_bad_settings_raise_improperly_configured(value, message, monkeypatch):
    monkeypatch.delenv("ZEEBE_AFFINITY_URL", raising=False)
    with override_settings(ZEEBE_AFFINITY=value):
        with pytest.raises(ImproperlyConfigured, match=message):
            get_settings()
    close_client()


@pytest.mark.parametrize("case", BODY_CASES, ids=[c[0] for c in BODY_CASES])
@pytest.mark.parametrize("path", ["/passthrough", "/orders", "/chat/5"])
def test_a_body_that_is_no_json_object_is_a_400_json_answer(fake, case, path):
    if path == "/orders" and not case[1]:
        case = BODY_CASES[0]  # the /orders view reads an empty body as {} on purpose
    _, body, words = case
    response = Client().post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"] == "invalid-body"
    assert words in answer["message"]
    assert fake.calls == []


def test_a_json_object_body_still_reaches_the_process(fake):
    response = Client().post("/passthrough", {"orderId": 1}, content_type="application/json")
    assert response.status_code == 200
    assert fake.calls[0][1] == ("order-process", {"orderId": 1})


@pytest.mark.parametrize("exc", LEAKY_ERRORS, ids=lambda e: type(e).__name__)
def test_error_bodies_carry_no_addresses_and_the_log_has_them(fake, exc, caplog):
    fake.error = exc
    with caplog.at_level("INFO", logger="zeebe_affinity_sync.web"):
        response = Client().post("/orders", {"a": 1}, content_type="application/json")
    check_no_internals(response.json())
    assert str(exc) in caplog.text


def test_a_client_option_the_client_refuses_is_improperly_configured(monkeypatch):
    monkeypatch.setenv("ZEEBE_AFFINITY_URL", "ws://127.0.0.1:9")
    with override_settings(ZEEBE_AFFINITY={"CLIENT_OPTIONS": {"max_pending": -1}}):
        with pytest.raises(ImproperlyConfigured, match=r'ZEEBE_AFFINITY\["CLIENT_OPTIONS"\]'):
            get_client()
    with override_settings(ZEEBE_AFFINITY={"CLIENT_OPTIONS": {"no_such_option": 1}}):
        with pytest.raises(ImproperlyConfigured, match="no_such_option"):
            get_client()
    close_client()


def test_the_old_mode_key_still_works_with_a_deprecation_warning(monkeypatch):
    with override_settings(ZEEBE_AFFINITY={"MODE": "with_result"}):
        with pytest.warns(DeprecationWarning, match=r'ZEEBE_AFFINITY\["MODE"\] is deprecated: call it ZEEBE_AFFINITY\["STRATEGY"\]'):
            assert get_settings().web.strategy == "with_result"
    close_client()
