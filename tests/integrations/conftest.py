"""Fixtures of the integration tests: Django configured once for the whole folder (no database),
and the real stack (embedded engine + hub under gunicorn + workers) for the end-to-end tests."""
from __future__ import annotations

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only",
        ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
        INSTALLED_APPS=["zeebe_affinity_sync.django"],
        MIDDLEWARE=["zeebe_affinity_sync.django.middleware.AffinityErrorMiddleware"],
        ROOT_URLCONF="tests.integrations.django_urls",
        DATABASES={},
        USE_TZ=True,
        ZEEBE_AFFINITY={},
    )
    django.setup()


# --------------------------------------------------------------------------- the real stack

import os  # noqa: E402
from typing import Iterator  # noqa: E402

import pytest  # noqa: E402

from zeebe_affinity_sync.demo.stack import LocalStack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
#: Test-only BPMN: a process whose outcome comes after a 1 s timer (for timeouts / collect-later).
SLOW_BPMN = os.path.join(HERE, "bpmn", "slow-process.bpmn")


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """Embedded engine + real gunicorn hub + affinity and business workers, shared by the folder."""
    from zeebe_affinity_sync.demo import BPMN_FILES

    with LocalStack(bpmn_files=BPMN_FILES + (SLOW_BPMN,), max_running_jobs=16) as stack:
        yield stack
