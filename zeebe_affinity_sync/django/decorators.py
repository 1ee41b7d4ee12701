"""View decorators: a view returns variables (or a message round), the answer is the outcome.

::

    from zeebe_affinity_sync.django.decorators import affinity_process

    @require_POST
    @affinity_process("order-process", timeout=10)
    def order(request):
        return json.loads(request.body)

The decorated view answers 200 with the outcome variables as JSON (instance key in the
``X-Process-Instance-Key`` header). A view may still answer by itself by returning an
``HttpResponse`` (e.g. for a validation error). The library's errors are answered as JSON here
already, so the middleware is only needed for views that call the client directly.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, TypeVar, cast

from django.http import HttpResponseBase

from ..web import HttpAnswer, MessageRound, WebSettings, answer_message_view, answer_process_view
from . import conf
from .client import get_client
from .http import to_django

__all__ = ["affinity_process", "affinity_message", "MessageRound"]

F = TypeVar("F", bound=Callable[..., Any])
#: (view result, get_client, settings, wait in s) -> the answer
_ViewAnswer = Callable[[Any, Callable[[], Any], WebSettings, float], HttpAnswer]


def _decorate(view: F, timeout: Optional[float], answer: _ViewAnswer) -> F:
    # Shared by both decorators: an HttpResponse the view makes itself passes through; anything
    # else is handed to ``answer`` with the client, the settings and the wait.
    @functools.wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        result = view(request, *args, **kwargs)
        if isinstance(result, HttpResponseBase):
            return result
        web = conf.get_settings().web
        wait = web.timeout if timeout is None else timeout
        return to_django(answer(result, get_client, web, wait))

    return cast(F, wrapper)


def affinity_process(
    bpmn_process_id: str, *, timeout: Optional[float] = None, version: Optional[int] = None
) -> Callable[[F], F]:
    """Decorate a view returning the variables ``dict`` of a new instance of ``bpmn_process_id``.

    Args:
        bpmn_process_id: The process to start.
        timeout: Seconds to wait for the outcome (default: ``ZEEBE_AFFINITY["TIMEOUT"]``).
        version: Process version to start (default: the latest).

    Raises:
        TypeError: (at request time) the view returned neither a dict nor an ``HttpResponse``.
    """

    def decorator(view: F) -> F:
        return _decorate(view, timeout, lambda result, client, web, wait: answer_process_view(
            view.__name__, result, client, web, bpmn_process_id, version=version, timeout=wait
        ))

    return decorator


def affinity_message(name: str, *, timeout: Optional[float] = None) -> Callable[[F], F]:
    """Decorate a view returning a :class:`MessageRound`: publish message ``name``, answer with
    the instance's next outcome.

    Args:
        name: The message name of the instance's catch event.
        timeout: Seconds to wait for the outcome (default: ``ZEEBE_AFFINITY["TIMEOUT"]``).

    Raises:
        TypeError: (at request time) the view returned neither a ``MessageRound`` nor an
            ``HttpResponse``.
    """

    def decorator(view: F) -> F:
        return _decorate(view, timeout, lambda result, client, web, wait: answer_message_view(
            view.__name__, result, client, web, name, timeout=wait
        ))

    return decorator
