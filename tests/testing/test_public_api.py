"""The toolkit's public names (fixed by the issue) stay importable, and importing it starts nothing."""
from __future__ import annotations

import subprocess
import sys

import zeebe_affinity_sync.testing as toolkit

PUBLIC = ["assert_that", "ANY", "ProcessInstanceAssert", "ProcessAssertionError", "TestEngineBusy", "ZeebeTestEngine",
          "JobWorkerMock", "AffinityTestStack", "current_affinity_client"]


def test_public_names():
    assert sorted(toolkit.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(toolkit, name) is not None
    assert issubclass(toolkit.ProcessAssertionError, AssertionError)
    assert issubclass(toolkit.TestEngineBusy, TimeoutError)
    from zeebe_affinity_sync.engine import EmbeddedZeebe

    assert issubclass(toolkit.ZeebeTestEngine, EmbeddedZeebe)


def test_the_engine_methods_named_by_the_issue_exist():
    for name in ("deploy", "increase_time", "wait_for_idle", "mock_job_worker", "mock_child_process", "complete_job",
                 "complete_user_task", "throw_bpmn_error", "reset", "now", "records"):
        assert callable(getattr(toolkit.ZeebeTestEngine, name)), name
    for name in ("then_complete", "then_throw_bpmn_error", "then_fail", "with_handler"):
        assert callable(getattr(toolkit.JobWorkerMock, name)), name
    for name in ("is_active", "is_completed", "is_terminated", "has_completed_elements",
                 "has_completed_elements_in_order", "has_active_elements", "has_terminated_elements",
                 "has_not_activated_elements", "is_waiting_for_messages", "has_variable", "has_variables",
                 "has_no_incidents", "has_incident", "has_called_process"):
        assert callable(getattr(toolkit.ProcessInstanceAssert, name)), name


def test_importing_the_plugin_loads_no_engine_and_starts_no_thread():
    code = ("import sys, threading, zeebe_affinity_sync.testing.pytest_plugin\n"
            "from zeebe_affinity_sync.testing import assert_that\n"
            "print(len(threading.enumerate()), 'zeebe_affinity_sync.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["1", "False"]


def test_the_test_engine_needs_its_record_log():
    import pytest

    from zeebe_affinity_sync.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="needs the record log"):
        toolkit.ZeebeTestEngine(record_log_size=0)
