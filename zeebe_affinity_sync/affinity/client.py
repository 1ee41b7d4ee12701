"""``ZBAffinityClient``: a Zeebe client whose calls wait for the outcome of the process they start.

Example (a Flask view, one client shared by every request thread)::

    client = ZBAffinityClient("zeebe:26500", affinity_url="ws://hub:8089", affinity_token="s3cret")

    @app.post("/orders")
    def order():
        outcome = client.create_process_instance_with_affinity("order", request.get_json(), timeout=10)
        return outcome.variables

    # in the worker service:
    client.create_affinity_worker("publish-outcome")

The outcomes travel over one websocket per process to the affinity hub
(:class:`~.hub_connection.HubConnection`, driven by :class:`~.hub_transport.HubTransport`, which
also owns the late-outcome policy); the request side is :mod:`.requests`, the relay worker
:mod:`.relay`.
"""
from __future__ import annotations

import os
from typing import Any, Optional

from .. import checks, defaults
from ..errors import ConfigurationError
from .base import AffinityClientBase
from .hub_transport import HubTransport
from .transport import Deliver, Transport
from .waiters import WaiterRegistry

__all__ = ["ZBAffinityClient"]


class ZBAffinityClient(AffinityClientBase):
    """Zeebe client with the affinity calls, routed through the affinity hub.

    Thread-safe (share one instance between all request threads of a process) and fork-safe:
    nothing connects until the first affinity call in the process that makes it.

    Args:
        gateway_address: Zeebe gateway ``host:port`` (else ``ZEEBE_ADDRESS``).
        affinity_url: ``ws://`` / ``wss://`` URL of the hub (else ``ZEEBE_AFFINITY_URL``).
            Not needed with ``strategy="with_result"``.
        affinity_token: Shared hub token (else ``ZEEBE_AFFINITY_TOKEN``; none if unset).
        affinity_timeout: Default wait for an outcome, and for the hub at first use, seconds
            (default 30).
        ping_interval: Keepalive ping interval, seconds (default 20).
        write_timeout: One frame must leave the socket within this, seconds (default 5); a hub
            that does not read for that long is dropped and reconnected (reads have their own
            limit: 2.5 ping intervals of silence).
        **options: ``max_pending``, ``retry_after``, ``ack_timeout``, ``collect_ttl``,
            ``callback_threads``, ``connect_timeout`` (one attempt, default 5 s),
            ``reconnect_initial`` / ``reconnect_max`` (backoff, default 0.1 s / 5 s),
            ``strategy`` (see :class:`~.base.AffinityClientBase`) and the
            :class:`~zeebe_affinity_sync.zeebe.client.ZeebeClient` settings.

    Raises:
        ConfigurationError: No hub URL, or a URL that is not ``ws://`` / ``wss://``.
    """

    def __init__(
        self,
        gateway_address: Optional[str] = None,
        affinity_url: Optional[str] = None,
        affinity_token: Optional[str] = None,
        affinity_timeout: float = defaults.AFFINITY_TIMEOUT,
        *,
        ping_interval: float = defaults.AFFINITY_PING_INTERVAL,
        write_timeout: float = defaults.AFFINITY_WRITE_TIMEOUT,
        **options: Any,
    ) -> None:
        url = affinity_url if affinity_url is not None else os.environ.get("ZEEBE_AFFINITY_URL") or None
        token = affinity_token if affinity_token is not None else os.environ.get("ZEEBE_AFFINITY_TOKEN") or None
        strategy = options.get("strategy", "hub")
        if url is None and strategy != "with_result":
            raise ConfigurationError(
                "no affinity hub URL: pass affinity_url='ws://host:8089' or set ZEEBE_AFFINITY_URL "
                "(or use strategy='with_result' to wait with CreateProcessInstanceWithResult instead)"
            )
        if url is not None and not url.startswith(("ws://", "wss://")):
            raise ConfigurationError(
                f"affinity_url must start with ws:// or wss://, got {url!r}: e.g. 'ws://localhost:8089'"
            )
        self._ping_interval = checks.seconds(ping_interval, "ping_interval")
        self._write_timeout = checks.seconds(write_timeout, "write_timeout")
        super().__init__(gateway_address, affinity_timeout=affinity_timeout, **options)
        self.affinity_url = url
        self.affinity_token = token

    @property
    def _transport_name(self) -> str:
        return "hub"

    def _make_transport(self, deliver: Deliver, registry: WaiterRegistry, role: str = "client") -> Transport:
        if self.affinity_url is None:
            raise ConfigurationError(
                "this client has no affinity_url (strategy='with_result'): pass affinity_url to use the hub"
            )
        return HubTransport(
            self.affinity_url,
            deliver=deliver,
            registry=registry,
            seen_ttl=self.collect_ttl,
            role=role,
            token=self.affinity_token,
            connect_timeout=self._connect_timeout,
            ping_interval=self._ping_interval,
            write_timeout=self._write_timeout,
            reconnect_initial=self._reconnect_initial,
            reconnect_max=self._reconnect_max,
        )

    @property
    def hub_connected(self) -> bool:
        """True while this process has a live connection to the hub."""
        state = self._state
        transport = state.transport if state is not None and state.pid == os.getpid() else None
        return isinstance(transport, HubTransport) and transport.connection.connected

    def __enter__(self) -> "ZBAffinityClient":
        return self

    def __repr__(self) -> str:
        return f"<ZBAffinityClient {self.address} hub={self.affinity_url}{' closed' if self.closed else ''}>"
