"""Client configuration: arguments first, then the environment variables Camunda 8.8's SDKs read,
then our older ``ZEEBE_*`` names as fallbacks.

Where (argument / first variable that is set / default):

- address: ``gateway_address`` / ``ZEEBE_GRPC_ADDRESS``, ``ZEEBE_ADDRESS`` / ``localhost:26500``.
  ``grpcs://`` or ``https://`` in front means TLS, ``grpc://`` or ``http://`` plaintext (then
  ``CAMUNDA_SECURE_CONNECTION`` / ``ZEEBE_INSECURE_CONNECTION`` are ignored, as in Camunda's SDK);
  a bare ``host:port`` takes TLS from ``secure`` / those variables / whether TLS files are given.
- TLS roots: ``ca_certificate`` (PEM text) or ``ca_certificate_path`` /
  ``CAMUNDA_CUSTOM_ROOT_CERT_STRING`` or ``CAMUNDA_CUSTOM_ROOT_CERT_PATH``,
  ``ZEEBE_CA_CERTIFICATE_PATH`` / the system roots.
- mTLS: ``client_certificate_path`` + ``client_private_key_path`` /
  ``CAMUNDA_CUSTOM_CERT_CHAIN_PATH`` + ``CAMUNDA_CUSTOM_PRIVATE_KEY_PATH`` / none.
- auth: ``auth_strategy`` / ``CAMUNDA_AUTH_STRATEGY`` (``NONE``, ``OAUTH``, ``BASIC``) / inferred:
  ``OAUTH`` when any OAuth credential is set (unless ``CAMUNDA_OAUTH_DISABLED``), ``BASIC`` when a
  basic-auth user is set, else ``NONE``.
- OAuth: ``client_id`` / ``ZEEBE_CLIENT_ID``; ``client_secret`` / ``ZEEBE_CLIENT_SECRET``;
  ``authorization_server_url`` / ``CAMUNDA_OAUTH_URL``, ``ZEEBE_AUTHORIZATION_SERVER_URL``;
  ``token_audience`` / ``CAMUNDA_ZEEBE_OAUTH_AUDIENCE``, ``CAMUNDA_TOKEN_AUDIENCE``,
  ``ZEEBE_TOKEN_AUDIENCE`` / the gateway host; ``token_scope`` / ``CAMUNDA_TOKEN_SCOPE`` / none;
  token cache ``token_cache_dir`` / ``CAMUNDA_TOKEN_CACHE_DIR`` / ``~/.camunda``, off with
  ``token_disk_cache_disabled`` / ``CAMUNDA_TOKEN_DISK_CACHE_DISABLE``.
- basic auth: ``basic_auth_username`` / ``CAMUNDA_BASIC_AUTH_USERNAME``; ``basic_auth_password``
  / ``CAMUNDA_BASIC_AUTH_PASSWORD``.
- tenant: ``tenant_id`` / ``CAMUNDA_TENANT_ID`` / none (the gateway's default tenant).

Anything missing, malformed or contradictory is a
:class:`~zeebe_affinity_sync.errors.ConfigurationError` naming the setting, raised here before
any network I/O.
"""
from __future__ import annotations

import base64
import logging
import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple, Union
from urllib.parse import urlparse

from .. import defaults
from ..errors import ConfigurationError

__all__ = ["ClientConfig", "OAuthSettings", "BasicAuthSettings", "resolve_config", "parse_bool",
           "AUTH_STRATEGIES"]

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
AUTH_STRATEGIES = ("NONE", "OAUTH", "BASIC")
_TENANT = re.compile(r"[A-Za-z0-9_.\-]{1,31}")  # Zeebe's rule for tenant ids
_SCHEMES = {"grpc": False, "http": False, "grpcs": True, "https": True}


@dataclass(frozen=True)
class OAuthSettings:
    """Client-credentials settings for the token endpoint.

    ``cache_dir`` is the folder of the on-disk token cache, ``None`` when it is disabled.
    """

    client_id: str
    client_secret: str
    authorization_server_url: str
    audience: str
    scope: Optional[str] = None
    cache_dir: Optional[str] = None

    def __repr__(self) -> str:  # never print the secret
        return (
            f"OAuthSettings(client_id={self.client_id!r}, client_secret='***', "
            f"authorization_server_url={self.authorization_server_url!r}, audience={self.audience!r}, "
            f"scope={self.scope!r}, cache_dir={self.cache_dir!r})"
        )


@dataclass(frozen=True)
class BasicAuthSettings:
    """User and password for ``authorization: Basic`` on every call."""

    username: str
    password: str

    def header(self) -> str:
        raw = f"{self.username}:{self.password}".encode("utf-8")
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:  # never print the password
        return f"BasicAuthSettings(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class ClientConfig:
    """The resolved, validated settings of one :class:`ZeebeClient`."""

    address: str
    secure: bool
    root_certificates: Optional[bytes]
    oauth: Optional[OAuthSettings]
    request_timeout: float
    max_message_bytes: int
    basic_auth: Optional[BasicAuthSettings] = None
    certificate_chain: Optional[bytes] = None  # PEM, with private_key: mTLS
    private_key: Optional[bytes] = None
    tenant_id: Optional[str] = None  # default tenant of calls that take one; None: the gateway's

    @property
    def auth_strategy(self) -> str:
        return "OAUTH" if self.oauth else "BASIC" if self.basic_auth else "NONE"

    def __repr__(self) -> str:  # the key stays out of logs
        key = "'***'" if self.private_key else None
        return (
            f"ClientConfig(address={self.address!r}, secure={self.secure}, "
            f"auth={self.auth_strategy}, oauth={self.oauth!r}, basic_auth={self.basic_auth!r}, "
            f"mtls={self.certificate_chain is not None}, private_key={key}, tenant_id={self.tenant_id!r}, "
            f"request_timeout={self.request_timeout}, max_message_bytes={self.max_message_bytes})"
        )


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


def _check_address(address: str, source: str) -> Tuple[str, Optional[bool]]:
    """``(host:port or gRPC target, TLS from the scheme or None)``."""
    address = address.strip()
    if address.startswith(("dns:", "unix:", "ipv4:", "ipv6:")):
        return address, None  # a gRPC target URI: gRPC parses it
    scheme_secure: Optional[bool] = None
    if "://" in address:
        parsed = urlparse(address)
        if parsed.scheme.lower() not in _SCHEMES or parsed.path not in ("", "/") or not parsed.hostname:
            raise ConfigurationError(
                f"{source}={address!r} is not a gateway address: use grpcs://host:port (TLS), "
                "grpc://host:port (plaintext) or host:port"
            )
        scheme_secure = _SCHEMES[parsed.scheme.lower()]
        try:
            port = parsed.port
        except ValueError:
            port = -1
        if port == -1:
            raise ConfigurationError(f"{source}={address!r} has a bad port")
        host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
        address = f"{host}:{port or (443 if scheme_secure else 26500)}"
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(
            f"{source}={address!r} is not a gateway address: use host:port, e.g. localhost:26500"
        )
    return address, scheme_secure


def _host_of(address: str) -> str:
    host = address.rpartition(":")[0] if ":" in address else address
    return host.strip("[]")


def _read_file(path: str, name: str, what: str, *, pem: bool = False) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} {name}={path!r}: {exc.strerror}; point it at a PEM file") from exc
    if pem and b"-----BEGIN" not in data:
        raise ConfigurationError(f"the {what} {name}={path!r} is not PEM (no -----BEGIN line)")
    return data


class _Reader:
    """Arguments first, then the first environment variable that is set (empty counts as unset)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def pick(self, arg: Optional[str], arg_name: str, *names: str) -> Tuple[Optional[str], str]:
        if arg is not None:
            return arg, arg_name
        for name in names:
            value = self.env.get(name)
            if value:
                return value, name
        return None, names[0] if names else arg_name

    def flag(self, arg: Optional[bool], name: str) -> Optional[bool]:
        if arg is not None:
            return bool(arg)
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else parse_bool(value, name)


def _roots(r: _Reader, ca_certificate: Optional[Union[str, bytes]], ca_path: Optional[str]) -> Tuple[Optional[bytes], str]:
    if ca_certificate is not None and ca_path is not None:
        raise ConfigurationError("give ca_certificate (PEM text) or ca_certificate_path, not both")
    if ca_certificate is not None:
        data = ca_certificate.encode("ascii") if isinstance(ca_certificate, str) else bytes(ca_certificate)
        return data, "ca_certificate"
    if ca_path is not None:
        return _read_file(ca_path, "ca_certificate_path", "CA certificate"), "ca_certificate_path"
    text = r.env.get("CAMUNDA_CUSTOM_ROOT_CERT_STRING") or None
    path, name = r.pick(None, "", "CAMUNDA_CUSTOM_ROOT_CERT_PATH", "ZEEBE_CA_CERTIFICATE_PATH")
    if text and r.env.get("CAMUNDA_CUSTOM_ROOT_CERT_PATH"):
        raise ConfigurationError(
            "CAMUNDA_CUSTOM_ROOT_CERT_STRING and CAMUNDA_CUSTOM_ROOT_CERT_PATH are both set: keep one"
        )
    if text:
        # environments often hold PEM with literal \n sequences; turn them into newlines
        return text.replace("\\n", "\n").encode("ascii"), "CAMUNDA_CUSTOM_ROOT_CERT_STRING"
    if path is not None:
        return _read_file(path, name, "CA certificate"), name
    return None, ""


def _client_cert(r: _Reader, cert_path: Optional[str], key_path: Optional[str]) -> Tuple[Optional[bytes], Optional[bytes]]:
    cert, cert_name = r.pick(cert_path, "client_certificate_path", "CAMUNDA_CUSTOM_CERT_CHAIN_PATH")
    key, key_name = r.pick(key_path, "client_private_key_path", "CAMUNDA_CUSTOM_PRIVATE_KEY_PATH")
    if (cert is None) != (key is None):
        missing = ("client_private_key_path / CAMUNDA_CUSTOM_PRIVATE_KEY_PATH" if key is None
                   else "client_certificate_path / CAMUNDA_CUSTOM_CERT_CHAIN_PATH")
        raise ConfigurationError(
            f"mTLS needs a client certificate chain and its private key: {missing} is missing "
            "(CAMUNDA_CUSTOM_CERT_CHAIN_PATH + CAMUNDA_CUSTOM_PRIVATE_KEY_PATH)"
        )
    if cert is None or key is None:
        return None, None
    return (_read_file(cert, cert_name, "client certificate chain", pem=True),
            _read_file(key, key_name, "client private key", pem=True))


def _secure(r: _Reader, secure: Optional[bool], scheme_secure: Optional[bool], address_source: str,
            tls_material: str) -> bool:
    said = r.flag(None, "CAMUNDA_SECURE_CONNECTION")
    insecure = r.flag(None, "ZEEBE_INSECURE_CONNECTION")
    if said is not None and insecure is not None and said == insecure:
        raise ConfigurationError(
            f"CAMUNDA_SECURE_CONNECTION={r.env['CAMUNDA_SECURE_CONNECTION']!r} and "
            f"ZEEBE_INSECURE_CONNECTION={r.env['ZEEBE_INSECURE_CONNECTION']!r} contradict each other: keep one"
        )
    from_env = said if said is not None else (None if insecure is None else not insecure)
    if scheme_secure is not None:
        if secure is not None and secure != scheme_secure:
            raise ConfigurationError(
                f"secure={secure} contradicts the scheme of {address_source} "
                f"({'grpcs' if scheme_secure else 'grpc'}://)"
            )
        if from_env is not None and from_env != scheme_secure:
            log.warning("%s has a %s scheme: CAMUNDA_SECURE_CONNECTION / ZEEBE_INSECURE_CONNECTION are ignored",
                        address_source, "TLS" if scheme_secure else "plaintext")
        result = scheme_secure
    elif secure is not None:
        result = bool(secure)
    elif from_env is not None:
        result = from_env
    else:
        result = bool(tls_material)
    if tls_material and not result:
        raise ConfigurationError(
            f"TLS material ({tls_material}) was given but the connection is not secure: "
            "set CAMUNDA_SECURE_CONNECTION=true (secure=True, or a grpcs:// address) or drop it"
        )
    return result


def _tenant(r: _Reader, tenant_id: Optional[str]) -> Optional[str]:
    value, name = r.pick(tenant_id, "tenant_id", "CAMUNDA_TENANT_ID")
    if value is None:
        return None
    if value != "<default>" and not _TENANT.fullmatch(value):
        raise ConfigurationError(
            f"{name}={value!r} is not a tenant id: at most 31 characters of letters, digits, "
            "'.', '-' and '_' (or <default>)"
        )
    return value


def resolve_config(
    gateway_address: Optional[str] = None,
    *,
    secure: Optional[bool] = None,
    ca_certificate_path: Optional[str] = None,
    ca_certificate: Optional[Union[str, bytes]] = None,
    client_certificate_path: Optional[str] = None,
    client_private_key_path: Optional[str] = None,
    auth_strategy: Optional[str] = None,
    client_id: Optional[str] = None,
    client_secret: Optional[str] = None,
    authorization_server_url: Optional[str] = None,
    token_audience: Optional[str] = None,
    token_scope: Optional[str] = None,
    token_cache_dir: Optional[str] = None,
    token_disk_cache_disabled: Optional[bool] = None,
    oauth_disabled: Optional[bool] = None,
    basic_auth_username: Optional[str] = None,
    basic_auth_password: Optional[str] = None,
    tenant_id: Optional[str] = None,
    request_timeout: float = defaults.REQUEST_TIMEOUT,
    max_message_bytes: int = defaults.CLIENT_MAX_MESSAGE_BYTES,
    environ: Optional[Mapping[str, str]] = None,
) -> ClientConfig:
    """Merge arguments and environment into a :class:`ClientConfig`; see the module docstring.

    Raises:
        ConfigurationError: A value is missing, malformed or contradicts another.
    """
    r = _Reader(os.environ if environ is None else environ)

    raw_address, address_source = r.pick(gateway_address, "gateway_address", "ZEEBE_GRPC_ADDRESS", "ZEEBE_ADDRESS")
    address, scheme_secure = _check_address(raw_address or defaults.ZEEBE_ADDRESS, address_source)

    root_certificates, roots_source = _roots(r, ca_certificate, ca_certificate_path)
    certificate_chain, private_key = _client_cert(r, client_certificate_path, client_private_key_path)
    material = " and ".join(x for x in (roots_source, "a client certificate" if certificate_chain else "") if x)
    is_secure = _secure(r, secure, scheme_secure, address_source, material)

    strategy = _strategy(r, auth_strategy, oauth_disabled, client_id, client_secret, authorization_server_url,
                         basic_auth_username)
    oauth = _oauth(r, address, client_id, client_secret, authorization_server_url, token_audience, token_scope,
                   token_cache_dir, token_disk_cache_disabled) if strategy == "OAUTH" else None
    basic = _basic(r, basic_auth_username, basic_auth_password) if strategy == "BASIC" else None

    if not request_timeout > 0:
        raise ConfigurationError(f"request_timeout must be > 0 seconds, got {request_timeout!r}")
    if not isinstance(max_message_bytes, int) or max_message_bytes <= 0:
        raise ConfigurationError(f"max_message_bytes must be a positive int, got {max_message_bytes!r}")
    return ClientConfig(
        address=address,
        secure=is_secure,
        root_certificates=root_certificates,
        oauth=oauth,
        request_timeout=float(request_timeout),
        max_message_bytes=max_message_bytes,
        basic_auth=basic,
        certificate_chain=certificate_chain,
        private_key=private_key,
        tenant_id=_tenant(r, tenant_id),
    )


_OAUTH_NAMES = ("ZEEBE_CLIENT_ID", "ZEEBE_CLIENT_SECRET", "CAMUNDA_OAUTH_URL", "ZEEBE_AUTHORIZATION_SERVER_URL")


def _strategy(r: _Reader, strategy: Optional[str], oauth_disabled: Optional[bool], client_id: Optional[str],
              client_secret: Optional[str], url: Optional[str], basic_user: Optional[str]) -> str:
    raw, name = r.pick(strategy, "auth_strategy", "CAMUNDA_AUTH_STRATEGY")
    disabled = r.flag(oauth_disabled, "CAMUNDA_OAUTH_DISABLED")
    if raw is not None:
        chosen = raw.strip().upper()
        if chosen not in AUTH_STRATEGIES:
            raise ConfigurationError(
                f"{name}={raw!r} is not supported: use NONE, OAUTH or BASIC"
                + (" (BEARER and COOKIE are REST-only in Camunda's SDK)" if chosen in ("BEARER", "COOKIE") else "")
            )
        if chosen == "OAUTH" and disabled:
            raise ConfigurationError(f"{name}=OAUTH contradicts CAMUNDA_OAUTH_DISABLED / oauth_disabled=True")
        return chosen
    if not disabled and (any(v is not None for v in (client_id, client_secret, url))
                         or any(r.env.get(n) for n in _OAUTH_NAMES)):
        return "OAUTH"
    if basic_user is not None or r.env.get("CAMUNDA_BASIC_AUTH_USERNAME"):
        return "BASIC"
    return "NONE"


def _oauth(r: _Reader, address: str, client_id: Optional[str], client_secret: Optional[str], url: Optional[str],
           audience: Optional[str], scope: Optional[str], cache_dir: Optional[str],
           cache_disabled: Optional[bool]) -> OAuthSettings:
    cid, _ = r.pick(client_id, "client_id", "ZEEBE_CLIENT_ID")
    secret, _ = r.pick(client_secret, "client_secret", "ZEEBE_CLIENT_SECRET")
    endpoint, endpoint_name = r.pick(url, "authorization_server_url", "CAMUNDA_OAUTH_URL",
                                     "ZEEBE_AUTHORIZATION_SERVER_URL")
    missing = [n for n, v in (("ZEEBE_CLIENT_ID", cid), ("ZEEBE_CLIENT_SECRET", secret),
                              ("CAMUNDA_OAUTH_URL/ZEEBE_AUTHORIZATION_SERVER_URL", endpoint)) if not v]
    if missing:
        raise ConfigurationError(
            "OAuth is half configured: missing " + ", ".join(missing)
            + " (client_id / client_secret / authorization_server_url). Set all three, or set "
            "CAMUNDA_AUTH_STRATEGY=NONE (CAMUNDA_OAUTH_DISABLED=true) for a gateway without authentication"
        )
    parsed = urlparse(str(endpoint))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError(
            f"{endpoint_name}={endpoint!r} is not an http(s) URL: use the token endpoint, "
            "e.g. https://login.cloud.camunda.io/oauth/token"
        )
    aud, _ = r.pick(audience, "token_audience", "CAMUNDA_ZEEBE_OAUTH_AUDIENCE", "CAMUNDA_TOKEN_AUDIENCE",
                    "ZEEBE_TOKEN_AUDIENCE")
    token_scope, _ = r.pick(scope, "token_scope", "CAMUNDA_TOKEN_SCOPE")
    folder: Optional[str] = None
    if not r.flag(cache_disabled, "CAMUNDA_TOKEN_DISK_CACHE_DISABLE"):
        chosen, _ = r.pick(cache_dir, "token_cache_dir", "CAMUNDA_TOKEN_CACHE_DIR")
        folder = os.path.expanduser(chosen or defaults.OAUTH_TOKEN_CACHE_DIR)
    return OAuthSettings(
        client_id=str(cid), client_secret=str(secret), authorization_server_url=str(endpoint),
        audience=aud or _host_of(address), scope=token_scope or None, cache_dir=folder,
    )


def _basic(r: _Reader, username: Optional[str], password: Optional[str]) -> BasicAuthSettings:
    user, user_name = r.pick(username, "basic_auth_username", "CAMUNDA_BASIC_AUTH_USERNAME")
    secret, secret_name = r.pick(password, "basic_auth_password", "CAMUNDA_BASIC_AUTH_PASSWORD")
    if not user or not secret:
        missing = user_name if not user else secret_name
        raise ConfigurationError(
            f"basic auth needs a user and a password: {missing} is missing "
            "(CAMUNDA_BASIC_AUTH_USERNAME / CAMUNDA_BASIC_AUTH_PASSWORD)"
        )
    if ":" in user:
        raise ConfigurationError(f"{user_name}={user!r}: a basic-auth user name cannot contain ':'")
    return BasicAuthSettings(user, secret)
