"""Camunda 8.8's configuration names, their precedence over our older ZEEBE_* names, and the
README's configuration table against the names the code reads."""
from __future__ import annotations

import base64
import inspect
import logging
import os
import re

import pytest

from zeebe_affinity_sync.errors import ConfigurationError
from zeebe_affinity_sync.zeebe import ZeebeClient
from zeebe_affinity_sync.zeebe import config as config_module
from zeebe_affinity_sync.zeebe.config import resolve_config

from .conftest import ENV_VARS

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
OAUTH = {"ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET": "secret"}


@pytest.mark.parametrize("value, address, secure", [
    ("grpcs://zeebe.example:443", "zeebe.example:443", True),
    ("grpc://zeebe.local:26500", "zeebe.local:26500", False),
    ("https://zeebe.example", "zeebe.example:443", True),
    ("http://zeebe.local", "zeebe.local:26500", False),
    ("grpcs://[::1]:9000", "[::1]:9000", True),
    ("zeebe.local:1234", "zeebe.local:1234", False),
])
def test_zeebe_grpc_address_and_its_scheme(value, address, secure):
    cfg = resolve_config(environ={"ZEEBE_GRPC_ADDRESS": value, "ZEEBE_ADDRESS": "old:1"})
    assert (cfg.address, cfg.secure) == (address, secure)


def test_the_scheme_wins_over_the_secure_variables_with_a_warning(caplog):
    env = {"ZEEBE_GRPC_ADDRESS": "grpc://h:1", "CAMUNDA_SECURE_CONNECTION": "true"}
    with caplog.at_level(logging.WARNING, logger="zeebe_affinity_sync.zeebe.config"):
        assert resolve_config(environ=env).secure is False
    assert "ignored" in caplog.text
    assert resolve_config("grpcs://h:1", environ={}).secure is True
    with pytest.raises(ConfigurationError, match="contradicts the scheme"):
        resolve_config("grpcs://h:1", secure=False, environ={})


def test_zeebe_address_is_the_fallback_and_insecure_connection_is_read():
    assert resolve_config(environ={"ZEEBE_ADDRESS": "old:7"}).address == "old:7"
    env = {"ZEEBE_ADDRESS": "h:1", "ZEEBE_INSECURE_CONNECTION": "false"}
    assert resolve_config(environ=env).secure is True
    env = {"ZEEBE_ADDRESS": "h:1", "ZEEBE_INSECURE_CONNECTION": "true", "CAMUNDA_SECURE_CONNECTION": "true"}
    with pytest.raises(ConfigurationError, match="contradict each other"):
        resolve_config(environ=env)


@pytest.mark.parametrize("value", ["ftp://h:1", "grpcs://h:1/path", "grpc://:1", "grpcs://h:99999"])
def test_bad_grpc_addresses_are_refused(value):
    with pytest.raises(ConfigurationError, match="ZEEBE_GRPC_ADDRESS"):
        resolve_config(environ={"ZEEBE_GRPC_ADDRESS": value})


def test_oauth_names_and_their_precedence():
    env = {**OAUTH, "CAMUNDA_OAUTH_URL": "https://new/token", "ZEEBE_AUTHORIZATION_SERVER_URL": "https://old/token",
           "CAMUNDA_TOKEN_AUDIENCE": "aud-2", "ZEEBE_TOKEN_AUDIENCE": "aud-3", "CAMUNDA_TOKEN_SCOPE": "api://x/.default"}
    cfg = resolve_config(environ=env)
    assert cfg.auth_strategy == "OAUTH" and cfg.oauth is not None
    assert cfg.oauth.authorization_server_url == "https://new/token"
    assert cfg.oauth.audience == "aud-2" and cfg.oauth.scope == "api://x/.default"
    assert resolve_config(environ={**env, "CAMUNDA_ZEEBE_OAUTH_AUDIENCE": "aud-1"}).oauth.audience == "aud-1"
    del env["CAMUNDA_OAUTH_URL"], env["CAMUNDA_TOKEN_AUDIENCE"]
    old = resolve_config(environ=env).oauth
    assert old.authorization_server_url == "https://old/token" and old.audience == "aud-3"
    assert resolve_config(token_audience="arg", token_scope="s", environ=env).oauth.audience == "arg"


@pytest.mark.parametrize("strategy", ["NONE", "none", " None "])
def test_strategy_none_ignores_credentials(strategy):
    env = {**OAUTH, "CAMUNDA_OAUTH_URL": "https://t/token", "CAMUNDA_AUTH_STRATEGY": strategy,
           "CAMUNDA_BASIC_AUTH_USERNAME": "u"}
    cfg = resolve_config(environ=env)
    assert cfg.oauth is None and cfg.basic_auth is None and cfg.auth_strategy == "NONE"


def test_strategy_oauth_needs_every_credential():
    with pytest.raises(ConfigurationError, match="missing ZEEBE_CLIENT_ID, ZEEBE_CLIENT_SECRET, CAMUNDA_OAUTH_URL"):
        resolve_config(environ={"CAMUNDA_AUTH_STRATEGY": "OAUTH"})
    with pytest.raises(ConfigurationError, match="CAMUNDA_OAUTH_DISABLED"):
        resolve_config(environ={"CAMUNDA_AUTH_STRATEGY": "OAUTH", "CAMUNDA_OAUTH_DISABLED": "true"})


def test_basic_auth_strategy():
    env = {"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "demo",
           "CAMUNDA_BASIC_AUTH_PASSWORD": "p@ss:word"}
    cfg = resolve_config(environ=env)
    assert cfg.auth_strategy == "BASIC" and cfg.oauth is None
    assert cfg.basic_auth.header() == "Basic " + base64.b64encode(b"demo:p@ss:word").decode()
    assert "p@ss" not in repr(cfg) and "p@ss" not in repr(cfg.basic_auth)
    # inferred from the user name alone, like OAuth from its credentials
    assert resolve_config(basic_auth_username="u", basic_auth_password="p", environ={}).auth_strategy == "BASIC"
    with pytest.raises(ConfigurationError, match="CAMUNDA_BASIC_AUTH_PASSWORD is missing"):
        resolve_config(environ={"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "u"})
    with pytest.raises(ConfigurationError, match="cannot contain ':'"):
        resolve_config(auth_strategy="BASIC", basic_auth_username="a:b", basic_auth_password="p", environ={})


@pytest.mark.parametrize("value, fragment", [("BEARER", "REST-only"), ("COOKIE", "REST-only"), ("JWT", "NONE, OAUTH or BASIC")])
def test_unsupported_strategies_are_refused(value, fragment):
    with pytest.raises(ConfigurationError, match=fragment):
        resolve_config(environ={"CAMUNDA_AUTH_STRATEGY": value})


def test_oauth_credentials_win_over_basic_when_inferred():
    env = {**OAUTH, "CAMUNDA_OAUTH_URL": "https://t/token", "CAMUNDA_BASIC_AUTH_USERNAME": "u"}
    assert resolve_config(environ=env).auth_strategy == "OAUTH"


def test_root_certificate_by_path_or_string(tmp_path):
    new, old = tmp_path / "new.pem", tmp_path / "old.pem"
    new.write_text(PEM)
    old.write_text("old")
    env = {"CAMUNDA_CUSTOM_ROOT_CERT_PATH": str(new), "ZEEBE_CA_CERTIFICATE_PATH": str(old)}
    cfg = resolve_config(environ=env)
    assert cfg.root_certificates == PEM.encode() and cfg.secure is True
    assert resolve_config(environ={"ZEEBE_CA_CERTIFICATE_PATH": str(old)}).root_certificates == b"old"
    escaped = PEM.replace("\n", "\\n")  # how a PEM often sits in an env file
    assert resolve_config(environ={"CAMUNDA_CUSTOM_ROOT_CERT_STRING": escaped}).root_certificates == PEM.encode()
    assert resolve_config(ca_certificate=PEM, environ={}).root_certificates == PEM.encode()
    with pytest.raises(ConfigurationError, match="both set"):
        resolve_config(environ={"CAMUNDA_CUSTOM_ROOT_CERT_STRING": PEM, "CAMUNDA_CUSTOM_ROOT_CERT_PATH": str(new)})
    with pytest.raises(ConfigurationError, match="not both"):
        resolve_config(ca_certificate=PEM, ca_certificate_path=str(new), environ={})
    with pytest.raises(ConfigurationError, match="CAMUNDA_CUSTOM_ROOT_CERT_PATH"):
        resolve_config(environ={"CAMUNDA_CUSTOM_ROOT_CERT_PATH": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigurationError, match="not secure"):
        resolve_config("grpc://h:1", ca_certificate=PEM, environ={})


def test_client_certificate_for_mtls(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text(PEM)
    key.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    env = {"CAMUNDA_CUSTOM_CERT_CHAIN_PATH": str(cert), "CAMUNDA_CUSTOM_PRIVATE_KEY_PATH": str(key)}
    cfg = resolve_config(environ=env)
    assert cfg.secure is True and cfg.certificate_chain == PEM.encode()
    assert cfg.private_key.startswith(b"-----BEGIN PRIVATE KEY") and "PRIVATE KEY" not in repr(cfg)
    with pytest.raises(ConfigurationError, match="CAMUNDA_CUSTOM_PRIVATE_KEY_PATH is missing"):
        resolve_config(environ={"CAMUNDA_CUSTOM_CERT_CHAIN_PATH": str(cert)})
    with pytest.raises(ConfigurationError, match="client_certificate_path / CAMUNDA_CUSTOM_CERT_CHAIN_PATH is missing"):
        resolve_config(client_private_key_path=str(key), environ={})
    garbage = tmp_path / "g.pem"
    garbage.write_text("not a key")
    with pytest.raises(ConfigurationError, match="not PEM"):
        resolve_config(client_certificate_path=str(cert), client_private_key_path=str(garbage), environ={})
    with pytest.raises(ConfigurationError, match="not secure"):
        resolve_config(environ={**env, "ZEEBE_GRPC_ADDRESS": "grpc://h:1"})


@pytest.mark.parametrize("value", ["tenant-a", "T_1.x", "<default>", "a" * 31])
def test_tenant_id(value):
    assert resolve_config(environ={"CAMUNDA_TENANT_ID": value}).tenant_id == value
    assert resolve_config(tenant_id=value, environ={"CAMUNDA_TENANT_ID": "other"}).tenant_id == value


@pytest.mark.parametrize("value", ["a" * 32, "with space", "ä", "semi;colon"])
def test_bad_tenant_ids_are_refused(value):
    with pytest.raises(ConfigurationError, match="CAMUNDA_TENANT_ID.*31 characters"):
        resolve_config(environ={"CAMUNDA_TENANT_ID": value})


def test_no_tenant_means_the_gateways_default():
    assert resolve_config(environ={}).tenant_id is None


def test_token_cache_folder(tmp_path):
    env = {**OAUTH, "CAMUNDA_OAUTH_URL": "https://t/token"}
    assert resolve_config(environ=env).oauth.cache_dir == os.path.expanduser("~/.camunda")
    assert resolve_config(environ={**env, "CAMUNDA_TOKEN_CACHE_DIR": str(tmp_path)}).oauth.cache_dir == str(tmp_path)
    assert resolve_config(environ={**env, "CAMUNDA_TOKEN_DISK_CACHE_DISABLE": "true"}).oauth.cache_dir is None
    assert resolve_config(token_disk_cache_disabled=True, environ=env).oauth.cache_dir is None
    with pytest.raises(ConfigurationError, match="CAMUNDA_TOKEN_DISK_CACHE_DISABLE"):
        resolve_config(environ={**env, "CAMUNDA_TOKEN_DISK_CACHE_DISABLE": "sometimes"})


def test_every_setting_is_a_client_keyword(monkeypatch, tmp_path):
    # tenant_id: ZeebeClient's own keyword (per-call tenants, issue 11 item 2); the environment's
    # CAMUNDA_TENANT_ID arrives through config.tenant_id
    resolve_params = set(inspect.signature(resolve_config).parameters) - {"environ", "tenant_id"}
    client_params = set(inspect.signature(ZeebeClient.__init__).parameters) - {"self", "retry_policy"}
    assert resolve_params <= client_params
    monkeypatch.setenv("CAMUNDA_TENANT_ID", "t1")
    client = ZeebeClient("grpcs://h:443", auth_strategy="BASIC", basic_auth_username="u", basic_auth_password="p",
                         ca_certificate=PEM)
    assert (client.config.secure, client.config.tenant_id, client.config.auth_strategy) == (True, "t1", "BASIC")
    assert "basic-auth" in repr(client)
    client.close()


# ------------------------------------------------------------------ the README's table

def _names_read_by_the_code():
    source = inspect.getsource(config_module)
    return set(re.findall(r'"((?:ZEEBE|CAMUNDA)_[A-Z_]+)"', source))


def _readme_configuration_section():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    return text[text.index("## Configuration"):text.index("## Deployment")]


def test_readme_table_lists_every_name_the_client_reads():
    section = _readme_configuration_section()
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    names = _names_read_by_the_code()
    assert {"ZEEBE_GRPC_ADDRESS", "CAMUNDA_AUTH_STRATEGY", "CAMUNDA_TENANT_ID", "ZEEBE_ADDRESS"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in table)
    assert missing == [], f"README's configuration table lacks {missing}"


def test_readme_table_lists_every_client_keyword():
    table = "\n".join(line for line in _readme_configuration_section().splitlines() if line.startswith("|"))
    keywords = set(inspect.signature(resolve_config).parameters) - {"environ", "request_timeout", "max_message_bytes"}
    missing = sorted(k for k in keywords if f"`{k}`" not in table)
    assert missing == [], f"README's configuration table lacks the client arguments {missing}"


def test_the_test_environment_cleans_every_name():
    # a name the tests do not clear could leak in from the developer's shell
    assert _names_read_by_the_code() <= set(ENV_VARS)
