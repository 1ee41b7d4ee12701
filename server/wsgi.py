"""WSGI entry point of the hub for gunicorn: ``gunicorn -c server/gunicorn.conf.py server.wsgi:app``.

Settings come from ``ZEEBE_AFFINITY_*`` environment variables (see
:mod:`zeebe_affinity_sync.hub.config`); gunicorn loads this module in each worker after the fork,
so every worker builds its own hub (and its own Redis connection).
"""
from __future__ import annotations

from zeebe_affinity_sync.hub.app import create_app

app = create_app()
