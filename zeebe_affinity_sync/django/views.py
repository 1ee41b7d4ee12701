"""A ready-made view for collecting an outcome after a timeout.

Route it at the URL of ``ZEEBE_AFFINITY["OUTCOME_URL"]``::

    path("outcomes/<int:process_instance_key>", collect_outcome)
"""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from .. import defaults
from ..errors import AffinityError, AffinityTimeout, ZeebeError
from ..web import HttpAnswer, still_pending_response, success_response
from . import conf
from .client import get_client
from .http import exception_response, to_django

__all__ = ["collect_outcome"]


@require_GET
def collect_outcome(request: HttpRequest, process_instance_key: Any) -> JsonResponse:
    """200 with the outcome of an instance whose request timed out, 202 while it is pending."""
    try:
        key = int(process_instance_key)
    except (TypeError, ValueError):
        return to_django(
            HttpAnswer(
                400,
                {
                    "error": "invalid-argument",
                    "message": f"process instance key {process_instance_key!r} is not an "
                    "integer: use the processInstanceKey of the earlier answer",
                },
            )
        )
    try:
        outcome = get_client().get_outcome(key, timeout=defaults.WEB_COLLECT_TIMEOUT)
    except AffinityTimeout as exc:
        return to_django(still_pending_response(key, conf.get_settings().web, str(exc)))
    except (AffinityError, ZeebeError) as exc:
        response = exception_response(exc)
        if response is None:
            raise
        return response
    return to_django(success_response(outcome))
