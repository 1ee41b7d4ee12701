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
    (["--outcome-ttl", "0"], "outcome_ttl must be a positive number"),
])
def test_hub_command_refuses_bad_arguments(args, message):
    result = subprocess.run([sys.executable, "-m", "zeebe_affinity_sync.cli", "hub", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
