"""Client configuration: arguments first, then the environment variables Camunda's clients read.

- ``gateway_address`` / ``ZEEBE_ADDRESS``: default ``localhost:26500``.
- ``secure`` / ``CAMUNDA_SECURE_CONNECTION``: default TLS if a CA file is given, else plaintext.
- ``ca_certificate_path`` / ``ZEEBE_CA_CERTIFICATE_PATH``: default the system roots (with TLS).
- ``oauth_disabled`` / ``CAMUNDA_OAUTH_DISABLED``: default ``False``.
- ``client_id`` / ``ZEEBE_CLIENT_ID``, ``client_secret`` / ``ZEEBE_CLIENT_SECRET``,
  ``authorization_server_url`` / ``ZEEBE_AUTHORIZATION_SERVER_URL``: default unset (no OAuth).
- ``token_audience`` / ``ZEEBE_TOKEN_AUDIENCE``: default the gateway host (as the Java client).

OAuth is on when client id, secret and token URL are all set and OAuth is not disabled; setting
only some of them is a :class:`~zeebe_affinity_sync.errors.ConfigurationError`, as is any value
that cannot be right. Everything is checked here, before any network I/O.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlparse

from .. import defaults
from ..errors import ConfigurationError

__all__ = ["ClientConfig", "OAuthSettings", "resolve_config", "parse_bool"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class OAuthSettings:
    """Client-credentials settings for the token endpoint."""

    client_id: str
    client_secret: str
    authorization_server_url: str
    audience: str

    def __repr__(self) -> str:  # never print the secret
        return (
            f"OAuthSettings(client_id={self.client_id!r}, client_secret='***', "
            f"authorization_server_url={self.authorization_server_url!r}, audience={self.audience!r})"
        )


@dataclass(frozen=True)
class ClientConfig:
    """The resolved, validated settings of one :class:`ZeebeClient`."""

    address: str
    secure: bool
    root_certificates: Optional[bytes]
    oauth: Optional[OAuthSettings]
    request_timeout: float
    max_message_bytes: int


def parse_bool(value: str, name: str) -> bool:
    """Parse a boolean environment value (``true/false/1/0/yes/no/on/off``, any case).

    Raises:
        ConfigurationError: Anything else.
    """
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a boolean: use true or false")


def _check_address(address: str, source: str) -> str:
    address = address.strip()
    if address.startswith(("dns:", "unix:", "ipv4:", "ipv6:")):
        return address  # a gRPC target URI: gRPC parses it
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(
            f"{source}={address!r} is not a gateway address: use host:port, e.g. localhost:26500"
        )
    return address


def _host_of(address: str) -> str:
    host = address.rpartition(":")[0] if ":" in address else address
    return host.strip("[]")


def resolve_config(
    gateway_address: Optional[str] = None,
    *,
    secure: Optional[bool] = None,
    ca_certificate_path: Optional[str] = None,
    client_id: Optional[str] = None,
    client_secret: Optional[str] = None,
    authorization_server_url: Optional[str] = None,
    token_audience: Optional[str] = None,
    oauth_disabled: Optional[bool] = None,
    request_timeout: float = defaults.REQUEST_TIMEOUT,
    max_message_bytes: int = defaults.CLIENT_MAX_MESSAGE_BYTES,
    environ: Optional[Mapping[str, str]] = None,
) -> ClientConfig:
    """Merge arguments and environment into a :class:`ClientConfig`; see the module docstring.

    Raises:
        ConfigurationError: A value is missing, malformed or contradicts another.
    """
    env = os.environ if environ is None else environ

    def pick(arg: Optional[str], name: str) -> Optional[str]:
        if arg is not None:
            return arg
        value = env.get(name)
        return value if value else None

    address_source = "gateway_address" if gateway_address is not None else "ZEEBE_ADDRESS"
    address = _check_address(pick(gateway_address, "ZEEBE_ADDRESS") or defaults.ZEEBE_ADDRESS, address_source)

    ca_path = pick(ca_certificate_path, "ZEEBE_CA_CERTIFICATE_PATH")
    if secure is None and "CAMUNDA_SECURE_CONNECTION" in env:
        secure = parse_bool(env["CAMUNDA_SECURE_CONNECTION"], "CAMUNDA_SECURE_CONNECTION")
    if secure is None:
        secure = ca_path is not None
    if ca_path is not None and not secure:
        raise ConfigurationError(
            f"a CA certificate ({ca_path}) was given but the connection is not secure: "
            "set CAMUNDA_SECURE_CONNECTION=true (secure=True) or drop the certificate"
        )
    root_certificates = None
    if ca_path is not None:
        try:
            with open(ca_path, "rb") as fh:
                root_certificates = fh.read()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the CA certificate ZEEBE_CA_CERTIFICATE_PATH={ca_path!r}: {exc.strerror}; "
                "point it at a PEM file"
            ) from exc

    if oauth_disabled is None:
        oauth_disabled = parse_bool(env.get("CAMUNDA_OAUTH_DISABLED", ""), "CAMUNDA_OAUTH_DISABLED")
    oauth: Optional[OAuthSettings] = None
    if not oauth_disabled:
        values = {
            "ZEEBE_CLIENT_ID": pick(client_id, "ZEEBE_CLIENT_ID"),
            "ZEEBE_CLIENT_SECRET": pick(client_secret, "ZEEBE_CLIENT_SECRET"),
            "ZEEBE_AUTHORIZATION_SERVER_URL": pick(authorization_server_url, "ZEEBE_AUTHORIZATION_SERVER_URL"),
        }
        missing = [name for name, value in values.items() if not value]
        if len(missing) < len(values):
            if missing:
                raise ConfigurationError(
                    "OAuth is half configured: missing " + ", ".join(missing)
                    + " (client_id / client_secret / authorization_server_url). Set all three, "
                    "or set CAMUNDA_OAUTH_DISABLED=true for a gateway without authentication"
                )
            url = str(values["ZEEBE_AUTHORIZATION_SERVER_URL"])
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ConfigurationError(
                    f"ZEEBE_AUTHORIZATION_SERVER_URL={url!r} is not an http(s) URL: use the token "
                    "endpoint, e.g. https://login.cloud.camunda.io/oauth/token"
                )
            audience = pick(token_audience, "ZEEBE_TOKEN_AUDIENCE") or _host_of(address)
            oauth = OAuthSettings(
                client_id=str(values["ZEEBE_CLIENT_ID"]),
                client_secret=str(values["ZEEBE_CLIENT_SECRET"]),
                authorization_server_url=url,
                audience=audience,
            )

    if not request_timeout > 0:
        raise ConfigurationError(f"request_timeout must be > 0 seconds, got {request_timeout!r}")
    if not isinstance(max_message_bytes, int) or max_message_bytes <= 0:
        raise ConfigurationError(f"max_message_bytes must be a positive int, got {max_message_bytes!r}")
    return ClientConfig(
        address=address,
        secure=bool(secure),
        root_certificates=root_certificates,
        oauth=oauth,
        request_timeout=float(request_timeout),
        max_message_bytes=max_message_bytes,
    )
