"""pytest for the Django example: the project's settings, set up once (no database needed)."""
from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()
