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

from ..errors import AffinityError, ZeebeError
from ..web import MessageRound, check_variables, publish_round, success_response
from . import conf
from .client import get_client
from .http import exception_response, to_django

__all__ = ["affinity_process", "affinity_message", "MessageRound"]

F = TypeVar("F", bound=Callable[..., Any])


def _answer(call: Callable[[], Any]) -> Any:
    try:
        outcome = call()
    except (AffinityError, ZeebeError) as exc:
        response = exception_response(exc)
        if response is None:
            raise
        return response
    return to_django(success_response(outcome))


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
        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            result = view(request, *args, **kwargs)
            if isinstance(result, HttpResponseBase):
                return result
            variables = check_variables(view.__name__, result)
            wait = conf.get_settings().web.timeout if timeout is None else timeout
            return _answer(
                lambda: get_client().create_process_instance_with_affinity(
                    bpmn_process_id, variables, version=version, timeout=wait
                )
            )

        return cast(F, wrapper)

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
        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            result = view(request, *args, **kwargs)
            if isinstance(result, HttpResponseBase):
                return result
            if not isinstance(result, MessageRound):
                raise TypeError(
                    f"view {view.__name__!r} must return a MessageRound(correlation_key, "
                    f"process_instance_key, variables), got {type(result).__name__}"
                )
            wait = conf.get_settings().web.timeout if timeout is None else timeout
            return _answer(lambda: publish_round(get_client(), name, result, wait))

        return cast(F, wrapper)

    return decorator
