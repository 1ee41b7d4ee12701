"""The engine clock: timers on catch, boundary and start events fire when the test moves time."""
from __future__ import annotations

import datetime

import pytest

from zeebe_affinity_sync.errors import InvalidArgumentError
from zeebe_affinity_sync.testing import ProcessAssertionError, assert_that

from .conftest import bpmn


def test_timer_catch_event_waits_for_the_clock(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("timer-catch.bpmn"))
    remind = zeebe_engine.mock_job_worker("remind")
    instance = zeebe_client.create_process_instance("timer-catch")
    assert_that(instance).has_active_elements("wait-an-hour")
    zeebe_engine.increase_time(59 * 60)
    zeebe_engine.wait_for_idle()
    assert remind.invocations == 0
    assert_that(instance, timeout=0.2).has_active_elements("wait-an-hour").has_not_activated_elements("remind")
    zeebe_engine.increase_time(datetime.timedelta(minutes=1))
    assert remind.invocations == 1  # increase_time returns once the flow the timer started has settled
    assert_that(instance).is_completed().has_completed_elements_in_order("wait-an-hour", "remind", "end")


def test_timer_boundary_event_interrupts_the_task(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("timer-boundary.bpmn"))
    instance = zeebe_client.create_process_instance("timer-boundary")
    assert_that(instance).has_active_elements("review")
    zeebe_engine.increase_time(datetime.timedelta(minutes=10))
    assert_that(instance).is_completed().has_terminated_elements("review") \
        .has_completed_elements("review-overdue", "escalated").has_not_activated_elements("reviewed")


def test_a_task_done_in_time_cancels_the_boundary_timer(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("timer-boundary.bpmn"))
    instance = zeebe_client.create_process_instance("timer-boundary")
    zeebe_engine.complete_job("review")
    zeebe_engine.increase_time(3600)
    assert_that(instance).is_completed().has_completed_elements("reviewed").has_not_activated_elements("escalated")


def test_now_moves_with_the_clock(zeebe_engine):
    before = zeebe_engine.now()
    zeebe_engine.increase_time(datetime.timedelta(days=2))
    moved = zeebe_engine.now() - before
    assert datetime.timedelta(days=2) <= moved < datetime.timedelta(days=2, seconds=30)


def test_timer_start_event(zeebe_engine):
    try:
        zeebe_engine.deploy(bpmn("timer-start.bpmn"))
    except InvalidArgumentError as exc:
        pytest.skip(f"timer start events are not supported by this engine yet: {exc}")
    report = zeebe_engine.mock_job_worker("report")
    zeebe_engine.wait_for_idle()
    assert report.invocations == 0
    due = datetime.datetime(2030, 1, 1, 8, 0, tzinfo=datetime.timezone.utc)
    zeebe_engine.increase_time(due - zeebe_engine.now())
    zeebe_engine.wait_for_idle()
    assert report.invocations == 1
    instance = report.activated_jobs[0].process_instance_key
    assert_that(instance).is_completed().has_completed_elements("every-morning", "report")


def test_assertions_do_not_move_the_clock(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("timer-catch.bpmn"))
    instance = zeebe_client.create_process_instance("timer-catch")
    with pytest.raises(ProcessAssertionError, match="active elements: wait-an-hour"):
        assert_that(instance, timeout=0.3).is_completed()
