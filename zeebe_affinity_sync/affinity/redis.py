"""``RedisAffinity``: the affinity calls over Redis pub/sub instead of the hub.

The channels and keys, and how outcomes travel, are described in :mod:`.redis_transport`.
"""
from __future__ import annotations

from typing import Any, Optional

from .. import checks, defaults
from ..errors import ConfigurationError
from .base import AffinityClientBase
from .redis_transport import RedisTransport
from .transport import Deliver, Transport
from .waiters import WaiterRegistry

__all__ = ["RedisAffinity"]


class RedisAffinity(AffinityClientBase):
    """The affinity calls of :class:`ZBAffinityClient`, over Redis pub/sub instead of the hub.

    Args:
        gateway_address: Zeebe gateway ``host:port`` (else ``ZEEBE_ADDRESS``).
        redis_url: ``redis://`` / ``rediss://`` URL (default ``redis://localhost:6379/0``).
        channel_prefix: Prefix of every channel and key (default ``zeebe-affinity``).
        affinity_timeout: Default wait for an outcome, and for Redis at first use, seconds.
        health_check_interval: Ping the idle subscriber connection this often, seconds (10).
        **options: As for :class:`~.base.AffinityClientBase` (``max_pending``, ``ack_timeout``,
            ``collect_ttl`` (also the TTL of stored outcomes), ``connect_timeout``,
            ``reconnect_initial``, ``reconnect_max``, ``strategy``...) and the
            :class:`~zeebe_affinity_sync.zeebe.client.ZeebeClient` settings.

    Raises:
        ConfigurationError: A bad URL or value; redis-py missing.
    """

    def __init__(
        self,
        gateway_address: Optional[str] = None,
        redis_url: str = defaults.REDIS_URL,
        *,
        channel_prefix: str = defaults.REDIS_CHANNEL_PREFIX,
        affinity_timeout: float = defaults.AFFINITY_TIMEOUT,
        health_check_interval: float = defaults.REDIS_HEALTH_CHECK_INTERVAL,
        **options: Any,
    ) -> None:
        if not isinstance(redis_url, str) or not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                f"redis_url must be a redis://, rediss:// or unix:// URL, got {redis_url!r}: "
                "e.g. 'redis://localhost:6379/0'"
            )
        if not isinstance(channel_prefix, str) or not channel_prefix or any(c.isspace() for c in channel_prefix):
            raise ConfigurationError(f"channel_prefix must be a non-empty str without spaces, got {channel_prefix!r}")
        self._health_check_interval = checks.seconds(health_check_interval, "health_check_interval")
        super().__init__(gateway_address, affinity_timeout=affinity_timeout, **options)
        self.redis_url = redis_url
        self.channel_prefix = channel_prefix

    @property
    def _transport_name(self) -> str:
        return "Redis"

    def _make_transport(self, deliver: Deliver, registry: WaiterRegistry, role: str = "client") -> Transport:
        return RedisTransport(
            self.redis_url,
            prefix=self.channel_prefix,
            deliver=deliver,
            pending_keys=registry.pending_keys,
            connect_timeout=self._connect_timeout,
            command_timeout=self.ack_timeout,
            outcome_ttl=max(self.collect_ttl, 1.0),
            health_check_interval=self._health_check_interval,
            reconnect_initial=self._reconnect_initial,
            reconnect_max=self._reconnect_max,
        )

    def __enter__(self) -> "RedisAffinity":
        return self

    def __repr__(self) -> str:
        return f"<RedisAffinity {self.address} redis={self.redis_url}{' closed' if self.closed else ''}>"
