"""zeebe_affinity_client behind a Flask view: ``ZeebeAffinity(app, client_factory=lambda: client)``."""
from __future__ import annotations

import pytest

from zeebe_affinity_sync.demo import BPMN_FILES
from zeebe_affinity_sync.testing import assert_that

flask = pytest.importorskip("flask")

ORDER = {"orderId": "A-1", "items": [{"sku": "tea", "quantity": 2, "priceCents": 450}]}


@pytest.fixture
def app(zeebe_engine, zeebe_affinity_client):
    from zeebe_affinity_sync.flask import ZeebeAffinity

    zeebe_engine.deploy(*BPMN_FILES)
    app = flask.Flask(__name__)
    affinity = ZeebeAffinity(app, client_factory=lambda: zeebe_affinity_client)

    @app.post("/orders")
    @affinity.process("order-process", timeout=5)
    def order():
        return flask.request.get_json()

    yield app
    affinity.close(app)  # harmless: the session owns the client


def _instance(zeebe_engine, process_id):
    [instance] = [i for i in zeebe_engine.process_instances() if i["bpmn_process_id"] == process_id]
    return instance["process_instance_key"]


def test_a_view_answers_with_the_process_outcome(app, zeebe_engine):
    price = zeebe_engine.mock_job_worker("price-order").then_complete({"totalCents": 900})
    zeebe_engine.mock_job_worker("reserve-stock").then_complete({"status": "confirmed"})
    response = app.test_client().post("/orders", json=ORDER)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["totalCents"] == 900 and response.get_json()["status"] == "confirmed"
    assert price.jobs[0]["orderId"] == "A-1"
    assert_that(_instance(zeebe_engine, "order-process")).is_completed() \
        .has_completed_elements_in_order("price-order", "reserve-stock", "publish-order-outcome")


def test_a_view_answers_the_failure_outcome(app, zeebe_engine):
    zeebe_engine.mock_job_worker("price-order")
    zeebe_engine.mock_job_worker("reserve-stock").then_throw_bpmn_error(
        "out-of-stock", "sold out", {"status": "rejected", "reason": "out-of-stock"})
    response = app.test_client().post("/orders", json=ORDER)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["variables"]["reason"] == "out-of-stock"
    assert_that(_instance(zeebe_engine, "order-process")).is_completed().has_completed_elements("out-of-stock") \
        .has_not_activated_elements("publish-order-outcome")


def test_the_client_survives_close_and_the_next_test(app, zeebe_engine, zeebe_affinity_client):
    zeebe_affinity_client.close()
    zeebe_engine.mock_job_worker("price-order")
    zeebe_engine.mock_job_worker("reserve-stock")
    assert app.test_client().post("/orders", json=ORDER).status_code == 200


def test_the_affinity_client_waits_for_the_outcome(zeebe_engine, zeebe_affinity_client):
    zeebe_engine.deploy(*BPMN_FILES)
    zeebe_engine.mock_job_worker("price-order").then_complete({"totalCents": 450})
    zeebe_engine.mock_job_worker("reserve-stock")
    outcome = zeebe_affinity_client.create_process_instance_with_affinity("order-process", {"orderId": "B-1"},
                                                                         timeout=5)
    assert outcome.variables["totalCents"] == 450
    assert_that(outcome).is_completed().has_completed_elements("publish-order-outcome", "order-confirmed")


def test_with_result_calls_see_the_mocks(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(*BPMN_FILES)
    zeebe_engine.mock_job_worker("price-order").then_complete({"totalCents": 1})
    zeebe_engine.mock_job_worker("reserve-stock")
    zeebe_engine.mock_job_worker("publish-outcome")
    result = zeebe_client.create_process_instance_with_result("order-process", {"orderId": "B-2"}, timeout=5)
    assert result.variables["totalCents"] == 1
