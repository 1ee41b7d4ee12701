"""Settings of the example project: the minimum Django needs, plus ZEEBE_AFFINITY."""
from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DATABASES: dict = {}

INSTALLED_APPS = [
    "zeebe_affinity_sync.django",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "zeebe_affinity_sync.django.middleware.AffinityErrorMiddleware",
]

ZEEBE_AFFINITY = {
    # None: read ZEEBE_ADDRESS / ZEEBE_AFFINITY_URL / ZEEBE_AFFINITY_TOKEN from the environment
    "ZEEBE_ADDRESS": os.environ.get("ZEEBE_ADDRESS"),
    "URL": os.environ.get("ZEEBE_AFFINITY_URL"),
    "TOKEN": os.environ.get("ZEEBE_AFFINITY_TOKEN"),
    "TIMEOUT": float(os.environ.get("ZEEBE_AFFINITY_TIMEOUT", "10")),
    "OUTCOME_URL": "/outcomes/{key}",   # a timeout answers 202 + Location: /outcomes/<key>
    "FAILURE_STATUS": 422,
    # business workers run by `python manage.py zeebe_workers`
    "WORKERS": ["zeebe_affinity_sync.demo.workers.register"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
