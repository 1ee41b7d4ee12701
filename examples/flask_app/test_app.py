"""Tests of the example: its processes and its views, on the embedded engine, in milliseconds.

Run them with ``pytest`` in this folder (``pip install "zeebe-affinity-sync[flask,hub]" pytest``):
the ``zeebe_engine``, ``zeebe_client`` and ``zeebe_affinity_client`` fixtures come from the
package's pytest plugin; no Zeebe, no Docker, no hub to start. See docs/testing.md.
"""
from __future__ import annotations

import glob
import os

import pytest

from zeebe_affinity_sync.demo.flask_app import affinity, create_app
from zeebe_affinity_sync.demo.workers import chat_open, chat_reply, price_order, reserve_stock
from zeebe_affinity_sync.testing import assert_that

HERE = os.path.dirname(os.path.abspath(__file__))
BPMN = sorted(glob.glob(os.path.join(HERE, "bpmn", "*.bpmn")))
TEA = {"orderId": "A-1", "items": [{"sku": "tea", "quantity": 2, "priceCents": 450}]}
SOLD_OUT = {"orderId": "A-2", "items": [{"sku": "sold-out", "quantity": 1, "priceCents": 100}]}


@pytest.fixture
def engine(zeebe_engine):
    """The engine with the example's processes and its real business handlers as mocks."""
    zeebe_engine.deploy(*BPMN)
    zeebe_engine.mock_job_worker("price-order").with_handler(price_order)
    zeebe_engine.mock_job_worker("reserve-stock").with_handler(reserve_stock)
    zeebe_engine.mock_job_worker("chat-open").with_handler(chat_open)
    zeebe_engine.mock_job_worker("chat-reply").with_handler(chat_reply)
    return zeebe_engine


# ---------------------------------------------------------------------------- the processes


def test_an_order_is_priced_reserved_and_answered(engine, zeebe_client):
    relay = engine.mock_job_worker("publish-outcome")  # stands in for the affinity worker
    order = zeebe_client.create_process_instance("order-process", TEA)
    assert_that(order).is_completed() \
        .has_completed_elements_in_order("price-order", "reserve-stock", "publish-order-outcome", "order-confirmed") \
        .has_variables({"totalCents": 900, "itemCount": 2, "status": "confirmed", "reservation": "R-A-1"}) \
        .has_not_activated_elements("publish-order-failure")
    assert relay.jobs[0]["totalCents"] == 900


def test_a_sold_out_order_takes_the_failure_path(engine, zeebe_client):
    engine.mock_job_worker("publish-outcome")
    order = zeebe_client.create_process_instance("order-process", SOLD_OUT)
    assert_that(order).is_completed().has_terminated_elements("reserve-stock") \
        .has_completed_elements("out-of-stock", "publish-order-failure", "order-rejected") \
        .has_variables({"status": "rejected", "reason": "out-of-stock", "sku": "sold-out"}).has_no_incidents()


def test_a_broken_relay_leaves_an_incident(engine, zeebe_client):
    engine.mock_job_worker("publish-outcome").then_fail("hub unreachable")
    order = zeebe_client.create_process_instance("order-process", TEA)
    assert_that(order).is_active().has_active_elements("publish-order-outcome") \
        .has_incident("JOB_NO_RETRIES", "hub unreachable")


def test_a_chat_runs_rounds_until_bye(engine, zeebe_client):
    engine.mock_job_worker("publish-outcome")
    chat = zeebe_client.create_process_instance("chat")
    assert_that(chat).is_waiting_for_messages("chat-message").has_variable("round", 0)
    conversation = str(chat.process_instance_key)
    zeebe_client.publish_message("chat-message", conversation, {"text": "hello there"})
    assert_that(chat).is_waiting_for_messages("chat-message").has_variable("round", 1)
    zeebe_client.publish_message("chat-message", conversation, {"text": "bye"})
    assert_that(chat).is_completed().has_variables({"done": True, "reply": "Goodbye!", "round": 2})


# ---------------------------------------------------------------------------- the views


@pytest.fixture
def client(engine, zeebe_affinity_client):
    """The example's app wired to the test hub (the example builds its extension at import, so it
    gets the hub's address in its config, as it would from the environment)."""
    app = create_app({
        "ZEEBE_ADDRESS": engine.address,
        "ZEEBE_AFFINITY_URL": zeebe_affinity_client.affinity_url,
        "ZEEBE_AFFINITY_TOKEN": zeebe_affinity_client.affinity_token,
        "ZEEBE_AFFINITY_TIMEOUT": 5,
    })
    yield app.test_client()
    affinity.close(app)


def test_post_orders_answers_with_the_priced_order(client):
    response = client.post("/orders", json=TEA)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["totalCents"], body["status"], body["reservation"]) == (900, "confirmed", "R-A-1")


def test_post_orders_sold_out_answers_422(client):
    response = client.post("/orders", json=SOLD_OUT)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["variables"]["reason"] == "out-of-stock"


def test_a_bad_order_starts_no_process(client, engine):
    response = client.post("/orders", json={"orderId": "A-3"})
    assert response.status_code == 400
    engine.wait_for_idle()
    assert engine.process_instances() == []


def test_the_chat_endpoints(client, engine):
    welcome = client.post("/chat", json={})
    assert welcome.status_code == 200, welcome.get_json()
    conversation = welcome.get_json()["conversationId"]
    reply = client.post(f"/chat/{conversation}", json={"text": "bye"})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["reply"] == "Goodbye!"
    assert_that(int(conversation)).is_completed().has_completed_elements("chat-ended")
