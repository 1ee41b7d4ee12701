"""Each assertion of assert_that(), holding and failing, with the failure text checked."""
from __future__ import annotations

import time

import pytest

from zeebe_affinity_sync.testing import ANY, ProcessAssertionError, assert_that

from .conftest import bpmn

SHORT = 0.3  # s: the wait of an assertion that is expected to fail by timing out


@pytest.fixture
def three(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    return zeebe_client.create_process_instance("three-tasks", {"orderId": "A-1"})


def test_accepts_instance_outcome_and_key(zeebe_engine, three):
    from zeebe_affinity_sync.affinity.outcome import ProcessOutcome

    assert_that(three).is_active()
    assert_that(three.process_instance_key).is_active()
    assert_that(ProcessOutcome(process_instance_key=three.process_instance_key)).is_active()
    with pytest.raises(TypeError, match="ProcessInstance, a ProcessOutcome or an instance key"):
        assert_that(object())


def test_is_active_and_is_completed(zeebe_engine, three):
    assert_that(three).is_active()
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(three, timeout=SHORT).is_completed()
    text = str(failure.value)
    assert f"expected process instance {three.process_instance_key} of 'three-tasks' v1 (active) to be completed, " \
           "but it is active (waited 0.3 s)" in text
    assert "path taken:      start (completed) -> task-a (active)" in text
    assert "active elements: task-a" in text
    assert 'variables:       {"orderId": "A-1"}' in text
    assert "incidents:       none" in text

    for job_type in ("a", "b", "c"):
        zeebe_engine.mock_job_worker(job_type).then_complete({f"{job_type}-done": True})
    assert_that(three).is_completed().has_variables({"a-done": True, "b-done": True, "c-done": True})
    started = time.monotonic()
    with pytest.raises(ProcessAssertionError, match="to be active, but it is completed") as failure:
        assert_that(three, timeout=30).is_active()
    assert time.monotonic() - started < 5, "an ended instance must fail at once, not wait out the timeout"
    assert "(waited" not in str(failure.value)


def test_is_terminated(zeebe_engine, zeebe_client, three):
    with pytest.raises(ProcessAssertionError, match="to be terminated, but it is active"):
        assert_that(three, timeout=SHORT).is_terminated()
    zeebe_client.cancel_process_instance(three.process_instance_key)
    assert_that(three).is_terminated().has_terminated_elements("task-a")
    with pytest.raises(ProcessAssertionError, match="to be completed, but it is terminated"):
        assert_that(three).is_completed()


def test_completed_elements_and_their_order(zeebe_engine, three):
    zeebe_engine.mock_job_worker("a")
    zeebe_engine.mock_job_worker("b")
    assert_that(three).has_completed_elements("task-b", "task-a")
    assert_that(three).has_completed_elements_in_order("start", "task-a", "task-b")
    assert_that(three).has_completed_elements_in_order("start", "task-b")
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(three, timeout=SHORT).has_completed_elements("task-a", "task-c")
    assert "to have completed task-a, task-c, but not completed: task-c (waited 0.3 s)" in str(failure.value)
    assert "start (completed) -> task-a (completed) -> task-b (completed) -> task-c (active)" in str(failure.value)
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(three, timeout=SHORT).has_completed_elements_in_order("task-b", "task-a")
    assert "to have completed task-b, task-a in this order, but completion order: start, task-a, task-b" \
        in str(failure.value)


def test_active_terminated_and_not_activated_elements(zeebe_engine, zeebe_client, three):
    assert_that(three).has_active_elements("task-a").has_not_activated_elements("task-b", "task-c", "end")
    with pytest.raises(ProcessAssertionError, match="to have active task-b, but not active: task-b"):
        assert_that(three, timeout=SHORT).has_active_elements("task-b")
    with pytest.raises(ProcessAssertionError, match="not to have activated task-a, task-c, but activated: task-a"):
        assert_that(three, timeout=30).has_not_activated_elements("task-a", "task-c")  # fails at once
    with pytest.raises(ProcessAssertionError, match="to have terminated task-a, but not terminated: task-a"):
        assert_that(three, timeout=SHORT).has_terminated_elements("task-a")


def test_unknown_element_id_fails_at_once_with_the_ids_that_exist(zeebe_engine, three):
    started = time.monotonic()
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(three, timeout=30).has_completed_elements("task-A")
    assert time.monotonic() - started < 5
    text = str(failure.value)
    assert "has_completed_elements(): no element 'task-A' in process 'three-tasks' (did you mean 'task-a'?)" in text
    assert "its element ids: start, task-a, task-b, task-c, end" in text
    for method in ("has_completed_elements_in_order", "has_active_elements", "has_terminated_elements",
                   "has_not_activated_elements"):
        with pytest.raises(ProcessAssertionError, match=f"{method}\\(\\): no element 'nope'"):
            getattr(assert_that(three, timeout=30), method)("nope")


def test_variables(zeebe_engine, three):
    zeebe_engine.mock_job_worker("a").then_complete({"total": 42, "items": [1, 2]})
    assert_that(three).has_variable("total").has_variable("total", 42).has_variable("items", [1, 2])
    assert_that(three).has_variables({"orderId": "A-1", "total": 42, "items": ANY})
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(three, timeout=SHORT).has_variable("total", 43)
    assert "to have the variable total = 43, but total = 42" in str(failure.value)
    assert '"total": 42' in str(failure.value)
    with pytest.raises(ProcessAssertionError, match="to have the variable missing, but there is no variable 'missing'"):
        assert_that(three, timeout=SHORT).has_variable("missing")
    with pytest.raises(ProcessAssertionError, match='but total = 42; nothing is missing'):
        assert_that(three, timeout=SHORT).has_variables({"total": 1, "nothing": 2})


def test_incidents(zeebe_engine, three):
    assert_that(three).has_no_incidents()
    with pytest.raises(ProcessAssertionError, match="to have an incident, but no matching incident"):
        assert_that(three, timeout=SHORT).has_incident()
    zeebe_engine.mock_job_worker("a").then_fail("the pricing service is down")
    assert_that(three).has_incident().has_incident("JOB_NO_RETRIES", "pricing service")
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(three, timeout=30).has_no_incidents()  # fails at once
    text = str(failure.value)
    assert "to have no incidents, but 1 open incident(s)" in text
    assert "incidents:       JOB_NO_RETRIES at task-a: 'the pricing service is down'" in text
    with pytest.raises(ProcessAssertionError,
                       match="to have an incident of type IO_MAPPING_ERROR whose message contains 'x', but no matching"):
        assert_that(three, timeout=SHORT).has_incident("IO_MAPPING_ERROR", message_contains="x")


def test_waiting_for_messages(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("message.bpmn"))
    instance = zeebe_client.create_process_instance("message-wait", {"orderId": "A-7"})
    assert_that(instance).is_waiting_for_messages("payment-received").has_active_elements("await-payment")
    with pytest.raises(ProcessAssertionError) as failure:
        assert_that(instance, timeout=SHORT).is_waiting_for_messages("refund-requested")
    assert "not waiting for refund-requested; waiting for payment-received" in str(failure.value)
    assert "waiting for:     payment-received (messages)" in str(failure.value)
    zeebe_client.publish_message("payment-received", "A-7", {"paid": True})
    assert_that(instance).is_completed().has_variable("paid", True).has_completed_elements("await-payment")
    with pytest.raises(ProcessAssertionError, match="waiting for no message"):
        assert_that(instance).is_waiting_for_messages("payment-received")


def test_called_process(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("call-activity.bpmn"))
    zeebe_engine.mock_child_process("shipping", {"trackingId": "T-1"})
    instance = zeebe_client.create_process_instance("parent")
    assert_that(instance).is_completed().has_called_process("shipping").has_variable("trackingId", "T-1")
    with pytest.raises(ProcessAssertionError, match="to have called the process 'billing', but called: shipping"):
        assert_that(instance).has_called_process("billing")


def test_unknown_instance(zeebe_engine):
    with pytest.raises(ProcessAssertionError, match="process instance 12345 to be completed, but it does not exist"):
        assert_that(12345, timeout=30).is_completed()


def test_timeout_argument_is_checked(zeebe_engine, three):
    with pytest.raises(ValueError, match="timeout must be a finite number"):
        assert_that(three, timeout=-1)


def test_no_engine_is_a_clear_error():
    with pytest.raises(RuntimeError, match="request the zeebe_engine fixture"):
        assert_that(1)


def test_waiting_for_messages_of_boundary_events(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("message-boundaries.bpmn"))
    instance = zeebe_client.create_process_instance("message-boundaries", {"orderId": "A-9"})
    assert_that(instance).is_waiting_for_messages("order-cancelled", "address-updated")
    zeebe_client.publish_message("address-updated", "A-9")  # non-interrupting: still subscribed
    assert_that(instance).has_completed_elements("address-changed", "noted") \
        .is_waiting_for_messages("order-cancelled", "address-updated").has_active_elements("ship")
    zeebe_client.publish_message("order-cancelled", "A-9")
    assert_that(instance).is_completed().has_terminated_elements("ship").has_completed_elements("refunded")


def test_elements_inside_an_embedded_subprocess(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("subprocess.bpmn"))
    instance = zeebe_client.create_process_instance("with-subprocess")
    assert_that(instance).has_active_elements("pack", "pick")
    with pytest.raises(ProcessAssertionError, match="its element ids: start, pack, pack-start, pick, pack-end, end"):
        assert_that(instance).has_active_elements("pik")
    zeebe_engine.complete_job("pick")
    assert_that(instance).is_completed().has_completed_elements_in_order("pack-start", "pick", "pack-end", "pack")
