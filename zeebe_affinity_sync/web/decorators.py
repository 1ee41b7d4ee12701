"""The view decorators' machinery, shared by Flask and Django.

A decorated view returns what to do (the variables of a new instance, or a
:class:`MessageRound`); :func:`decorate` runs it, lets a response the view made itself pass
through, calls the affinity client and turns the outcome (or the error) into an
:class:`~.answers.HttpAnswer`. A framework plugs in through a small :class:`Framework` adapter:
how to recognise its responses, how to send an answer, where the settings, the client and the
request body are.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar, cast

from ..errors import AffinityError, AffinityTimeout, ZeebeError
from .answers import (
    HttpAnswer,
    answer_error,
    invalid_key,
    refuse_body,
    refuse_reserved,
    still_pending_response,
    success_response,
)
from .settings import WebSettings

__all__ = [
    "MessageRound",
    "Framework",
    "ViewKind",
    "decorate",
    "process_kind",
    "message_kind",
    "check_variables",
    "check_round",
    "publish_round",
    "answer_call",
    "answer_collect",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: What a view may raise when it read a request body that is not a JSON object: the JSON
#: parser's ValueError, and the TypeError / AttributeError / LookupError of using a list or a
#: string as if it were a dict. Only these are checked against the body; anything else is the
#: view's own error and propagates.
BODY_ERRORS: Tuple[Type[BaseException], ...] = (ValueError, TypeError, AttributeError, LookupError)


@dataclass(frozen=True)
class MessageRound:
    """What a message-driven view returns: the message to publish and the instance to wait for.

    Args:
        correlation_key: Matched against the correlation key of the instance's message catch event.
        process_instance_key: The instance whose next outcome answers the request.
        variables: Message variables (a ``dict``), merged into the instance when it correlates.
        time_to_live: Seconds the message stays buffered if no subscription waits yet
            (``None``: the client's default).
        message_id: Optional id making the publication idempotent.
    """

    correlation_key: str
    process_instance_key: int
    variables: Optional[Dict[str, Any]] = None
    time_to_live: Optional[float] = None
    message_id: Optional[str] = None


class Framework:
    """What :func:`decorate` needs from a web framework (Flask and Django implement it).

    Attributes:
        body_errors: The framework's own exceptions for an unreadable body (Flask's
            ``BadRequest`` from ``request.get_json()``), checked like :data:`BODY_ERRORS`.
    """

    body_errors: Tuple[Type[BaseException], ...] = ()

    def passthrough(self, result: Any) -> Optional[Any]:
        """The response to send unchanged if the view made one itself, else ``None``."""
        raise NotImplementedError

    def respond(self, answer: HttpAnswer) -> Any:
        """The framework's response for ``answer``."""
        raise NotImplementedError

    def settings(self) -> WebSettings:
        raise NotImplementedError

    def get_client(self) -> Any:
        raise NotImplementedError

    def request_body(self, args: Tuple[Any, ...]) -> Optional[bytes]:
        """The current request's raw body (``args`` are the view's positional arguments)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ViewKind:
    """One kind of decorated view: how its result is checked, and the call that answers it.

    Attributes:
        check: ``(view name, result) -> checked value``; raises ``TypeError`` for a wrong result.
        reserved: The variables of the checked value (checked for the reserved variable).
        call: ``(client, checked value, wait in s) -> ProcessOutcome``.
    """

    check: Callable[[str, Any], Any]
    reserved: Callable[[Any], Optional[Dict[str, Any]]]
    call: Callable[[Any, Any, float], Any]


def process_kind(bpmn_process_id: str, *, version: Optional[int] = None) -> ViewKind:
    """A view returning the variables of a new instance of ``bpmn_process_id``."""
    return ViewKind(
        check=check_variables,
        reserved=lambda variables: variables,
        call=lambda client, variables, wait: client.create_process_instance_with_affinity(
            bpmn_process_id, variables, version=version, timeout=wait
        ),
    )


def message_kind(name: str) -> ViewKind:
    """A view returning a :class:`MessageRound` for message ``name``."""
    return ViewKind(
        check=check_round,
        reserved=lambda round_: round_.variables,
        call=lambda client, round_, wait: publish_round(client, name, round_, wait),
    )


def decorate(framework: Framework, view: F, kind: ViewKind, timeout: Optional[float]) -> F:
    """Wrap ``view``: run it, then answer with the outcome of what it returned.

    A view that fails on, or hands back, a request body that is not a JSON object answers 400
    ``invalid-body`` (the HTTP client's mistake); with a body that is an object, its error (or
    the ``TypeError`` for its wrong result) propagates as the programming error it is.
    """
    body_errors = BODY_ERRORS + framework.body_errors

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
        except body_errors:
            refusal = refuse_body(lambda: framework.request_body(args))
            if refusal is None:
                raise
            logger.info("view %s: %s", view.__name__, refusal.body["message"])
            return framework.respond(refusal)
        direct = framework.passthrough(result)
        if direct is not None:
            return direct
        try:
            checked = kind.check(view.__name__, result)
        except TypeError:
            refusal = refuse_body(lambda: framework.request_body(args), empty_is_bad=False)
            if refusal is None:
                raise
            return framework.respond(refusal)
        settings = framework.settings()
        wait = settings.timeout if timeout is None else timeout
        return framework.respond(_run(kind, checked, framework.get_client, settings, wait))

    return cast(F, wrapper)


def check_variables(view_name: str, value: Any) -> Dict[str, Any]:
    """Return ``value`` if it is a JSON-serialisable dict, else raise a :class:`TypeError`.

    A view decorated to start a process must return the variables ``dict``; anything else is a
    programming error, reported with the view's name.
    """
    if not isinstance(value, dict):
        raise TypeError(
            f"view {view_name!r} must return the process variables as a dict (or a response to "
            f"send as is), got {type(value).__name__}"
        )
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"view {view_name!r} returned variables that are not JSON-serialisable: {exc}"
        ) from exc
    return value


def check_round(view_name: str, value: Any) -> MessageRound:
    """Return ``value`` if it is a :class:`MessageRound`, else raise a :class:`TypeError`
    naming the view (a message view returning anything else is a programming error)."""
    if not isinstance(value, MessageRound):
        raise TypeError(
            f"view {view_name!r} must return a MessageRound(correlation_key, "
            f"process_instance_key, variables), got {type(value).__name__}"
        )
    return value


def publish_round(client: Any, name: str, round_: MessageRound, timeout: float) -> Any:
    """Publish the round's message with ``client`` and return the instance's next outcome."""
    options: Dict[str, Any] = {"timeout": timeout}
    if round_.time_to_live is not None:
        options["time_to_live"] = round_.time_to_live
    if round_.message_id is not None:
        options["message_id"] = round_.message_id
    return client.publish_message_with_affinity(
        name, round_.correlation_key, round_.process_instance_key, dict(round_.variables or {}), **options
    )


def answer_call(
    call: Callable[[], Any],
    settings: WebSettings,
    *,
    on_timeout: Optional[Callable[[AffinityTimeout], HttpAnswer]] = None,
) -> HttpAnswer:
    """Run ``call`` (a blocking affinity call returning a ProcessOutcome) and answer with its
    outcome, or with the mapped error. Exceptions that are not the library's propagate.

    Args:
        call: The call to make.
        settings: For the error mapping.
        on_timeout: Answers an ``AffinityTimeout`` instead of the mapping (collect-later).
    """
    try:
        outcome = call()
    except (AffinityError, ZeebeError) as exc:
        if on_timeout is not None and isinstance(exc, AffinityTimeout):
            logger.info("collect: %s", exc)
            return on_timeout(exc)
        answer = answer_error(exc, settings)
        if answer is None:  # pragma: no cover - the mapping covers both roots
            raise
        return answer
    return success_response(outcome)


def _not_here(key: int) -> str:
    # The library cannot tell "not yet" from "expired", "collected elsewhere" or "unknown key"
    # (get_outcome raises AffinityTimeout for all): the 202 says so, and until when polling helps.
    return (f"no outcome from process instance {key} here (yet): poll again, for at most the "
            "collect window (collect_ttl, 300 s by default); after it, the outcome is gone or "
            "was collected elsewhere")


def answer_collect(
    get_client: Callable[[], Any], process_instance_key: Any, settings: WebSettings, timeout: float
) -> HttpAnswer:
    """The answer of a collect-later endpoint: 200 with the outcome, 202 (+ ``Location`` when an
    outcome URL is configured) while it is pending, 400 for a key that is not an integer, and
    whatever the mapping says for the client's other errors (e.g. 404 for a key it refuses)."""
    try:
        key = int(process_instance_key)
    except (TypeError, ValueError):
        return invalid_key(process_instance_key)
    return answer_call(
        lambda: get_client().get_outcome(key, timeout=timeout),
        settings,
        on_timeout=lambda exc: still_pending_response(key, settings, _not_here(key)),
    )


def _run(kind: ViewKind, checked: Any, get_client: Callable[[], Any], settings: WebSettings,
         wait: float) -> HttpAnswer:
    # The reserved variable is refused before the client exists: bad input costs no connection.
    return refuse_reserved(kind.reserved(checked)) or answer_call(
        lambda: kind.call(get_client(), checked, wait), settings
    )
