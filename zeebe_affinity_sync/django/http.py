"""Turn the shared :class:`~zeebe_affinity_sync.web.HttpAnswer` into a Django ``JsonResponse``."""
from __future__ import annotations

import logging
from typing import Optional

from django.http import JsonResponse

from ..web import HttpAnswer, error_response
from . import conf

logger = logging.getLogger(__name__)


def to_django(answer: HttpAnswer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def exception_response(exc: BaseException) -> Optional[JsonResponse]:
    """The JSON answer for one of the library's errors, ``None`` for any other exception."""
    answer = error_response(exc, conf.get_settings().web)
    if answer is None:
        return None
    logger.info("answering %d for %s: %s", answer.status, type(exc).__name__, exc)
    return to_django(answer)
