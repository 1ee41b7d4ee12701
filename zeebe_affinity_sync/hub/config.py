"""The hub's settings as one validated, frozen value object.

:class:`HubConfig` is built from keyword arguments (the CLI does that) or from the environment
(:meth:`HubConfig.from_env`, which ``server/wsgi.py`` uses). Every bad value raises
:class:`~zeebe_affinity_sync.errors.ConfigurationError` naming the setting and what to give instead,
before any socket is opened.

Environment variables (all optional)::

    ZEEBE_AFFINITY_TOKEN            shared token(s), comma-separated for rotation
    ZEEBE_AFFINITY_REDIS_URL        redis://... turns on scale-out over Redis
    ZEEBE_AFFINITY_OUTCOME_TTL      seconds an unclaimed outcome is held (default 30)
    ZEEBE_AFFINITY_BROADCAST        "0"/"false" turns off the seed-style broadcast
    ZEEBE_AFFINITY_MAX_FRAME_BYTES  largest frame accepted (default 1 MiB)
    ZEEBE_AFFINITY_PING_INTERVAL    seconds between keepalive pings (default 20)
    ZEEBE_AFFINITY_STATS_INTERVAL   seconds between stats log lines (default 300)
    ZEEBE_AFFINITY_THREADS          gunicorn threads per worker (for the capacity warning)
    ZEEBE_AFFINITY_SEND_TIMEOUT     seconds a write to one peer may take (default 10)
    ZEEBE_AFFINITY_SEND_BUFFER      kernel send buffer per connection, bytes (default 131072; 0 = kernel)
    ZEEBE_AFFINITY_HEADER_TIMEOUT   seconds an HTTP request's headers may take (default 5)
    ZEEBE_AFFINITY_ALLOW_QUERY_TOKEN  "1" accepts ws://host:port/?token=... (seed clients)
    ZEEBE_AFFINITY_PROTECT_STATS    "1" puts /stats and /metrics behind the token
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Iterable, Mapping, Optional, Tuple

from .. import checks, defaults
from ..errors import ConfigurationError

__all__ = ["HubConfig", "parse_tokens"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_tokens(values: Iterable[str]) -> Tuple[str, ...]:
    """Split comma-separated token lists, strip blanks, keep order, drop duplicates."""
    tokens = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in tokens:
                tokens.append(part)
    return tuple(tokens)


@dataclasses.dataclass(frozen=True)
class HubConfig:
    """Settings of one hub process (each gunicorn worker holds the same copy).

    Attributes:
        tokens: Accepted bearer tokens; empty means no authentication.
        redis_url: ``redis://`` URL for scale-out, or ``None`` for a single process hub.
        outcome_ttl: Seconds an outcome nobody subscribed to yet is held (default 30).
        max_held: Count bound of held outcomes.
        max_held_bytes: Byte bound of held outcomes (frame text length).
        max_frame_bytes: Largest frame accepted; a larger one closes the socket with 1009.
        max_subscriptions: Keys one connection may subscribe to at once.
        max_protocol_errors: Bad frames tolerated before the connection is closed with 1008.
        ping_interval: Seconds between keepalive pings; a peer that misses one pong is reaped.
        send_timeout: Seconds a send to one peer may block before the peer is dropped as stuck.
        stats_interval: Seconds between stats log lines (0 turns the line off).
        broadcast: Send every outcome to registered clients that never subscribed (seed clients).
        channel_prefix: Prefix of the Redis keys and channel.
        threads: gunicorn threads per worker, if known: each websocket holds one, so the hub
            warns when open connections come close to it (new ones would wait for a thread).
        header_timeout: Seconds a request's HTTP headers may take to arrive (the hub's gunicorn
            worker closes slower connections; they hold no thread meanwhile).
        allow_query_token: Also accept the token as ``?token=`` on the upgrade URL (seed
            clients cannot send headers). Off by default: URLs end up in logs.
        protect_stats: ``/stats`` and ``/metrics`` need the token too (``/healthz`` never does).
        outbound_queue_bytes: Bytes queued to one peer at most; past it the peer is dropped.
        send_buffer_bytes: The kernel send buffer (``SO_SNDBUF``) of each connection; ``0``
            leaves it to the kernel's autotuning, which lets a peer that never reads take up to
            ``tcp_wmem``'s maximum before the outbound queue (and the drop) starts.
        inbound_buffer_bytes: Unhandled inbound bytes per connection at which reading pauses.
        shutdown_timeout: Seconds shutdown waits for all peers to close (all at once).
    """

    tokens: Tuple[str, ...] = ()
    redis_url: Optional[str] = None
    outcome_ttl: float = defaults.HUB_OUTCOME_TTL
    max_held: int = defaults.HUB_MAX_HELD_OUTCOMES
    max_held_bytes: int = defaults.HUB_MAX_HELD_BYTES
    max_frame_bytes: int = defaults.HUB_MAX_FRAME_BYTES
    max_subscriptions: int = defaults.HUB_MAX_SUBSCRIPTIONS
    max_protocol_errors: int = defaults.HUB_MAX_PROTOCOL_ERRORS
    ping_interval: float = defaults.HUB_PING_INTERVAL
    send_timeout: float = defaults.HUB_SEND_TIMEOUT
    stats_interval: float = defaults.HUB_STATS_INTERVAL
    broadcast: bool = True
    channel_prefix: str = defaults.REDIS_CHANNEL_PREFIX
    threads: Optional[int] = None
    header_timeout: float = defaults.HUB_HEADER_TIMEOUT
    allow_query_token: bool = False
    protect_stats: bool = False
    outbound_queue_bytes: int = defaults.HUB_OUTBOUND_QUEUE_BYTES
    send_buffer_bytes: int = defaults.HUB_SOCKET_SEND_BUFFER
    inbound_buffer_bytes: int = defaults.HUB_INBOUND_BUFFER_BYTES
    shutdown_timeout: float = defaults.HUB_SHUTDOWN_TIMEOUT

    def __post_init__(self) -> None:
        if isinstance(self.tokens, str):
            object.__setattr__(self, "tokens", parse_tokens([self.tokens]))
        else:
            object.__setattr__(self, "tokens", parse_tokens(self.tokens))
        # The library's shared checks (checks.py): a wrong kind is a ConfigurationTypeError, a
        # value out of range a ConfigurationError; both name the setting.
        for name in ("outcome_ttl", "ping_interval", "send_timeout", "header_timeout",
                     "shutdown_timeout"):
            object.__setattr__(self, name, checks.seconds(getattr(self, name), f"hub setting {name}"))
        object.__setattr__(self, "stats_interval", checks.seconds(
            self.stats_interval, "hub setting stats_interval (0 = off)", allow_zero=True))
        for name in ("max_held", "max_held_bytes", "max_frame_bytes", "max_subscriptions",
                     "max_protocol_errors", "outbound_queue_bytes", "inbound_buffer_bytes"):
            checks.count(getattr(self, name), f"hub setting {name}")
        if self.redis_url is not None:
            url = str(self.redis_url)
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    f"hub redis_url must start with redis://, rediss:// or unix://, got {url!r}"
                )
        checks.count(self.send_buffer_bytes, "hub setting send_buffer_bytes (0 = the kernel's)",
                     minimum=0)
        checks.optional(checks.count, self.threads, "hub setting threads")
        if self.outbound_queue_bytes < self.max_frame_bytes:
            raise ConfigurationError(
                f"hub setting outbound_queue_bytes ({self.outbound_queue_bytes}) must be at least "
                f"max_frame_bytes ({self.max_frame_bytes}): one outcome must fit a peer's queue")
        for name in ("allow_query_token", "protect_stats", "broadcast"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"hub setting {name} must be True or False")
        if not self.channel_prefix:
            raise ConfigurationError("hub channel_prefix must not be empty")

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> "HubConfig":
        """Build the settings from ``ZEEBE_AFFINITY_*`` environment variables plus ``overrides``.

        Raises:
            ConfigurationError: a variable holds a value of the wrong kind.
        """
        env = os.environ if environ is None else environ
        values: dict = {}
        token = env.get("ZEEBE_AFFINITY_TOKEN")
        if token:
            values["tokens"] = parse_tokens([token])
        if env.get("ZEEBE_AFFINITY_REDIS_URL"):
            values["redis_url"] = env["ZEEBE_AFFINITY_REDIS_URL"]
        numbers = {
            "ZEEBE_AFFINITY_OUTCOME_TTL": ("outcome_ttl", float),
            "ZEEBE_AFFINITY_MAX_FRAME_BYTES": ("max_frame_bytes", int),
            "ZEEBE_AFFINITY_PING_INTERVAL": ("ping_interval", float),
            "ZEEBE_AFFINITY_STATS_INTERVAL": ("stats_interval", float),
            "ZEEBE_AFFINITY_THREADS": ("threads", int),
            "ZEEBE_AFFINITY_SEND_TIMEOUT": ("send_timeout", float),
            "ZEEBE_AFFINITY_SEND_BUFFER": ("send_buffer_bytes", int),
            "ZEEBE_AFFINITY_HEADER_TIMEOUT": ("header_timeout", float),
        }
        for var, (name, kind) in numbers.items():
            raw = env.get(var)
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise ConfigurationError(
                        f"{var} must be a{'n integer' if kind is int else ' number'}, got {raw!r}"
                    ) from None
        for var, name in (("ZEEBE_AFFINITY_BROADCAST", "broadcast"),
                          ("ZEEBE_AFFINITY_ALLOW_QUERY_TOKEN", "allow_query_token"),
                          ("ZEEBE_AFFINITY_PROTECT_STATS", "protect_stats")):
            raw = env.get(var)
            if raw is not None:
                low = raw.strip().lower()
                if low not in _TRUE | _FALSE:
                    raise ConfigurationError(f"{var} must be 1/0 or true/false, got {raw!r}")
                values[name] = low in _TRUE
        values.update(overrides)
        return cls(**values)
