"""Building the affinity client from the settings, and the one client of each process.

The clients themselves are fork-safe (``ZBAffinityClient`` and ``RedisAffinity`` start their
connection, threads and gRPC channel lazily in the process that uses them, checking the pid), so
the holder only makes sure that one client is built per process, on first use, and never at
import time: under gunicorn ``--preload`` the import happens in the master before the fork.
"""
from __future__ import annotations

import inspect
import logging
import threading
from typing import Any, Callable, Dict, Optional

from ..errors import ConfigurationError
from .settings import WebSettings

__all__ = ["build_client", "ClientHolder"]

logger = logging.getLogger(__name__)


def build_client(settings: WebSettings) -> Any:
    """Create the affinity client the settings describe (no network I/O happens here).

    Raises:
        ConfigurationError: The mode needs an extra that is not installed, or the client
            refused its options (the message names the setting holding them).
    """
    if settings.client_factory is not None:
        return _call_factory(settings.client_factory, settings)
    options: Dict[str, Any] = dict(settings.client_options)
    options.setdefault("affinity_timeout", settings.timeout)
    if settings.tenant_id is not None:
        options.setdefault("tenant_id", settings.tenant_id)
    try:
        if settings.strategy == "redis":
            try:
                from ..affinity.redis import RedisAffinity
            except ImportError as exc:  # pragma: no cover - depends on the installed extras
                raise ConfigurationError(
                    f"strategy 'redis' needs redis-py ({exc}): pip install \"zeebe-affinity-sync[redis]\""
                ) from exc
            return RedisAffinity(settings.zeebe_address, redis_url=settings.redis_url, **options)
        from ..affinity.client import ZBAffinityClient

        if settings.strategy == "with_result":
            options.setdefault("strategy", "with_result")
        else:
            options.setdefault("affinity_url", settings.affinity_url)
            options.setdefault("affinity_token", settings.affinity_token)
        return ZBAffinityClient(settings.zeebe_address, **options)
    except (ConfigurationError, TypeError) as exc:
        # An unknown keyword (TypeError) or a refused value in the client options: say where it
        # came from, in the user's own spelling of the setting.
        raise ConfigurationError(
            f"the affinity client refused its settings ({exc}): check "
            f"{settings.name_of('client_options')} and the other affinity settings"
        ) from exc


def _call_factory(factory: Callable[..., Any], settings: WebSettings) -> Any:
    """Call a client factory with the settings, or with nothing if it takes no argument
    (``client_factory=lambda: client``, as tests with a ready-made client write it)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: assume the documented form
        return factory(settings)
    takes_one = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)
    return factory(settings) if takes_one else factory()


class ClientHolder:
    """Creates the affinity client of this process on first use and hands it to every thread.

    Args:
        factory: Called without arguments to create the client.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        #: the client, once made; guarded by ``_lock`` for writes, shared by every request thread
        self._client: Optional[Any] = None

    def get(self) -> Any:
        """The client, created on first call (thread-safe: one client however many threads race).

        Raises:
            ConfigurationError: The settings cannot make a client.
        """
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = self._factory()
                logger.debug("created affinity client %r", self._client)
            return self._client

    def close(self) -> None:
        """Close the client (if any). The next :meth:`get` makes a new one."""
        with self._lock:
            client, self._client = self._client, None
        close = getattr(client, "close", None)
        if close is not None:
            close()
