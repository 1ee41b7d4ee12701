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

from typing import Any, Callable, Optional, Tuple, TypeVar

from django.http import HttpResponseBase

from ..web import HttpAnswer, MessageRound, WebSettings
from ..web.decorators import Framework, decorate, message_kind, process_kind
from . import conf
from .client import get_client
from .http import to_django

__all__ = ["affinity_process", "affinity_message", "MessageRound"]

F = TypeVar("F", bound=Callable[..., Any])


class _Django(Framework):
    """The decorators' view of Django: the request is the view's first argument."""

    def passthrough(self, result: Any) -> Optional[HttpResponseBase]:
        return result if isinstance(result, HttpResponseBase) else None

    def respond(self, answer: HttpAnswer) -> Any:
        return to_django(answer)

    def settings(self) -> WebSettings:
        return conf.get_settings().web

    def get_client(self) -> Any:
        return get_client()

    def request_body(self, args: Tuple[Any, ...]) -> Optional[bytes]:
        # ``request.body`` is cached once read (RawPostDataException if the view streamed it:
        # refuse_body then gives no verdict and the view's own error propagates).
        return bytes(args[0].body) if args else None


_DJANGO = _Django()


def affinity_process(
    bpmn_process_id: str, *, timeout: Optional[float] = None, version: Optional[int] = None
) -> Callable[[F], F]:
    """Decorate a view returning the variables ``dict`` of a new instance of ``bpmn_process_id``.

    A request body that is not a JSON object (the view passing it through, or failing on it)
    answers 400 ``invalid-body``.

    Args:
        bpmn_process_id: The process to start.
        timeout: Seconds to wait for the outcome (default: ``ZEEBE_AFFINITY["TIMEOUT"]``).
        version: Process version to start (default: the latest).

    Raises:
        TypeError: (at request time) the view returned neither a dict nor an ``HttpResponse``.
    """

    def decorator(view: F) -> F:
        return decorate(_DJANGO, view, process_kind(bpmn_process_id, version=version), timeout)

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
        return decorate(_DJANGO, view, message_kind(name), timeout)

    return decorator
