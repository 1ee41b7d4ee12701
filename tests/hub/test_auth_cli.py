"""Token check and the ``zeebe-affinity hub`` command's argument validation."""
from __future__ import annotations

import subprocess
import sys

import pytest

from zeebe_affinity_sync.hub.auth import bearer_token, token_ok


def test_bearer_parsing():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def test_token_ok():
    assert token_ok(None, ())  # no tokens configured: open hub
    assert token_ok("Bearer new", ("new", "old"))
    assert token_ok("Bearer old", ("new", "old"))
    assert not token_ok("Bearer olds", ("new", "old"))
    assert not token_ok(None, ("new",))


@pytest.mark.parametrize("args, message", [
    (["--workers", "2"], "--workers 2 needs --redis"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--certfile", "/nonexistent.pem"], "--certfile and --keyfile go together"),
    (["--outcome-ttl", "0"], "outcome_ttl must be > 0 seconds"),
])
def test_hub_command_refuses_bad_arguments(args, message):
    result = subprocess.run([sys.executable, "-m", "zeebe_affinity_sync.cli", "hub", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_token_starting_with_a_dash_reaches_the_hub_as_the_token(connect):
    """argparse reads "--token -x" as a missing value (exit 2): HubProcess passes "--token=-x"."""
    import websocket

    from tests.hub.conftest import Client
    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    with HubProcess(token="-dash-token", threads=4, extra_args=("--stats-interval", "0")) as hub:
        assert "--token=-dash-token" in hub.command()
        assert connect(hub).hello["type"] == "HELLO"  # sends "Authorization: Bearer -dash-token"
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            Client(hub.url, {"Authorization": "Bearer dash-token"})
        assert info.value.status_code == 401


def _hub_args(*argv: str):
    from zeebe_affinity_sync.cli import build_parser

    return build_parser().parse_args(["hub", *argv])


def test_hub_application_disables_the_gunicorn_control_socket():
    from gunicorn.config import KNOWN_SETTINGS

    from zeebe_affinity_sync.commands import hub as hub_command

    args = _hub_args("--bind", "127.0.0.1:0", "--threads", "3")
    app = hub_command.application(hub_command.gunicorn_options(args), hub_command.build_config(args))
    assert app.cfg.threads == 3 and app.cfg.worker_class_str == "zeebe_affinity_sync.hub.worker.HubWorker"
    if any(s.name == hub_command.CONTROL_SOCKET_SETTING for s in KNOWN_SETTINGS):  # gunicorn >= 25.1
        assert app.cfg.control_socket_disable is True


def test_hub_application_works_with_a_gunicorn_that_has_no_control_socket(monkeypatch):
    """gunicorn 21 to 25.0 refuse cfg.set() of a setting they do not know: it must not be set."""
    import gunicorn.config

    from zeebe_affinity_sync.commands import hub as hub_command

    make_settings = gunicorn.config.make_settings

    def without_control_socket(ignore=None):
        return {name: setting for name, setting in make_settings(ignore).items()
                if not name.startswith("control_socket")}

    monkeypatch.setattr(gunicorn.config, "make_settings", without_control_socket)
    args = _hub_args("--bind", "127.0.0.1:0")
    app = hub_command.application(hub_command.gunicorn_options(args), hub_command.build_config(args))
    assert hub_command.CONTROL_SOCKET_SETTING not in app.cfg.settings
    assert app.cfg.worker_class_str == "zeebe_affinity_sync.hub.worker.HubWorker"


def test_a_real_hub_opens_no_control_socket_in_home(tmp_path, monkeypatch):
    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    monkeypatch.setenv("HOME", str(tmp_path))  # gunicorn >= 25.1 would use ~/.gunicorn/
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    with HubProcess(threads=4, extra_args=("--stats-interval", "0")) as hub:
        assert hub.stats()["connections"]["total"] == 0  # up and serving
        assert list(tmp_path.iterdir()) == []


def test_log_level_is_accepted_after_the_subcommand_too():
    from zeebe_affinity_sync.cli import build_parser

    assert _hub_args("--log-level", "DEBUG").log_level == "DEBUG"
    assert _hub_args().log_level == "INFO"  # the global default when not given
    assert build_parser().parse_args(["--log-level", "WARNING", "hub"]).log_level == "WARNING"


def test_new_hub_options_reach_the_settings():
    from zeebe_affinity_sync.commands import hub as hub_command

    config = hub_command.build_config(_hub_args(
        "--header-timeout", "2.5", "--allow-query-token", "--protect-stats", "--token", "t",
        "--send-buffer", "65536"))
    assert config.header_timeout == 2.5 and config.allow_query_token and config.protect_stats
    assert config.send_buffer_bytes == 65536
    options = hub_command.gunicorn_options(_hub_args())
    assert options["worker_class"] == "zeebe_affinity_sync.hub.worker.HubWorker"
