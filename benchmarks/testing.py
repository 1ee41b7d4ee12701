"""What the pytest plugin costs: session start-up and per-test cost, as a user's tests pay them.

Measures, in this order:

1. **Session start-up** (``--sessions`` fresh processes): the time from a bare interpreter to a
   started ``ZeebeTestEngine`` answering its first gRPC call (``zeebe_client.topology()``), i.e.
   what the first test that asks for ``zeebe_engine`` + ``zeebe_client`` waits for; plus, in the
   same process, the in-process hub and relay worker behind ``zeebe_affinity_client``.
2. **Per-test cost, in-process** (``--tests``, default 200): what the fixtures and a typical test
   do - ``reset()``, deploy a three-task process, mock its three job types, create an instance
   over gRPC, ``assert_that(...).is_completed().has_completed_elements_in_order(...)`` - timed
   per test; prints p50 / p99 / max in milliseconds.
3. **Per-test cost, in a real pytest session**: the same test body as ``--tests`` parametrized
   tests in a generated test file, run by pytest in a subprocess with the plugin loaded; the
   setup + call + teardown durations pytest reports per test, p50 / p99, and the session's wall
   time. This includes pytest's own per-test overhead.

For comparison (published figures, not measured here): a Zeebe test container typically takes
~10 s to be ready (zeebe-test-container issue #214); Camunda Process Test's Camunda container has
a 60 s start-up budget that a CI run exceeded at ~57 s (camunda/camunda PR #53465, #57890); and
CPT test runs were reported to slow from 2 s to 25 s per test over 500 repetitions
(camunda/camunda issue #46638). See docs/testing.md.

Usage::

    python benchmarks/testing.py                 # 200 tests, 3 session start-ups
    python benchmarks/testing.py --tests 50 --sessions 1 --no-pytest   # quicker

Exit status 0 when every test passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import List, Sequence

THREE_TASKS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench" targetNamespace="http://example.test">
  <bpmn:process id="three-tasks" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="task-a"><bpmn:extensionElements><zeebe:taskDefinition type="a"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="task-b"><bpmn:extensionElements><zeebe:taskDefinition type="b"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="task-c"><bpmn:extensionElements><zeebe:taskDefinition type="c"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task-a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task-a" targetRef="task-b"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task-b" targetRef="task-c"/>
    <bpmn:sequenceFlow id="f4" sourceRef="task-c" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

STARTUP_SCRIPT = """
import json, time
t0 = time.perf_counter()
from zeebe_affinity_sync.testing.engine import ZeebeTestEngine
from zeebe_affinity_sync.zeebe.client import ZeebeClient
t_import = time.perf_counter()
engine = ZeebeTestEngine().start()
t_started = time.perf_counter()
client = ZeebeClient(engine.address)
client.topology()
t_ready = time.perf_counter()
from zeebe_affinity_sync.testing.hub import AffinityTestStack
stack = AffinityTestStack(engine).start()
t_hub = time.perf_counter()
stack.stop(); client.close(); engine.stop()
print(json.dumps({"import": t_import - t0, "start": t_started - t_import, "first_call": t_ready - t_started,
                  "hub": t_hub - t_ready}))
"""

TEST_FILE = '''
import pytest
from zeebe_affinity_sync.testing import assert_that

BPMN = {bpmn!r}

@pytest.mark.parametrize("n", range({tests}))
def test_three_tasks(zeebe_engine, zeebe_client, n):
    zeebe_engine.deploy(("three-tasks.bpmn", BPMN))
    for job_type in "abc":
        zeebe_engine.mock_job_worker(job_type).then_complete({{job_type: n}})
    instance = zeebe_client.create_process_instance("three-tasks", {{"n": n}})
    assert_that(instance).is_completed().has_completed_elements_in_order("task-a", "task-b", "task-c")
'''

CONFTEST = '''
import json, os
_durations = []

def pytest_runtest_logreport(report):
    _durations.append((report.nodeid, report.when, report.duration, report.outcome))

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(_durations, fh)
'''


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(q / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def report(name: str, seconds: List[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{name}: n={len(ms)} p50={percentile(ms, 50):.2f} ms p99={percentile(ms, 99):.2f} ms "
          f"max={max(ms):.2f} ms mean={statistics.mean(ms):.2f} ms")


def session_startup(sessions: int) -> None:
    rows = []
    for _ in range(sessions):
        out = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT], capture_output=True, text=True, timeout=120,
                             check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for key, label in (("import", "import the toolkit"), ("start", "start the engine"),
                       ("first_call", "first gRPC call answered"), ("hub", "hub + relay worker (affinity client)")):
        values = [r[key] * 1000 for r in rows]
        print(f"session start-up, {label}: median {statistics.median(values):.1f} ms "
              f"(runs: {', '.join(f'{v:.1f}' for v in values)})")
    engine_ready = [(r["start"] + r["first_call"]) * 1000 for r in rows]
    print(f"session start-up, engine ready for the first test (start + first call): "
          f"median {statistics.median(engine_ready):.1f} ms")


def per_test_in_process(tests: int) -> bool:
    from zeebe_affinity_sync.testing import assert_that
    from zeebe_affinity_sync.testing import settings
    from zeebe_affinity_sync.testing.engine import ZeebeTestEngine
    from zeebe_affinity_sync.zeebe.client import ZeebeClient

    engine = ZeebeTestEngine().start()
    client = ZeebeClient(engine.address)
    ok = True
    try:
        settings.use_engine(engine)
        timings = []
        for n in range(tests + 5):  # the first few warm up gRPC and the caches; not counted
            started = time.perf_counter()
            engine.reset()
            engine.deploy(("three-tasks.bpmn", THREE_TASKS.encode()))
            for job_type in "abc":
                engine.mock_job_worker(job_type).then_complete({job_type: n})
            instance = client.create_process_instance("three-tasks", {"n": n})
            try:
                assert_that(instance).is_completed().has_completed_elements_in_order("task-a", "task-b", "task-c")
            except AssertionError as exc:
                print(f"test {n} failed: {exc}", file=sys.stderr)
                ok = False
            engine.stop_mocks()
            if n >= 5:
                timings.append(time.perf_counter() - started)
        report(f"per test, in-process (reset, deploy, 3 mocks, 1 instance, 2 assertions)", timings)
    finally:
        settings.use_engine(None)
        client.close()
        engine.stop()
    return ok


def per_test_pytest(tests: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="zas-bench-") as tmp:
        with open(os.path.join(tmp, "test_bench.py"), "w") as fh:
            fh.write(TEST_FILE.format(bpmn=THREE_TASKS, tests=tests))
        with open(os.path.join(tmp, "conftest.py"), "w") as fh:
            fh.write(CONFTEST)
        out_path = os.path.join(tmp, "durations.json")
        env = dict(os.environ, BENCH_OUT=out_path)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tmp], cwd=tmp,
                              env=env, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
            return False
        with open(out_path) as fh:
            rows = json.load(fh)
    per_test: dict = {}
    for nodeid, _when, duration, _outcome in rows:
        per_test[nodeid] = per_test.get(nodeid, 0.0) + duration
    durations = list(per_test.values())
    first = durations[0]
    report("per test, real pytest session (setup + call + teardown, the first test excluded)", durations[1:])
    print(f"first test (starts the session's engine): {first * 1000:.1f} ms; whole session wall time "
          f"{wall:.2f} s for {tests} tests (interpreter, pytest and plugin start-up included)")
    return True


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=200, help="tests to time (default 200)")
    parser.add_argument("--sessions", type=int, default=3, help="fresh processes for the start-up figure")
    parser.add_argument("--no-pytest", action="store_true", help="skip the real pytest session run")
    args = parser.parse_args(list(argv) or None)
    session_startup(args.sessions)
    ok = per_test_in_process(args.tests)
    if not args.no_pytest:
        ok = per_test_pytest(args.tests) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
