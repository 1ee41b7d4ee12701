"""The console script on a core install: building the parser imports no extra, ``engine`` and
``hub --help`` work without Flask, and a subcommand whose extra is missing prints an install
hint instead of a traceback. Each case runs in a fresh interpreter (``sys.modules`` of this one
already holds Flask)."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, List

import pytest

from .conftest import REPO

#: top-level modules of the extras ([hub], [redis], [flask], [django])
EXTRA_MODULES = ["flask", "werkzeug", "flask_sock", "simple_websocket", "gunicorn",
                 "prometheus_client", "redis", "django"]

#: run in the child: optionally make the extras uninstallable (``sys.modules[name] = None`` makes
#: both ``import name`` and ``importlib.util.find_spec(name)`` see it as absent), run the CLI, report
CHILD = """
import contextlib, io, json, sys
blocked = json.loads(sys.argv[1])
for name in blocked:
    sys.modules[name] = None
from zeebe_affinity_sync import cli
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = cli.main(json.loads(sys.argv[2]))
    except SystemExit as exc:
        code = exc.code
extras = json.loads(sys.argv[3])
loaded = sorted({m.split(".")[0] for m, mod in sys.modules.items() if mod is not None} & set(extras))
print(json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "loaded": loaded}))
"""


def run_cli(argv: List[str], *, blocked: List[str] = ()) -> Dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(list(blocked)), json.dumps(argv), json.dumps(EXTRA_MODULES)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("command", ["engine", "hub", "demo"])
def test_help_of_every_subcommand_imports_no_extra(command):
    result = run_cli([command, "--help"])
    assert result["code"] == 0, result["stderr"]
    assert f"usage: zeebe-affinity {command}" in result["stdout"]
    assert result["loaded"] == [], f"`zeebe-affinity {command} --help` imported {result['loaded']}"


@pytest.mark.parametrize("command", ["engine", "hub"])
def test_help_works_with_no_extra_installed(command):
    result = run_cli([command, "--help"], blocked=EXTRA_MODULES)
    assert result["code"] == 0, result["stderr"]
    assert "--help" in result["stdout"]


@pytest.mark.parametrize("command, extra", [("hub", "hub"), ("demo", "all")])
def test_a_missing_extra_gets_an_install_hint(command, extra):
    result = run_cli([command], blocked=["flask"])
    assert result["code"] == 2
    assert result["stderr"].strip() == (
        f"zeebe-affinity {command}: cannot run: flask not installed. "
        f'Install it with: pip install "zeebe-affinity-sync[{extra}]"'
    )


def test_engine_starts_with_no_extra_installed(tmp_path):
    # The engine starts (gRPC server up), then the deploy of a missing file stops it with exit 2:
    # everything up to there ran with every extra blocked.
    missing = str(tmp_path / "missing.bpmn")
    result = run_cli(["engine", "--port", "0", "--deploy", missing], blocked=EXTRA_MODULES)
    assert result["code"] == 2
    assert f"cannot deploy {missing}" in result["stderr"], result["stderr"]
    assert "Install it with" not in result["stderr"]
    assert result["loaded"] == []


@pytest.mark.parametrize("command", ["engine", "hub", "demo"])
def test_log_level_is_accepted_before_and_after_every_subcommand(command):
    from zeebe_affinity_sync import cli

    parser = cli.build_parser()
    assert parser.parse_args([command, "--log-level", "debug"]).log_level == "DEBUG"
    assert parser.parse_args(["--log-level", "WARNING", command]).log_level == "WARNING"
    assert parser.parse_args([command]).log_level == "INFO"
    # the flag after the subcommand wins over the one before it
    assert parser.parse_args(["--log-level", "ERROR", command, "--log-level", "DEBUG"]).log_level == "DEBUG"


def test_an_unknown_log_level_is_a_usage_error():
    result = run_cli(["hub", "--log-level", "LOUD"])
    assert result["code"] == 2
    assert "'LOUD' is not a logging level" in result["stderr"]


def test_engine_on_a_port_in_use_names_the_cli_flag_without_grpc_noise():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # a real child process: gRPC's C core writes to the process's stderr, not sys.stderr
        proc = subprocess.run([sys.executable, "-m", "zeebe_affinity_sync.cli", "engine", "--port", str(port)],
                              cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"zeebe-affinity engine: cannot start: port {port} on 127.0.0.1 is already in use (another engine "
        "or a Zeebe gateway?): stop it, choose another --port, or --port 0 for a free one"
    ), proc.stderr
    assert "add_port" not in proc.stderr and "port=0" not in proc.stderr
