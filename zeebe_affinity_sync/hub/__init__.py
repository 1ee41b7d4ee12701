"""The affinity hub: routes each process outcome to the connection that waits for it.

- :mod:`.core`: the routing core (no Flask, no sockets): :class:`HubCore`.
- :mod:`.held`: outcomes stored for a subscriber (held, or awaiting its receipt; TTL, bounded).
- :mod:`.stats`: counters, rates and the periodic maintenance loop.
- :mod:`.websocket`: the per-connection transport (bounded queues, one writer per socket).
- :mod:`.app`: the Flask app factory :func:`create_app`.
- :mod:`.worker`: the gunicorn worker the hub runs on (gthread, slowloris-safe).
- :mod:`.redis_bridge`: scale-out over Redis pub/sub.

Flask, simple-websocket and gunicorn are the ``hub`` extra; they are imported only when
:func:`create_app` or the ``zeebe-affinity hub`` command is used. ``HubProcess`` (a real hub in
a subprocess, for tests and demos) lives in :mod:`zeebe_affinity_sync.demo.hub_runner`; the old
name ``zeebe_affinity_sync.hub.HubProcess`` still resolves to it.
"""
from __future__ import annotations

from typing import Any

from .config import HubConfig
from .core import HubCore

__all__ = ["HubConfig", "HubCore", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "HubProcess":
        from ..demo.hub_runner import HubProcess

        return HubProcess
    raise AttributeError(f"module 'zeebe_affinity_sync.hub' has no attribute {name!r}")
