"""Tests of the Django example: its views answer with their process outcome, on the embedded engine.

Run them with ``pytest`` in this folder (``pip install "zeebe-affinity-sync[django,hub]" pytest``).
The settings point the app's client at the test session's: ``CLIENT_FACTORY`` set to
``zeebe_affinity_sync.testing.current_affinity_client`` hands the views the
``zeebe_affinity_client`` of the running test. See docs/testing.md.
"""
from __future__ import annotations

import glob
import os

import pytest
from django.conf import settings
from django.test import Client, override_settings

from zeebe_affinity_sync.demo.workers import chat_open, chat_reply, price_order, reserve_stock
from zeebe_affinity_sync.testing import assert_that

HERE = os.path.dirname(os.path.abspath(__file__))
BPMN = sorted(glob.glob(os.path.join(HERE, "bpmn", "*.bpmn")))
TEA = {"orderId": "A-1", "items": [{"sku": "tea", "quantity": 2, "priceCents": 450}]}


@pytest.fixture
def shop(zeebe_engine, zeebe_affinity_client):
    zeebe_engine.deploy(*BPMN)
    zeebe_engine.mock_job_worker("price-order").with_handler(price_order)
    zeebe_engine.mock_job_worker("reserve-stock").with_handler(reserve_stock)
    zeebe_engine.mock_job_worker("chat-open").with_handler(chat_open)
    zeebe_engine.mock_job_worker("chat-reply").with_handler(chat_reply)
    test_settings = dict(settings.ZEEBE_AFFINITY, TIMEOUT=5,
                         CLIENT_FACTORY="zeebe_affinity_sync.testing.current_affinity_client")
    with override_settings(ZEEBE_AFFINITY=test_settings):
        yield Client()


def _post(client, path, body):
    return client.post(path, data=body, content_type="application/json")


def test_an_order_answers_with_its_outcome(shop, zeebe_engine):
    response = _post(shop, "/orders", TEA)
    assert response.status_code == 200, response.content
    assert (response.json()["totalCents"], response.json()["status"]) == (900, "confirmed")
    [order] = zeebe_engine.process_instances()
    assert_that(order["process_instance_key"]).is_completed().has_completed_elements("order-confirmed")


def test_a_sold_out_order_answers_422(shop):
    response = _post(shop, "/orders", {"orderId": "A-2", "items": [{"sku": "sold-out", "quantity": 1,
                                                                    "priceCents": 1}]})
    assert response.status_code == 422, response.content
    assert response.json()["variables"]["sku"] == "sold-out"


def test_a_bad_order_is_refused_before_any_process(shop, zeebe_engine):
    assert _post(shop, "/orders", {"items": []}).status_code == 400
    assert zeebe_engine.process_instances() == []


def test_a_chat_round(shop):
    welcome = _post(shop, "/chat", {})
    assert welcome.status_code == 200, welcome.content
    conversation = welcome.json()["conversationId"]
    reply = _post(shop, f"/chat/{conversation}", {"text": "hello"})
    assert reply.status_code == 200, reply.content
    assert reply.json()["round"] == 1 and reply.json()["done"] is False
    assert_that(int(conversation)).is_active().is_waiting_for_messages("chat-message")
