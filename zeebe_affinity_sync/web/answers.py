"""HTTP answers: the library's errors (and bad request bodies) as JSON, the same in every framework.

Every error body is a JSON object ``{"error": <stable code>, "message": <text>, ...}``. The
message is written for the HTTP client: it never carries internal addresses, gateway details or
stack traces (those go to the log, at WARNING for a 5xx, INFO for a 4xx). The mapping is
:data:`ERROR_RULES`, first match wins; the README's error table is checked against it:

=====================================  ======  ======================  =======================
exception                              status  ``error``               body / headers
=====================================  ======  ======================  =======================
``AffinityTimeout``                    504     ``timeout``             ``processInstanceKey``;
                                                                       202 + ``Location`` with
                                                                       an outcome URL
``ProcessFailed``                      422     ``process-failed``      ``variables`` (status
                                                                       configurable)
``AffinityOverloaded``                 503     ``overloaded``          ``Retry-After``
``AffinityUnavailable``                503     ``affinity-unavailable``
other ``AffinityError``                503     ``affinity-error``
``ZeebeTimeoutError``                  504     ``timeout``
``BackpressureError``                  503     ``backpressure``        ``Retry-After``
``GatewayUnavailableError``            503     ``gateway-unavailable``
``NotFoundError``                      404     ``not-found``
``InvalidArgumentError``               400     ``invalid-argument``
other ``ZeebeError``                   502     ``zeebe-error``
=====================================  ======  ======================  =======================

Answered before any call: a request body that is not a JSON object (400 ``invalid-body``), the
reserved ``_affinity_request_id`` in the variables (400 ``invalid-argument``), a collect key that
is not an integer (400 ``invalid-argument``).
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Type

from .. import defaults, protocol
from ..errors import (
    AffinityError,
    AffinityOverloaded,
    AffinityTimeout,
    AffinityUnavailable,
    BackpressureError,
    GatewayUnavailableError,
    InvalidArgumentError,
    NotFoundError,
    ProcessFailed,
    ZeebeError,
    ZeebeTimeoutError,
)
from .settings import WebSettings

__all__ = [
    "INSTANCE_KEY_HEADER",
    "HttpAnswer",
    "ErrorRule",
    "ERROR_RULES",
    "error_response",
    "answer_error",
    "success_response",
    "pending_response",
    "still_pending_response",
    "refuse_reserved",
    "refuse_body",
    "invalid_key",
]

logger = logging.getLogger(__name__)

#: Response header carrying the process instance key of a successful call.
INSTANCE_KEY_HEADER = "X-Process-Instance-Key"


@dataclass(frozen=True)
class HttpAnswer:
    """A framework-neutral HTTP response: status, JSON body and extra headers."""

    status: int
    body: Dict[str, Any]
    headers: Dict[str, str] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"))


@dataclass(frozen=True)
class ErrorRule:
    """How one exception class is answered.

    Attributes:
        exception: The class (its subclasses too, unless an earlier rule takes them).
        status: The HTTP status (``ProcessFailed``'s is the configured failure status).
        code: The stable ``"error"`` code of the body.
        message: What the HTTP client reads (fixed text, no internals).
        retry_after: Whether the answer carries a ``Retry-After`` header.
        request_details: Pass the gateway's own description of the *request* instead of
            ``message`` when it has one (only 4xx, whose text names what the client sent).
    """

    exception: Type[BaseException]
    status: int
    code: str
    message: str
    retry_after: bool = False
    request_details: bool = False


#: The mapping, first match wins (subclasses before their parents).
ERROR_RULES: Tuple[ErrorRule, ...] = (
    ErrorRule(AffinityTimeout, defaults.WEB_TIMEOUT_STATUS, "timeout", "no outcome within the wait"),
    ErrorRule(ProcessFailed, defaults.WEB_FAILURE_STATUS, "process-failed",
              "the process reported a failure outcome"),
    ErrorRule(AffinityOverloaded, 503, "overloaded",
              "too many requests are waiting for outcomes: retry after the Retry-After delay", True),
    ErrorRule(AffinityUnavailable, 503, "affinity-unavailable",
              "the service that relays process outcomes cannot be reached: retry later"),
    ErrorRule(AffinityError, 503, "affinity-error", "the process outcome could not be delivered"),
    ErrorRule(ZeebeTimeoutError, 504, "timeout", "the process engine did not answer in time"),
    ErrorRule(BackpressureError, 503, "backpressure",
              "the process engine is overloaded: retry after the Retry-After delay", True),
    ErrorRule(GatewayUnavailableError, 503, "gateway-unavailable",
              "the process engine cannot be reached: retry later"),
    ErrorRule(NotFoundError, 404, "not-found",
              "the process (or process instance) the request names does not exist", request_details=True),
    ErrorRule(InvalidArgumentError, 400, "invalid-argument", "the request was refused as invalid",
              request_details=True),
    ErrorRule(ZeebeError, 502, "zeebe-error", "the process engine refused the request"),
)


def _key(value: Any) -> Optional[str]:
    # Zeebe keys exceed 2**53 on high partitions: strings keep them exact in JavaScript.
    return None if value is None else str(value)


def _retry_after(seconds: Optional[float]) -> str:
    if seconds is None or seconds <= 0:
        seconds = defaults.WEB_RETRY_AFTER
    return str(max(1, int(math.ceil(seconds))))


def _rule(exc: BaseException) -> Optional[ErrorRule]:
    return next((rule for rule in ERROR_RULES if isinstance(exc, rule.exception)), None)


def _message(rule: ErrorRule, exc: BaseException) -> str:
    if not rule.request_details:
        return rule.message
    # A 4xx names what the client sent: the gateway's own details say that (e.g. "Expected to
    # find process definition with process ID 'x'"), without our RPC names or addresses. The
    # exception's own text may hold those, so it is never passed on.
    details = getattr(exc, "details", "") or ""
    return str(details)[:500] if details else rule.message


def success_response(outcome: Any) -> HttpAnswer:
    """200 with the outcome variables as the body and the instance key in a header."""
    headers = {}
    key = getattr(outcome, "process_instance_key", None)
    if key is not None:
        headers[INSTANCE_KEY_HEADER] = str(key)
    return HttpAnswer(200, dict(outcome.variables), headers)


def _timeout_message(key: Any, wait: Optional[float]) -> str:
    # The library's own message says what to check (the relay task, the affinity worker, the
    # task type) and whether the instance still runs: it goes to the log; the client gets the
    # gist and where to look.
    within = f" within {wait:g}s" if wait else ""
    subject = f" from process instance {key}" if key is not None else ""
    return (f"no outcome{subject}{within}. If every request ends like this, the process may not "
            "reach a relay task or no affinity worker serves it: the server log says what to check")


def pending_response(process_instance_key: Any, settings: WebSettings, message: str) -> HttpAnswer:
    """202 + ``Location`` (outcome URL configured) or 504, for an outcome that has not come yet."""
    if settings.outcome_url is not None and process_instance_key is not None:
        return still_pending_response(process_instance_key, settings, message)
    body = {"error": "timeout", "message": message, "processInstanceKey": _key(process_instance_key)}
    return HttpAnswer(defaults.WEB_TIMEOUT_STATUS, body)


def still_pending_response(process_instance_key: Any, settings: WebSettings, message: str) -> HttpAnswer:
    """202 for an outcome collection that found nothing yet (with ``Location`` to poll again)."""
    body: Dict[str, Any] = {
        "status": "pending",
        "message": message,
        "processInstanceKey": _key(process_instance_key),
    }
    headers = {"Retry-After": _retry_after(None)}
    if settings.outcome_url is not None:
        headers["Location"] = body["location"] = settings.outcome_url.format(key=process_instance_key)
    return HttpAnswer(202, body, headers)


def error_response(exc: BaseException, settings: WebSettings) -> Optional[HttpAnswer]:
    """The HTTP answer for one of the library's errors, or ``None`` if it is not one we map.

    Args:
        exc: The exception a view (or the client it called) raised.
        settings: Decide the failure status and whether a timeout answers 202.
    """
    rule = _rule(exc)
    if rule is None:
        return None
    if isinstance(exc, AffinityTimeout):
        key = exc.process_instance_key
        message = _timeout_message(key, exc.timeout)
        if settings.outcome_url is not None and key is not None:
            message = f"no outcome from process instance {key} yet: it is collected at the Location, poll it"
        return pending_response(key, settings, message)
    message = _message(rule, exc)
    body: Dict[str, Any] = {"error": rule.code, "message": message}
    headers: Dict[str, str] = {}
    status = rule.status
    if isinstance(exc, ProcessFailed):
        status = settings.failure_status
        body.update(processInstanceKey=_key(exc.process_instance_key), variables=dict(exc.variables))
    elif isinstance(exc, ZeebeTimeoutError):
        body["processInstanceKey"] = None
    if rule.retry_after:
        retry = getattr(exc, "retry_after", None)
        if isinstance(exc, AffinityOverloaded):
            body["retryAfter"] = retry
        headers["Retry-After"] = _retry_after(retry)
    return HttpAnswer(status, body, headers)


def answer_error(exc: BaseException, settings: WebSettings) -> Optional[HttpAnswer]:
    """:func:`error_response`, with the full error (addresses, gateway details) in the log only;
    ``None`` for an exception that is not one we map."""
    answer = error_response(exc, settings)
    if answer is not None:
        level = logging.WARNING if answer.status >= 500 else logging.INFO
        logger.log(level, "answering %d %s for %s: %s", answer.status, answer.body.get("error", ""),
                   type(exc).__name__, exc)
    return answer


def refuse_reserved(variables: Optional[Mapping[str, Any]]) -> Optional[HttpAnswer]:
    """400 if ``variables`` carry the affinity layer's reserved variable, else ``None``.

    A view that passes a request body through as the variables would otherwise let any HTTP
    client trigger the client's ``ValueError`` (a 500): that is bad input, answered as such.
    """
    if variables and protocol.REQUEST_ID_VARIABLE in variables:
        return HttpAnswer(400, {
            "error": "invalid-argument",
            "message": f"variable {protocol.REQUEST_ID_VARIABLE!r} is reserved for the affinity "
                       "layer: send the request without it",
        })
    return None


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true/false", type(None): "null"}


def refuse_body(read_body: Callable[[], Optional[bytes]], *, empty_is_bad: bool = True) -> Optional[HttpAnswer]:
    """400 ``invalid-body`` if the current request's body is not a JSON object, else ``None``.

    Asked only after a decorated view failed or returned something that is not its variables:
    a view passing its request body through (``return request.get_json()``) then answers the
    HTTP client's mistake as a 400, not as a server error. A body that is a JSON object means
    the view itself went wrong, and the caller lets that error through.

    Args:
        read_body: Returns the raw body (``None`` if it cannot be read again).
        empty_is_bad: Whether an empty body is refused too (yes when the view *failed*, most
            likely parsing it; no when it returned a wrong value without reading any body).
    """
    try:
        raw = read_body()
    except Exception:  # noqa: BLE001 - a stream already consumed: no verdict on the body
        return None
    if raw is None:
        return None
    if not raw.strip():
        if not empty_is_bad:
            return None
        problem = "the request has no body: send the variables as a JSON object, e.g. {\"orderId\": \"A-1\"}"
    else:
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "the request body is not UTF-8 text: send a JSON object"
        except ValueError as exc:
            reason = getattr(exc, "msg", "not JSON")
            problem = f"the request body is not valid JSON ({reason}): send a JSON object"
        else:
            if isinstance(value, dict):
                return None
            problem = (f"the request body must be a JSON object, got {_JSON_KINDS.get(type(value), 'another value')}: "
                       "send the variables as {\"name\": value, ...}")
    return HttpAnswer(400, {"error": "invalid-body", "message": problem})


def invalid_key(process_instance_key: Any) -> HttpAnswer:
    """400 for a collect request whose key is not an integer."""
    return HttpAnswer(400, {
        "error": "invalid-argument",
        "message": f"process instance key {str(process_instance_key)[:40]!r} is not an integer: "
                   "use the processInstanceKey of the earlier answer",
    })
