"""The shared argument checks (zeebe_affinity_sync.checks): one convention for the whole library,
and errors.py usable without gRPC."""
from __future__ import annotations

import argparse
import math
import subprocess
import sys

import pytest

from zeebe_affinity_sync import checks, errors


@pytest.mark.parametrize("value", ["3", None, True, float("nan"), [1]])
def test_a_value_of_the_wrong_kind_is_both_a_configuration_and_a_type_error(value):
    with pytest.raises(errors.ConfigurationTypeError, match="timeout must be a number of seconds") as info:
        checks.seconds(value, "timeout")
    assert isinstance(info.value, errors.ConfigurationError)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("value, kwargs, says", [
    (-1, {}, "timeout must be > 0 seconds, got -1"),
    (0, {}, "timeout must be > 0 seconds, got 0"),
    (-0.5, {"allow_zero": True}, "timeout must be >= 0 seconds"),
    (math.inf, {"finite": True}, "timeout must be a finite number of seconds"),
])
def test_a_value_out_of_range_is_a_configuration_error(value, kwargs, says):
    with pytest.raises(errors.ConfigurationError, match=says) as info:
        checks.seconds(value, "timeout", **kwargs)
    assert not isinstance(info.value, TypeError)


def test_accepted_values_come_back_normalised():
    assert checks.seconds(2, "t") == 2.0 and isinstance(checks.seconds(2, "t"), float)
    assert checks.seconds(0, "t", allow_zero=True) == 0.0
    assert checks.seconds(math.inf, "t") == math.inf  # "wait forever" where allowed
    assert checks.count(3, "n") == 3
    assert checks.one_of("hub", "s", ("hub", "redis")) == "hub"
    assert checks.http_status(422, "status") == 422
    assert checks.number_from_text(" 2.5 ", "t") == 2.5 and checks.number_from_text("7", "t") == 7
    assert checks.optional(checks.text, None, "tenant") is None


@pytest.mark.parametrize("call, says", [
    (lambda: checks.count(True, "n"), "n must be an integer >= 1, got True"),
    (lambda: checks.count(0, "n"), "n must be an integer >= 1, got 0"),
    (lambda: checks.one_of("ws", "strategy", ("hub", "redis")), "strategy must be one of 'hub', 'redis', got 'ws'"),
    (lambda: checks.text("  ", "tenant"), "tenant must be a non-empty str"),
    (lambda: checks.key("12", "key"), "key must be an int key, got '12' \\(str\\)"),
    (lambda: checks.http_status(200, "status"), "status must be an HTTP status in 400..599, got 200"),
    (lambda: checks.number_from_text("soon", "T"), "T = 'soon' is not a number"),
])
def test_every_refusal_names_the_argument_and_the_value(call, says):
    with pytest.raises(errors.ConfigurationError, match=says):
        call()


def test_cli_types_turn_refusals_into_usage_errors():
    parse_count = checks.cli(checks.count, int)
    assert parse_count("4") == 4
    with pytest.raises(argparse.ArgumentTypeError, match="'x' is not an integer"):
        parse_count("x")
    with pytest.raises(argparse.ArgumentTypeError, match="^must be an integer >= 1, got 0$"):
        parse_count("0")
    with pytest.raises(argparse.ArgumentTypeError, match="^must be > 0 seconds, got -2.0$"):
        checks.cli(checks.seconds)("-2")


def test_the_zeebe_client_uses_the_same_convention():
    from zeebe_affinity_sync.zeebe.client import ZeebeClient

    with ZeebeClient("127.0.0.1:1") as client:  # no I/O: the checks run first
        with pytest.raises(errors.ConfigurationTypeError):
            client.cancel_process_instance("123")
        with pytest.raises(TypeError):  # what callers written against the old check catch
            client.cancel_process_instance("123")


def test_errors_does_not_import_grpc_and_still_offers_from_grpc_error():
    code = ("import sys; import zeebe_affinity_sync.errors as e; assert 'grpc' not in sys.modules, 'grpc'; "
            "f = e.from_grpc_error; from zeebe_affinity_sync.zeebe.grpc_errors import from_grpc_error; "
            "assert f is from_grpc_error; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]
