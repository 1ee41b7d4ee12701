"""``zeebe-affinity demo`` as a real process: a full run, and Ctrl-C in the middle of one."""
from __future__ import annotations

import re
import signal
import subprocess

from zeebe_affinity_sync.commands.demo import LoadResult, _check, make_order, summary

from .conftest import REPO
from .procs import PYTHON, alive, running, stop


def demo_command(*args: str) -> list:
    return [*PYTHON, "-m", "zeebe_affinity_sync.cli", "demo", *args]


def test_demo_sends_the_requests_and_exits_0_when_each_got_its_own_outcome():
    proc = subprocess.run(
        demo_command("--requests", "30", "--concurrency", "6"),
        cwd=REPO, capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"answered correctly\s+30\n", out), out
    assert re.search(r"errors\s+0\n", out), out
    for metric in ("p50 latency", "p95 latency", "p99 latency", "throughput"):
        assert re.search(metric + r"\s+[\d.]+ (ms|requests/s)", out), (metric, out)
    assert "sample request and response:" in out and '"status": "confirmed"' in out
    assert "30/30 requests" in proc.stderr  # the progress bar (final state when not a tty)


def test_ctrl_c_stops_the_demo_and_its_hub():
    with running(demo_command("--requests", "1000000", "--concurrency", "4", "--no-progress"),
                 cwd=REPO) as (proc, out):
        line = out.wait_for("demo app on http://", timeout=60)
        hub_pid = int(re.search(r"hub pid (\d+)", line).group(1))
        assert alive(hub_pid)
        assert stop(proc, out, signal.SIGINT) == 130
        lines = out.rest()
        assert any(l.startswith("interrupted: stopping") for l in lines), lines[-20:]
        assert any(l.strip() == "stopped" for l in lines), lines[-20:]
        assert not alive(hub_pid)


def test_check_names_what_is_wrong_with_an_answer():
    _, expected = make_order(3)
    assert _check(200, dict(expected, extra=1), expected) is None
    wrong = _check(200, dict(expected, totalCents=expected["totalCents"] + 1), expected)
    assert wrong is not None and "wrong outcome" in wrong and "totalCents" in wrong
    assert "HTTP 504" in _check(504, {"error": "timeout"}, expected)


def test_orders_differ_and_the_summary_counts_errors():
    assert make_order(1) != make_order(2)
    result = LoadResult(latencies=[0.010, 0.020, 0.030], errors=["demo-4: HTTP 503"], done=4, elapsed=1.0)
    text = summary(result, requests=4, concurrency=2)
    assert re.search(r"answered correctly\s+3\n", text)
    assert re.search(r"errors\s+1\n", text)
    assert re.search(r"p50 latency\s+20\.0 ms", text)
    assert "demo-4: HTTP 503" in text
