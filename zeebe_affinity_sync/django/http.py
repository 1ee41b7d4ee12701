"""Turn the shared :class:`~zeebe_affinity_sync.web.HttpAnswer` into a Django ``JsonResponse``."""
from __future__ import annotations

from typing import Optional

from django.http import JsonResponse

from ..web import HttpAnswer, answer_error
from . import conf


def to_django(answer: HttpAnswer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def exception_response(exc: BaseException) -> Optional[JsonResponse]:
    """The JSON answer for one of the library's errors, ``None`` for any other exception."""
    answer = answer_error(exc, conf.get_settings().web)
    return None if answer is None else to_django(answer)
