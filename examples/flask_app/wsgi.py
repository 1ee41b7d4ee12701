"""WSGI entry point for gunicorn: the example app configured from the environment
(``ZEEBE_ADDRESS``, ``ZEEBE_AFFINITY_URL``, ``ZEEBE_AFFINITY_TOKEN``...).

    gunicorn -k gthread -w 2 --threads 32 --bind 127.0.0.1:8000 wsgi:app

The affinity client is created lazily in each worker process, so ``--preload`` is safe.
"""
from __future__ import annotations

from zeebe_affinity_sync.demo.flask_app import create_app

app = create_app()
