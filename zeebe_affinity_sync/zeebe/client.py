"""``ZeebeClient``: a synchronous, thread-safe Zeebe client over our generated gateway stub.

One client holds one gRPC channel (created on first use, re-created after a fork) shared by all
threads. Every call has a finite deadline. gRPC errors become
:class:`~zeebe_affinity_sync.errors.ZeebeError` subclasses in one place
(:func:`~.grpc_errors.from_grpc_error`). Calls that are safe to repeat are retried
on UNAVAILABLE / RESOURCE_EXHAUSTED with capped exponential backoff (see :mod:`.retry`).

The client is put together from parts, each with one job: :mod:`.gateway_calls` (one call's
deadline, retry, error mapping; tenant defaults), :mod:`.process_commands` (cluster, deploy,
instances, messages, signals, decisions, incidents), :mod:`.job_commands` (activation and the
job commands) with :mod:`.job_streams` (the open ActivateJobs / StreamActivatedJobs calls), and
:mod:`.encoding` (argument checks and encoding, before any I/O). The names they define are
importable from here as before.

Example::

    with ZeebeClient("localhost:26500") as client:
        client.deploy_resource("order.bpmn")
        result = client.create_process_instance_with_result("order", {"id": 7}, timeout=10)
        print(result.variables)
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Union

from .. import defaults
from .channel import LazyChannel
from .config import ClientConfig, resolve_config
from .encoding import encode_variables
from .job_commands import JobCommands
from .job_streams import ActivationStream, JobStream
from .oauth import OAuthTokenProvider
from .process_commands import ProcessCommands
from .retry import RetryPolicy

__all__ = ["ZeebeClient", "ActivationStream", "JobStream", "encode_variables"]

log = logging.getLogger(__name__)


class ZeebeClient(ProcessCommands, JobCommands):
    """Synchronous Zeebe client; every method is thread-safe.

    Args:
        gateway_address: ``host:port``, ``grpcs://host:port`` (TLS) or ``grpc://host:port``;
            else ``ZEEBE_GRPC_ADDRESS``, ``ZEEBE_ADDRESS``; else ``localhost:26500``.
        secure: TLS; else the address's scheme, ``CAMUNDA_SECURE_CONNECTION`` /
            ``ZEEBE_INSECURE_CONNECTION``; else on iff a CA or client certificate is given.
        ca_certificate_path: PEM roots for TLS; else ``CAMUNDA_CUSTOM_ROOT_CERT_PATH``,
            ``ZEEBE_CA_CERTIFICATE_PATH``.
        ca_certificate: PEM roots as text; else ``CAMUNDA_CUSTOM_ROOT_CERT_STRING``.
        client_certificate_path: mTLS client certificate chain (PEM); else
            ``CAMUNDA_CUSTOM_CERT_CHAIN_PATH``. Needs ``client_private_key_path``.
        client_private_key_path: Its private key (PEM); else ``CAMUNDA_CUSTOM_PRIVATE_KEY_PATH``.
        auth_strategy: ``"NONE"``, ``"OAUTH"`` or ``"BASIC"``; else ``CAMUNDA_AUTH_STRATEGY``;
            else OAuth if OAuth credentials are set, basic if a basic-auth user is, else none.
        client_id: OAuth client id; else ``ZEEBE_CLIENT_ID``.
        client_secret: OAuth client secret; else ``ZEEBE_CLIENT_SECRET``.
        authorization_server_url: OAuth token endpoint; else ``CAMUNDA_OAUTH_URL``,
            ``ZEEBE_AUTHORIZATION_SERVER_URL``.
        token_audience: OAuth audience; else ``CAMUNDA_ZEEBE_OAUTH_AUDIENCE``,
            ``CAMUNDA_TOKEN_AUDIENCE``, ``ZEEBE_TOKEN_AUDIENCE``; else the gateway host.
        token_scope: OAuth scope; else ``CAMUNDA_TOKEN_SCOPE``; else none.
        token_cache_dir: Folder of the on-disk token cache; else ``CAMUNDA_TOKEN_CACHE_DIR``;
            else ``~/.camunda``.
        token_disk_cache_disabled: Keep tokens in memory only; else
            ``CAMUNDA_TOKEN_DISK_CACHE_DISABLE``.
        oauth_disabled: Ignore the OAuth settings; else ``CAMUNDA_OAUTH_DISABLED``.
        basic_auth_username: Basic-auth user; else ``CAMUNDA_BASIC_AUTH_USERNAME``.
        basic_auth_password: Basic-auth password; else ``CAMUNDA_BASIC_AUTH_PASSWORD``.
        tenant_id: Default tenant of deploy, create, publish, signal and decision calls and of
            job activation; else ``CAMUNDA_TENANT_ID``; else the gateway's default tenant
            (``config.tenant_id`` is then ``None``). Each call's own ``tenant_id`` /
            ``tenant_ids`` wins.
        request_timeout: gRPC deadline of ordinary calls, seconds (default 15).
        max_message_bytes: gRPC max message size, bytes (default 4 MiB).
        retry_policy: How safe calls are repeated (default: 5 attempts, 0.1 s doubling to 5 s).

    Raises:
        ConfigurationError: A setting is missing or wrong (before any I/O).
    """

    def __init__(
        self,
        gateway_address: Optional[str] = None,
        *,
        secure: Optional[bool] = None,
        ca_certificate_path: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        authorization_server_url: Optional[str] = None,
        token_audience: Optional[str] = None,
        oauth_disabled: Optional[bool] = None,
        ca_certificate: Optional[Union[str, bytes]] = None,
        client_certificate_path: Optional[str] = None,
        client_private_key_path: Optional[str] = None,
        auth_strategy: Optional[str] = None,
        token_scope: Optional[str] = None,
        token_cache_dir: Optional[str] = None,
        token_disk_cache_disabled: Optional[bool] = None,
        basic_auth_username: Optional[str] = None,
        basic_auth_password: Optional[str] = None,
        tenant_id: Optional[str] = None,
        request_timeout: float = defaults.REQUEST_TIMEOUT,
        max_message_bytes: int = defaults.CLIENT_MAX_MESSAGE_BYTES,
        retry_policy: Optional[RetryPolicy] = None,
    ) -> None:
        self.config: ClientConfig = resolve_config(
            gateway_address,
            secure=secure,
            ca_certificate_path=ca_certificate_path,
            client_id=client_id,
            client_secret=client_secret,
            authorization_server_url=authorization_server_url,
            token_audience=token_audience,
            oauth_disabled=oauth_disabled,
            ca_certificate=ca_certificate,
            client_certificate_path=client_certificate_path,
            client_private_key_path=client_private_key_path,
            auth_strategy=auth_strategy,
            token_scope=token_scope,
            token_cache_dir=token_cache_dir,
            token_disk_cache_disabled=token_disk_cache_disabled,
            basic_auth_username=basic_auth_username,
            basic_auth_password=basic_auth_password,
            tenant_id=tenant_id,
            request_timeout=request_timeout,
            max_message_bytes=max_message_bytes,
        )
        # shared by every client of this process with the same settings: one token, one request
        self.token_provider: Optional[OAuthTokenProvider] = (
            OAuthTokenProvider.shared(self.config.oauth) if self.config.oauth is not None else None
        )
        self.retry_policy = retry_policy or RetryPolicy()
        self._channel = LazyChannel(self.config, self.token_provider)

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the channel; later calls raise ``RuntimeError``. Idempotent."""
        self._channel.close()

    def __enter__(self) -> "ZeebeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        auth = {"OAUTH": "oauth", "BASIC": "basic-auth"}.get(self.config.auth_strategy, "no-auth")
        tls = "tls" if self.config.secure else "plaintext"
        return f"<ZeebeClient {self.config.address} {tls} {auth}{' closed' if self.closed else ''}>"
