"""Job-worker mocks of each kind, mocked child processes and the stepwise commands."""
from __future__ import annotations

import threading
import time

import pytest

from zeebe_affinity_sync.errors import BpmnError, InvalidArgumentError
from zeebe_affinity_sync.testing import ProcessAssertionError, assert_that
from zeebe_affinity_sync.zeebe.types import Job

from .conftest import bpmn


def test_then_complete_records_invocations_and_job_variables(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    a = zeebe_engine.mock_job_worker("a").then_complete({"priced": True})
    b = zeebe_engine.mock_job_worker("b").then_complete()
    c = zeebe_engine.mock_job_worker("c")  # default: complete without variables
    first = zeebe_client.create_process_instance("three-tasks", {"n": 1})
    second = zeebe_client.create_process_instance("three-tasks", {"n": 2})
    zeebe_engine.wait_for_idle()
    assert_that(first).is_completed()
    assert_that(second).is_completed().has_variable("priced", True)
    assert (a.invocations, b.invocations, c.invocations) == (2, 2, 2)
    assert a.jobs == [{"n": 1}, {"n": 2}]
    assert b.jobs == [{"n": 1, "priced": True}, {"n": 2, "priced": True}]
    assert [job.element_id for job in c.activated_jobs] == ["task-c", "task-c"]
    assert zeebe_engine.mock_job_worker("a") is a  # one mock per type


def test_wait_for_idle_drives_the_mocks_deterministically(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    for job_type in "abc":
        zeebe_engine.mock_job_worker(job_type)
    keys = [zeebe_client.create_process_instance("three-tasks").process_instance_key for _ in range(20)]
    zeebe_engine.wait_for_idle()
    # no assertion wait here: once idle, every mocked job has been answered
    states = {zeebe_engine.process_instance(key)["state"] for key in keys}
    assert states == {"COMPLETED"}
    assert zeebe_engine.is_idle()


def test_a_mock_takes_jobs_created_before_it(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    instance = zeebe_client.create_process_instance("three-tasks")
    assert_that(instance).has_active_elements("task-a")
    mock = zeebe_engine.mock_job_worker("a")
    assert_that(instance).has_completed_elements("task-a").has_active_elements("task-b")
    assert mock.invocations == 1


def test_then_throw_bpmn_error_is_caught_by_the_boundary_event(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("error.bpmn"))
    zeebe_engine.mock_job_worker("charge").then_throw_bpmn_error("card-declined", "declined by the bank",
                                                                  {"reason": "limit"})
    notify = zeebe_engine.mock_job_worker("notify")
    instance = zeebe_client.create_process_instance("payment")
    assert_that(instance).is_completed().has_completed_elements("declined", "notify", "payment-failed") \
        .has_not_activated_elements("paid").has_terminated_elements("charge").has_variable("reason", "limit")
    assert notify.invocations == 1


def test_an_uncaught_bpmn_error_is_an_incident(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("error.bpmn"))
    zeebe_engine.mock_job_worker("charge").then_throw_bpmn_error("no-such-code")
    instance = zeebe_client.create_process_instance("payment")
    assert_that(instance).is_active().has_incident("UNHANDLED_ERROR_EVENT", "no-such-code")


def test_then_fail_counts_the_retries_down_to_an_incident(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("error.bpmn"))  # charge has retries="3"
    mock = zeebe_engine.mock_job_worker("charge").then_fail("gateway timeout", retries=2)
    instance = zeebe_client.create_process_instance("payment")
    assert_that(instance).has_incident("JOB_NO_RETRIES", "gateway timeout")
    assert mock.invocations == 3  # 3 -> 2, 2 -> 1, 1 -> 0: incident


def test_with_handler_gets_variables_or_the_job(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    zeebe_engine.mock_job_worker("a").with_handler(lambda variables: {"double": variables["n"] * 2})

    def b(job: Job):
        return {"seen_by": job.element_id, "retries": job.retries}

    zeebe_engine.mock_job_worker("b").with_handler(b)
    zeebe_engine.mock_job_worker("c").with_handler(lambda: None)
    instance = zeebe_client.create_process_instance("three-tasks", {"n": 21})
    assert_that(instance).is_completed().has_variables({"double": 42, "seen_by": "task-b", "retries": 3})


def test_with_handler_raising(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("error.bpmn"))

    def charge(variables):
        raise BpmnError("card-declined", "no money", {"reason": "empty"})

    zeebe_engine.mock_job_worker("charge").with_handler(charge)
    zeebe_engine.mock_job_worker("notify").with_handler(lambda v: 1 / 0)
    instance = zeebe_client.create_process_instance("payment")
    assert_that(instance).has_completed_elements("declined").has_incident("JOB_NO_RETRIES", "ZeroDivisionError")
    assert zeebe_engine.mocks["notify"].invocations == 3
    assert zeebe_engine.mocks["notify"].handler_errors[0].startswith("ZeroDivisionError")


def test_mock_arguments_are_checked(zeebe_engine):
    with pytest.raises(ValueError, match="non-empty string"):
        zeebe_engine.mock_job_worker("")
    mock = zeebe_engine.mock_job_worker("x")
    with pytest.raises(TypeError, match="variables must be a dict"):
        mock.then_complete([1])
    with pytest.raises(ValueError, match="retries must be an int >= 0"):
        mock.then_fail("m", retries=-1)
    with pytest.raises(TypeError, match="needs a callable"):
        mock.with_handler("nope")


def test_mock_child_process(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("call-activity.bpmn"))
    zeebe_engine.mock_child_process("shipping", {"tracking": {"id": "T-1", "parcels": [1, 2.5, None, True]},
                                                 "note": 'say "hi"\\n'})
    instance = zeebe_client.create_process_instance("parent")
    assert_that(instance).is_completed().has_called_process("shipping").has_completed_elements("call-shipping") \
        .has_variables({"tracking": {"id": "T-1", "parcels": [1, 2.5, None, True]}, "note": 'say "hi"\\n'})
    with pytest.raises(ValueError, match="not a valid BPMN process id"):
        zeebe_engine.mock_child_process("1 bad id")


def test_mock_child_process_without_variables(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("call-activity.bpmn"))
    zeebe_engine.mock_child_process("shipping")
    assert_that(zeebe_client.create_process_instance("parent")).is_completed().has_called_process("shipping")


def test_stepwise_complete_job_and_throw_bpmn_error(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"), bpmn("error.bpmn"))
    instance = zeebe_client.create_process_instance("three-tasks")
    zeebe_engine.complete_job("a", {"step": 1})
    assert_that(instance).has_completed_elements("task-a").has_active_elements("task-b").has_variable("step", 1)
    zeebe_engine.complete_job("b")
    zeebe_engine.complete_job("c", process_instance_key=instance.process_instance_key)
    assert_that(instance).is_completed()

    payment = zeebe_client.create_process_instance("payment")
    zeebe_engine.throw_bpmn_error("charge", "card-declined", "declined")
    zeebe_engine.complete_job("notify")
    assert_that(payment).is_completed().has_completed_elements("payment-failed")


def test_stepwise_commands_fail_clearly(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    started = time.monotonic()
    with pytest.raises(ProcessAssertionError, match=r"no deployed process has a service task of type 'A' "
                                                    r"\(did you mean 'a'\?\); job types: a, b, c"):
        zeebe_engine.complete_job("A")
    assert time.monotonic() - started < 2, "a typo must not wait out the timeout"
    with pytest.raises(ProcessAssertionError, match="no job of type 'b' to answer after 0.2 s; jobs: none"):
        zeebe_engine.complete_job("b", timeout=0.2)
    zeebe_client.create_process_instance("three-tasks")
    with pytest.raises(ProcessAssertionError, match=r"jobs: a at task-a \(activatable, instance \d+\)"):
        zeebe_engine.throw_bpmn_error("b", "code", timeout=0.2)


def test_user_task(zeebe_engine, zeebe_client):
    try:
        zeebe_engine.deploy(bpmn("user-task.bpmn"))
    except InvalidArgumentError as exc:
        pytest.skip(f"user tasks are not supported by this engine yet: {exc}")
    instance = zeebe_client.create_process_instance("approval")
    assert_that(instance).has_active_elements("approve")
    zeebe_engine.complete_user_task("approve", {"approved": True})
    assert_that(instance).is_completed().has_completed_elements("approved").has_not_activated_elements("rejected")
    with pytest.raises(ProcessAssertionError, match="no deployed process has a user task with id 'aprove'"):
        zeebe_engine.complete_user_task("aprove")


def test_mocks_stop_with_the_test(zeebe_engine):
    zeebe_engine.mock_job_worker("x")
    assert any(t.name == "zeebe-test-mocks" for t in threading.enumerate())
    zeebe_engine.stop_mocks()
    assert not any(t.name == "zeebe-test-mocks" for t in threading.enumerate())
    assert zeebe_engine.mocks == {}


def test_instances_and_messages_without_grpc(zeebe_engine):
    zeebe_engine.deploy(bpmn("message.bpmn"))
    instance = zeebe_engine.create_process_instance("message-wait", {"orderId": "A-8"})
    assert (instance.bpmn_process_id, instance.version) == ("message-wait", 1)
    assert_that(instance).is_waiting_for_messages("payment-received")
    zeebe_engine.publish_message("payment-received", "A-8", {"amount": 12})
    assert_that(instance).is_completed().has_variable("amount", 12)
    with pytest.raises(TypeError, match="variables must be a dict"):
        zeebe_engine.create_process_instance("message-wait", ["no"])


def test_user_tasks_of_several_instances_and_job_worker_user_tasks(zeebe_engine, zeebe_client):
    try:
        zeebe_engine.deploy(bpmn("user-task.bpmn"), bpmn("user-task-job-worker.bpmn"))
    except InvalidArgumentError as exc:
        pytest.skip(f"user tasks are not supported by this engine yet: {exc}")
    first = zeebe_client.create_process_instance("approval")
    second = zeebe_client.create_process_instance("approval")
    zeebe_engine.complete_user_task("approve", {"approved": False})  # the oldest first
    assert_that(first).is_completed().has_completed_elements("rejected")
    assert_that(second).is_active().has_active_elements("approve")
    zeebe_engine.complete_user_task("approve", {"approved": True}, process_instance_key=second.process_instance_key)
    assert_that(second).is_completed().has_completed_elements("approved")

    legacy = zeebe_client.create_process_instance("approval-job-worker")
    assert_that(legacy).has_active_elements("approve")
    zeebe_engine.complete_user_task("approve", {"approved": True})
    assert_that(legacy).is_completed().has_completed_elements("approved")
    with pytest.raises(ProcessAssertionError, match="no open user task 'approve' after 0.2 s; open user tasks: none"):
        zeebe_engine.complete_user_task("approve", timeout=0.2)


def test_stepwise_commands_return_once_the_flow_settled(zeebe_engine, zeebe_client):
    zeebe_engine.deploy(bpmn("three-tasks.bpmn"))
    b = zeebe_engine.mock_job_worker("b").then_complete({"b": 1})
    instance = zeebe_engine.create_process_instance("three-tasks")
    zeebe_engine.complete_job("a")
    assert b.invocations == 1  # no wait needed: the mock ran before complete_job returned
    assert zeebe_engine.jobs()[0]["element_id"] == "task-c"
    assert_that(instance).has_active_elements("task-c").has_variable("b", 1)


def test_deploy_takes_paths_folders_tuples_and_xml(zeebe_engine, tmp_path):
    import pathlib

    xml = pathlib.Path(bpmn("three-tasks.bpmn")).read_text()
    (tmp_path / "one.bpmn").write_text(xml.replace('id="three-tasks"', 'id="from-folder"'))
    (tmp_path / "notes.txt").write_text("not BPMN")
    deployed = zeebe_engine.deploy(pathlib.Path(bpmn("message.bpmn")), str(tmp_path), ("t.bpmn", xml.encode()),
                                   xml.replace('id="three-tasks"', 'id="from-text"'))
    assert [d["bpmn_process_id"] for d in deployed] == ["message-wait", "from-folder", "three-tasks", "from-text"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no .bpmn file"):
        zeebe_engine.deploy(empty)
    with pytest.raises(TypeError, match="cannot deploy a int"):
        zeebe_engine.deploy(42)
