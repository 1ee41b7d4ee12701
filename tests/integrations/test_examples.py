"""The examples as a user runs them: with no ZEEBE_ADDRESS they start the embedded engine, a hub
and the workers themselves; their BPMN files are the package's."""
from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import urllib.request

import pytest

from zeebe_affinity_sync.commands.demo import make_order
from zeebe_affinity_sync.demo import BPMN_FILES

from ..support.net import free_port, wait_for_port
from .conftest import REPO
from .procs import PYTHON, alive, running, stop

EXAMPLES = os.path.join(REPO, "examples")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEEBE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _order(base: str) -> dict:
    order, expected = make_order(42)
    req = urllib.request.Request(base + "/orders", data=json.dumps(order).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    assert {k: body[k] for k in expected} == expected
    return body


@pytest.mark.parametrize("example", ["flask_app", "django_app"])
def test_example_bpmn_files_are_the_packages(example):
    for path in BPMN_FILES:
        copy = os.path.join(EXAMPLES, example, "bpmn", os.path.basename(path))
        assert filecmp.cmp(path, copy, shallow=False), f"{copy} differs from {path}: copy it again"


def _hub_pid(lines) -> int:
    for line in lines:
        match = re.search(r"affinity hub \(gunicorn pid (\d+)\)", line)
        if match:
            return int(match.group(1))
    raise AssertionError("no hub pid in the output")


def test_flask_example_starts_its_own_stack_and_stops_it():
    with running([*PYTHON, "app.py", "--port", "0"], cwd=os.path.join(EXAMPLES, "flask_app"),
                 env=_env()) as (proc, out):
        line = out.wait_for("example app on http://", timeout=60)
        base = re.search(r"(http://[\d.]+:\d+)/", line).group(1)
        hub_pid = _hub_pid(out.seen)
        _order(base)
        with urllib.request.urlopen(base + "/", timeout=10) as resp:
            assert b"<title>zeebe-affinity-sync chat</title>" in resp.read()
        assert stop(proc, out) == 0
        out.rest()
        assert not alive(hub_pid)


def test_django_example_runserver_starts_its_own_stack_and_stops_it():
    port = free_port()
    with running([*PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                 cwd=os.path.join(EXAMPLES, "django_app"), env=_env()) as (proc, out):
        out.wait_for("affinity hub (gunicorn pid", timeout=60)
        hub_pid = _hub_pid(out.seen)
        wait_for_port("127.0.0.1", port, timeout=60)
        _order(f"http://127.0.0.1:{port}")
        assert stop(proc, out) == 0
        out.rest()
        assert not alive(hub_pid)


def test_flask_example_workers_serve_a_real_zeebe_and_stop_on_sigterm():
    from zeebe_affinity_sync.demo.flask_app import affinity, create_app
    from zeebe_affinity_sync.demo.stack import LocalStack

    # engine + hub only: the example's workers.py deploys the BPMN and does every job
    with LocalStack(workers=False, bpmn_files=()) as stack, running(
        [*PYTHON, "workers.py"], cwd=os.path.join(EXAMPLES, "flask_app"), env=dict(_env(), **stack.environ())
    ) as (proc, out):
        out.wait_for("workers running", timeout=60)
        app = create_app(stack.flask_config())
        try:
            order, expected = make_order(77)
            response = app.test_client().post("/orders", json=order)
        finally:
            affinity.close(app)
        assert response.status_code == 200, response.get_json()
        assert {k: response.get_json()[k] for k in expected} == expected
        assert stop(proc, out) == 0
        out.rest()


def test_django_example_needs_no_flask():
    # A Django shop installs zeebe-affinity-sync[django]: its views must import without Flask.
    code = (
        "import sys; sys.modules['flask'] = sys.modules['werkzeug'] = None\n"
        "import django; django.setup()\n"
        "import shop.urls\n"
        "print('imported', sorted(m for m in sys.modules if m.startswith(('flask', 'werkzeug')) and sys.modules[m]))\n"
    )
    env = dict(_env(), DJANGO_SETTINGS_MODULE="shop.settings")
    proc = subprocess.run([*PYTHON, "-c", code], cwd=os.path.join(EXAMPLES, "django_app"), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "imported []"
