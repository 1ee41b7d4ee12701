"""The reusable Django app of zeebe-affinity-sync.

Add it to ``INSTALLED_APPS`` and configure it with one settings dict::

    INSTALLED_APPS += ["zeebe_affinity_sync.django"]
    MIDDLEWARE += ["zeebe_affinity_sync.django.middleware.AffinityErrorMiddleware"]
    ZEEBE_AFFINITY = {"URL": "ws://hub:8089", "TIMEOUT": 10}

Then decorate views (:mod:`.decorators`), or call :func:`get_client` in your own views, and run the
workers with ``python manage.py zeebe_workers``. Settings are read lazily, so
``override_settings(ZEEBE_AFFINITY=...)`` works in tests.
"""
from __future__ import annotations

from typing import Any

__all__ = ["get_client", "close_client"]


def get_client() -> Any:
    """The affinity client of this process, created from ``settings.ZEEBE_AFFINITY`` on first use.

    Raises:
        django.core.exceptions.ImproperlyConfigured: ``ZEEBE_AFFINITY`` is wrong.
    """
    from .client import get_client as _get_client

    return _get_client()


def close_client() -> None:
    """Close this process's client; the next :func:`get_client` creates a new one."""
    from .client import close_client as _close_client

    _close_client()
