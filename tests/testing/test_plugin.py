"""The plugin in sessions of its own (pytester): registration, fixtures, ini option, reset between
tests, failure reports, xdist, and a session that asks for nothing and gets nothing started."""
from __future__ import annotations

import importlib.util

import pytest


def test_the_entry_point_registers_the_plugin(pytester):
    pytester.makepyfile(test_reg="""
        def test_registered(pytestconfig):
            plugin = pytestconfig.pluginmanager.get_plugin("zeebe_affinity")
            assert plugin is not None
            assert plugin.__name__ == "zeebe_affinity_sync.testing.pytest_plugin"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_session_that_asks_for_no_fixture_starts_nothing(user_session):
    result = user_session("""
        import sys, threading

        def test_plain():
            assert 1 + 1 == 2

        def test_nothing_running():
            assert [t.name for t in threading.enumerate()] == ["MainThread"]
            assert "zeebe_affinity_sync.engine" not in sys.modules
            assert "zeebe_affinity_sync.testing.engine" not in sys.modules
    """, "-p", "no:timeout", subprocess=True)
    result.assert_outcomes(passed=2)


def test_fixtures_in_a_user_session(user_session):
    result = user_session("""
        from zeebe_affinity_sync import ZeebeClient, ZBAffinityClient
        from zeebe_affinity_sync.engine import EmbeddedZeebe
        from zeebe_affinity_sync.testing import assert_that

        def test_engine_and_client(zeebe_engine, zeebe_client):
            assert isinstance(zeebe_engine, EmbeddedZeebe)
            assert isinstance(zeebe_client, ZeebeClient)
            assert zeebe_client.topology().brokers
            zeebe_engine.deploy("{BPMN}/three-tasks.bpmn")
            for t in "abc":
                zeebe_engine.mock_job_worker(t)
            assert_that(zeebe_client.create_process_instance("three-tasks")).is_completed()

        def test_affinity_client(zeebe_engine, zeebe_affinity_client):
            assert isinstance(zeebe_affinity_client, ZBAffinityClient)
    """)
    result.assert_outcomes(passed=2)


def test_reset_isolates_tests(user_session):
    result = user_session("""
        import datetime, threading
        import pytest
        from zeebe_affinity_sync.testing import assert_that

        seen = {}

        def test_first_leaves_a_mess(zeebe_engine, zeebe_client):
            zeebe_engine.deploy("{BPMN}/three-tasks.bpmn", "{BPMN}/timer-catch.bpmn")
            zeebe_engine.mock_job_worker("a")
            seen["key"] = zeebe_client.create_process_instance("three-tasks").process_instance_key
            assert_that(seen["key"]).has_completed_elements("task-a").is_active()
            zeebe_client.create_process_instance("timer-catch")
            zeebe_client.publish_message("m", "k", time_to_live=600)
            zeebe_engine.increase_time(datetime.timedelta(days=1))
            zeebe_engine.wait_for_idle()
            assert zeebe_engine.records()

        def test_second_starts_empty(zeebe_engine, zeebe_client):
            assert zeebe_engine.definitions() == []
            assert zeebe_engine.process_instances() == []
            assert zeebe_engine.jobs() == [] and zeebe_engine.messages() == [] and zeebe_engine.incidents() == []
            assert zeebe_engine.records() == []
            assert zeebe_engine.mocks == {}
            assert not [t for t in threading.enumerate() if t.name == "zeebe-test-mocks"], "mocks stop with their test"
            drift = abs((zeebe_engine.now() - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
            assert drift < 60, "the clock is back to real time"
            assert zeebe_engine.process_instance(seen["key"]) is None
            with pytest.raises(AssertionError, match="does not exist"):
                assert_that(seen["key"]).is_active()
    """)
    result.assert_outcomes(passed=2)


def test_failure_report_shows_the_path_and_the_state(user_session):
    result = user_session("""
        from zeebe_affinity_sync.testing import assert_that

        def test_fails(zeebe_engine, zeebe_client):
            zeebe_engine.deploy("{BPMN}/three-tasks.bpmn")
            zeebe_engine.mock_job_worker("a").then_complete({"total": 5})
            instance = zeebe_client.create_process_instance("three-tasks", {"orderId": "A-9"})
            assert_that(instance).is_completed()
    """, ini="zeebe_assert_timeout = 0.25")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*ProcessAssertionError: expected process instance * of 'three-tasks' v1 (active) to be completed, "
        "but it is active (waited 0.* s)*",
        "*path taken:      start (completed) -> task-a (completed) -> task-b (active)",
        "*active elements: task-b",
        '*variables:       {"orderId": "A-9", "total": 5}',
        "*incidents:       none",
    ])


def test_bad_ini_timeout_is_a_usage_error(user_session):
    result = user_session("def test_x():\n    pass\n", ini="zeebe_assert_timeout = soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*zeebe_assert_timeout = 'soon': give a positive number of seconds*"])


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed")
def test_each_xdist_worker_has_its_own_engine(user_session, tmp_path):
    out = tmp_path / "engines"
    out.mkdir()
    tests = "\n".join(f"""
def test_{i}(zeebe_engine, zeebe_client):
    import os
    zeebe_engine.deploy("{{BPMN}}/three-tasks.bpmn")
    zeebe_engine.mock_job_worker("a")
    assert_that(zeebe_client.create_process_instance("three-tasks")).has_completed_elements("task-a")
    (pathlib.Path({str(out)!r}) / "{i}").write_text(f"{{os.getpid()}} {{zeebe_engine.port}}")
""" for i in range(6))
    result = user_session("import pathlib\nfrom zeebe_affinity_sync.testing import assert_that\n" + tests,
                          "-n", "2", subprocess=True)
    result.assert_outcomes(passed=6)
    owners = {p.read_text() for p in out.iterdir()}
    pids = {o.split()[0] for o in owners}
    assert len(pids) == 2, owners
    assert len(owners) == 2, f"one engine per worker: {owners}"


def test_a_closed_zeebe_client_is_replaced_in_the_next_test(user_session):
    result = user_session("""
        def test_closes(zeebe_client):
            with zeebe_client:
                zeebe_client.topology()

        def test_next(zeebe_client):
            assert not zeebe_client.closed
            assert zeebe_client.topology().brokers
    """)
    result.assert_outcomes(passed=2)


def test_without_autoload_it_is_turned_on_by_its_name(user_session, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = user_session("""
        def test_engine(zeebe_engine):
            assert zeebe_engine.running
    """, "-p", "zeebe_affinity", subprocess=True)
    result.assert_outcomes(passed=1)


def test_listing_the_plugin_as_well_is_harmless(user_session, pytester):
    pytester.makeconftest('pytest_plugins = ["zeebe_affinity_sync.testing.pytest_plugin"]\n')
    result = user_session("""
        def test_engine(zeebe_engine, pytestconfig):
            assert zeebe_engine.running
            assert pytestconfig.pluginmanager.hasplugin("zeebe_affinity")
            assert pytestconfig.pluginmanager.hasplugin("zeebe_affinity_sync.testing.pytest_plugin")
    """)
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "zeebe_affinity_sync.testing.pytest_plugin")
    result.assert_outcomes(passed=1)


def test_it_can_be_turned_off(user_session):
    result = user_session("""
        def test_engine(zeebe_engine):
            pass
    """, "-p", "no:zeebe_affinity")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'zeebe_engine' not found*"])
