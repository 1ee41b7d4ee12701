"""``AffinityErrorMiddleware``: the library's errors as JSON answers, for any view.

Add ``"zeebe_affinity_sync.django.middleware.AffinityErrorMiddleware"`` to ``MIDDLEWARE``. A view
calling :func:`~zeebe_affinity_sync.django.get_client` directly that lets an ``AffinityTimeout``,
``AffinityOverloaded``, ``GatewayUnavailableError``... escape then answers as the decorators do
(504 / 202, 503 + Retry-After, 404, 400, 422; see :mod:`zeebe_affinity_sync.web`). Other
exceptions are left to Django.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from django.http import HttpRequest, HttpResponse

from ..errors import AffinityError, ZeebeError
from .http import exception_response


class AffinityErrorMiddleware:
    """New-style Django middleware; holds no per-request state."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Optional[Any]:
        if isinstance(exception, (AffinityError, ZeebeError)):
            return exception_response(exception)
        return None
