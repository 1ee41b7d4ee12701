"""A ready-made view for collecting an outcome after a timeout.

Route it at the URL of ``ZEEBE_AFFINITY["OUTCOME_URL"]``::

    path("outcomes/<int:process_instance_key>", collect_outcome)
"""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from .. import defaults
from ..web import answer_collect
from . import conf
from .client import get_client
from .http import to_django

__all__ = ["collect_outcome"]


@require_GET
def collect_outcome(request: HttpRequest, process_instance_key: Any) -> JsonResponse:
    """200 with the outcome of an instance whose request timed out, 202 while it is pending,
    400 for a key that is not an integer."""
    return to_django(answer_collect(
        get_client, process_instance_key, conf.get_settings().web, defaults.WEB_COLLECT_TIMEOUT
    ))
