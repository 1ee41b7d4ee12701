"""WSGI entry point: ``gunicorn -k gthread -w 2 --threads 32 shop.wsgi`` (with ZEEBE_ADDRESS and
ZEEBE_AFFINITY_URL set, and ``python manage.py zeebe_workers`` running)."""
from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
