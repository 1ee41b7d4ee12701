"""Client settings: arguments, then Camunda's environment variables; mistakes fail before I/O."""
from __future__ import annotations

import pytest

from zeebe_affinity_sync.errors import ConfigurationError
from zeebe_affinity_sync.zeebe import ZeebeClient
from zeebe_affinity_sync.zeebe.config import resolve_config


def test_defaults_are_local_plaintext_without_oauth() -> None:
    cfg = resolve_config(environ={})
    assert cfg.address == "localhost:26500"
    assert cfg.secure is False
    assert cfg.oauth is None


def test_environment_fallbacks(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    env = {
        "ZEEBE_ADDRESS": "zeebe.example:443",
        "CAMUNDA_SECURE_CONNECTION": "true",
        "ZEEBE_CA_CERTIFICATE_PATH": str(ca),
        "ZEEBE_CLIENT_ID": "id",
        "ZEEBE_CLIENT_SECRET": "s3cr3t-value",
        "ZEEBE_AUTHORIZATION_SERVER_URL": "https://login.example/oauth/token",
    }
    cfg = resolve_config(environ=env)
    assert cfg.address == "zeebe.example:443"
    assert cfg.secure is True
    assert cfg.root_certificates == b"-----BEGIN CERTIFICATE-----\n"
    assert cfg.oauth is not None
    assert cfg.oauth.client_id == "id"
    assert cfg.oauth.audience == "zeebe.example"  # defaults to the gateway host
    assert "s3cr3t-value" not in repr(cfg.oauth)


def test_arguments_win_over_environment() -> None:
    env = {"ZEEBE_ADDRESS": "env-host:1", "ZEEBE_TOKEN_AUDIENCE": "env-aud",
           "ZEEBE_CLIENT_ID": "a", "ZEEBE_CLIENT_SECRET": "b",
           "ZEEBE_AUTHORIZATION_SERVER_URL": "http://127.0.0.1:1/token"}
    cfg = resolve_config("arg-host:2", token_audience="arg-aud", environ=env)
    assert cfg.address == "arg-host:2"
    assert cfg.oauth is not None and cfg.oauth.audience == "arg-aud"


def test_oauth_disabled_ignores_credentials() -> None:
    env = {"ZEEBE_CLIENT_ID": "a", "CAMUNDA_OAUTH_DISABLED": "TRUE"}
    assert resolve_config(environ=env).oauth is None
    assert resolve_config(oauth_disabled=True, client_id="a", environ={}).oauth is None


def test_ca_file_implies_tls(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"x")
    assert resolve_config(ca_certificate_path=str(ca), environ={}).secure is True


@pytest.mark.parametrize(
    "kwargs, env, fragment",
    [
        ({}, {"ZEEBE_CLIENT_ID": "only-id"}, "ZEEBE_CLIENT_SECRET"),
        ({"client_id": "a", "client_secret": "b"}, {}, "ZEEBE_AUTHORIZATION_SERVER_URL"),
        ({"client_id": "a", "client_secret": "b", "authorization_server_url": "login.example/token"}, {},
         "not an http(s) URL"),
        ({}, {"ZEEBE_ADDRESS": "no-port"}, "host:port"),
        ({"gateway_address": "host:99999"}, {}, "gateway_address"),
        ({}, {"CAMUNDA_SECURE_CONNECTION": "maybe"}, "not a boolean"),
        ({"ca_certificate_path": "/nonexistent/ca.pem"}, {}, "cannot read the CA certificate"),
        ({"request_timeout": 0}, {}, "request_timeout"),
    ],
)
def test_misconfiguration_is_refused_with_a_hint(kwargs, env, fragment) -> None:
    with pytest.raises(ConfigurationError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        resolve_config(environ=env, **kwargs)


def test_ca_with_secure_false_is_a_contradiction(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"x")
    with pytest.raises(ConfigurationError, match="not secure"):
        resolve_config(secure=False, ca_certificate_path=str(ca), environ={})


def test_client_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", "gateway.internal:26500")
    with ZeebeClient() as client:
        assert client.address == "gateway.internal:26500"
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "half")
    with pytest.raises(ConfigurationError):
        ZeebeClient()
