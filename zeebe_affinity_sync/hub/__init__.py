"""The affinity hub: routes each process outcome to the connection that waits for it.

- :mod:`.core`: the routing core (no Flask): :class:`HubCore`.
- :mod:`.held`: outcomes held for a subscriber that has not come yet (TTL, bounded).
- :mod:`.app`: the Flask + flask-sock app factory :func:`create_app`.
- :mod:`.redis_bridge`: scale-out over Redis pub/sub.
- :mod:`.runner`: :class:`HubProcess`, a real hub (gunicorn) in a subprocess, for tests and demos.

Flask, flask-sock and gunicorn are the ``hub`` extra; they are imported only when
:func:`create_app` or the ``zeebe-affinity hub`` command is used.
"""
from __future__ import annotations

from typing import Any

from .config import HubConfig
from .core import HubCore
from .runner import HubProcess

__all__ = ["HubConfig", "HubCore", "HubProcess", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'zeebe_affinity_sync.hub' has no attribute {name!r}")
