"""Framework-neutral glue shared by the Flask and Django integrations.

Both integrations read the same settings (under their own key spelling), build the affinity client
the same way, and turn the library's exceptions into the same HTTP answers. Keeping that here means
a Flask app and a Django app behind one load balancer answer a timeout or an overload identically.

The error mapping (:func:`error_response`):

=====================================  ======  ===============================================
exception                              status  body / headers
=====================================  ======  ===============================================
``AffinityTimeout``                    504     ``processInstanceKey``; 202 + ``Location`` when an
                                               outcome URL is configured
``ZeebeTimeoutError``                  504     (a with-result call ran out of time)
``AffinityOverloaded``                 503     ``Retry-After``
``BackpressureError``                  503     ``Retry-After``
``AffinityUnavailable``                503
``GatewayUnavailableError``            503
``NotFoundError`` (unknown process)    404
``InvalidArgumentError``               400     (bad variables, bad request)
reserved ``_affinity_request_id``      400     in the variables a view returned (request input)
``ProcessFailed``                      422     configurable; ``variables`` carries the outcome
other ``AffinityError``                503
other ``ZeebeError``                   502
=====================================  ======  ===============================================

Every error body is a JSON object ``{"error": <code>, "message": <text>, ...}``.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

from . import defaults, protocol
from .errors import (
    AffinityError,
    AffinityOverloaded,
    AffinityTimeout,
    AffinityUnavailable,
    BackpressureError,
    ConfigurationError,
    GatewayUnavailableError,
    InvalidArgumentError,
    NotFoundError,
    ProcessFailed,
    ZeebeError,
    ZeebeTimeoutError,
)

__all__ = [
    "MODES",
    "MessageRound",
    "WebSettings",
    "HttpAnswer",
    "ClientHolder",
    "build_client",
    "error_response",
    "success_response",
    "pending_response",
    "still_pending_response",
    "check_variables",
    "check_round",
    "refuse_reserved",
    "answer_error",
    "answer_call",
    "answer_collect",
    "answer_process_view",
    "answer_message_view",
    "publish_round",
]

logger = logging.getLogger(__name__)

#: The client strategies an integration can be configured with.
MODES = ("hub", "redis", "with_result")

#: Response header carrying the process instance key of a successful call.
INSTANCE_KEY_HEADER = "X-Process-Instance-Key"


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


@dataclass(frozen=True)
class WebSettings:
    """The integration settings, whatever framework they came from.

    Attributes:
        zeebe_address: ``host:port`` of the gateway; ``None`` lets the client read ``ZEEBE_ADDRESS``.
        mode: ``"hub"`` (ZBAffinityClient over the hub), ``"redis"`` (RedisAffinity) or
            ``"with_result"`` (Zeebe's CreateProcessInstanceWithResult, no relay).
        affinity_url: Hub websocket URL; ``None`` lets the client read ``ZEEBE_AFFINITY_URL``.
        affinity_token: Hub token; ``None`` lets the client read ``ZEEBE_AFFINITY_TOKEN``.
        timeout: Seconds a view waits for its outcome unless its decorator says otherwise.
        redis_url: Redis URL for ``mode="redis"``.
        failure_status: HTTP status answered for a ``ProcessFailed`` outcome.
        outcome_url: URL template with ``{key}``; when set, a timeout answers 202 + ``Location``.
        client_options: Extra keyword arguments for the client constructor.
        client_factory: ``callable(settings) -> client`` replacing the built-in construction.
        tenant_id: The client's default tenant; ``None`` lets the client read ``CAMUNDA_TENANT_ID``.
    """

    zeebe_address: Optional[str] = None
    mode: str = defaults.WEB_MODE
    affinity_url: Optional[str] = None
    affinity_token: Optional[str] = None
    timeout: float = defaults.AFFINITY_TIMEOUT
    redis_url: Optional[str] = None
    failure_status: int = defaults.WEB_FAILURE_STATUS
    outcome_url: Optional[str] = None
    client_options: Mapping[str, Any] = field(default_factory=dict)
    client_factory: Optional[Callable[["WebSettings"], Any]] = None
    tenant_id: Optional[str] = None

    def __post_init__(self) -> None:
        if self.tenant_id is not None and (not isinstance(self.tenant_id, str) or not self.tenant_id):
            raise ConfigurationError(f"tenant id must be a non-empty str (or None), got {self.tenant_id!r}")
        if self.mode not in MODES:
            raise ConfigurationError(
                f"affinity mode {self.mode!r} is not one of {', '.join(MODES)}: "
                "use 'hub' (default), 'redis' or 'with_result'"
            )
        try:
            timeout = float(self.timeout)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"affinity timeout {self.timeout!r} is not a number: give seconds, e.g. 30"
            ) from None
        if not timeout > 0 or math.isinf(timeout):
            raise ConfigurationError(
                f"affinity timeout must be a finite number of seconds > 0, got {self.timeout!r}"
            )
        object.__setattr__(self, "timeout", timeout)
        status = self.failure_status
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ConfigurationError(
                f"failure status {status!r} is not an HTTP error status: give an int in 400..599"
            )
        if self.outcome_url is not None and "{key}" not in self.outcome_url:
            raise ConfigurationError(
                f"outcome URL {self.outcome_url!r} has no '{{key}}' placeholder: "
                "e.g. '/outcomes/{key}'"
            )
        if not isinstance(self.client_options, Mapping):
            raise ConfigurationError(
                f"client options must be a dict of keyword arguments, got "
                f"{type(self.client_options).__name__}"
            )
        if (
            self.mode == "hub"
            and not self.affinity_url
            and not os.environ.get("ZEEBE_AFFINITY_URL")
            and self.client_factory is None
        ):
            raise ConfigurationError(
                "affinity mode 'hub' needs the hub's URL: set the URL setting (Flask: "
                "ZEEBE_AFFINITY_URL) or the ZEEBE_AFFINITY_URL environment variable, e.g. "
                "ws://localhost:8089, or choose mode 'with_result' or 'redis'"
            )
        if self.mode == "redis" and not self.redis_url and self.client_factory is None:
            raise ConfigurationError(
                "affinity mode 'redis' needs a Redis URL: set the REDIS_URL setting "
                "(Flask: ZEEBE_AFFINITY_REDIS_URL), e.g. redis://localhost:6379/0"
            )


def build_client(settings: WebSettings) -> Any:
    """Create the affinity client the settings describe (no network I/O happens here).

    Raises:
        ConfigurationError: The mode needs an extra that is not installed.
    """
    if settings.client_factory is not None:
        return settings.client_factory(settings)
    options: Dict[str, Any] = dict(settings.client_options)
    options.setdefault("affinity_timeout", settings.timeout)
    if settings.tenant_id is not None:
        options.setdefault("tenant_id", settings.tenant_id)
    if settings.mode == "redis":
        try:
            from .affinity.redis import RedisAffinity
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigurationError(
                f"affinity mode 'redis' needs redis-py ({exc}): pip install \"zeebe-affinity-sync[redis]\""
            ) from exc
        return RedisAffinity(settings.zeebe_address, redis_url=settings.redis_url, **options)
    from .affinity.client import ZBAffinityClient

    if settings.mode == "with_result":
        options.setdefault("strategy", "with_result")
    else:
        options.setdefault("affinity_url", settings.affinity_url)
        options.setdefault("affinity_token", settings.affinity_token)
    return ZBAffinityClient(settings.zeebe_address, **options)


# --------------------------------------------------------------------------- one client per process

#: Every live holder, so a fork can reset their locks. Guarded by the GIL (WeakSet ops are atomic
#: enough for add/iterate here); touched by whichever thread creates a holder, and by the forking
#: thread in the child.
_HOLDERS: "weakref.WeakSet[ClientHolder]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for holder in list(_HOLDERS):
        holder._forget_parent()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ClientHolder:
    """Owns the affinity client of one process and creates it on first use.

    Under gunicorn ``--preload`` the app is imported in the master and the workers are forked from
    it: a client created before the fork would carry dead threads and a shared gRPC channel into
    every worker. So the client is created lazily, and a holder that finds itself in a new process
    forgets the parent's client (without closing it: its threads live in the parent) and makes its
    own.

    Args:
        factory: Called without arguments to create the client.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        #: the client of process ``_pid``; guarded by ``_lock``, shared by every request thread
        self._client: Any = None
        self._pid: Optional[int] = None
        _HOLDERS.add(self)

    def get(self) -> Any:
        """The client of this process, created on first call (thread-safe)."""
        client, pid = self._client, self._pid
        if client is not None and pid == os.getpid():
            return client
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = self._factory()
                self._pid = os.getpid()
                logger.debug("created affinity client %r in pid %d", self._client, self._pid)
            return self._client

    @property
    def created(self) -> bool:
        """Whether this process already has its client."""
        return self._client is not None and self._pid == os.getpid()

    def close(self) -> None:
        """Close this process's client (if any). The next :meth:`get` makes a new one."""
        with self._lock:
            client, pid = self._client, self._pid
            self._client, self._pid = None, None
        if client is not None and pid == os.getpid():
            close = getattr(client, "close", None)
            if close is not None:
                close()

    def _forget_parent(self) -> None:
        # In a freshly forked child: the lock may have been held by a parent thread that does not
        # exist here, and the client belongs to the parent.
        self._lock = threading.Lock()
        self._client, self._pid = None, None


# --------------------------------------------------------------------------- HTTP answers


@dataclass(frozen=True)
class HttpAnswer:
    """A framework-neutral HTTP response: status, JSON body and extra headers."""

    status: int
    body: Dict[str, Any]
    headers: Dict[str, str] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"))


def _key(value: Any) -> Optional[str]:
    # Zeebe keys exceed 2**53 on high partitions: strings keep them exact in JavaScript.
    return None if value is None else str(value)


def _retry_after(seconds: Optional[float]) -> str:
    if seconds is None or seconds <= 0:
        seconds = defaults.WEB_RETRY_AFTER
    return str(max(1, int(math.ceil(seconds))))


def success_response(outcome: Any) -> HttpAnswer:
    """200 with the outcome variables as the body and the instance key in a header."""
    headers = {}
    key = getattr(outcome, "process_instance_key", None)
    if key is not None:
        headers[INSTANCE_KEY_HEADER] = str(key)
    return HttpAnswer(200, dict(outcome.variables), headers)


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
    if isinstance(exc, AffinityTimeout):
        return pending_response(exc.process_instance_key, settings, str(exc))
    if isinstance(exc, ProcessFailed):
        return HttpAnswer(
            settings.failure_status,
            {
                "error": "process-failed",
                "message": str(exc),
                "processInstanceKey": _key(exc.process_instance_key),
                "variables": dict(exc.variables),
            },
        )
    if isinstance(exc, AffinityOverloaded):
        return HttpAnswer(
            503,
            {"error": "overloaded", "message": str(exc), "retryAfter": exc.retry_after},
            {"Retry-After": _retry_after(exc.retry_after)},
        )
    if isinstance(exc, AffinityUnavailable):
        return HttpAnswer(503, {"error": "affinity-unavailable", "message": str(exc)})
    if isinstance(exc, AffinityError):
        return HttpAnswer(503, {"error": "affinity-error", "message": str(exc)})
    if isinstance(exc, ZeebeTimeoutError):
        return HttpAnswer(504, {"error": "timeout", "message": str(exc), "processInstanceKey": None})
    if isinstance(exc, BackpressureError):
        return HttpAnswer(
            503, {"error": "backpressure", "message": str(exc)}, {"Retry-After": _retry_after(None)}
        )
    if isinstance(exc, GatewayUnavailableError):
        return HttpAnswer(503, {"error": "gateway-unavailable", "message": str(exc)})
    if isinstance(exc, NotFoundError):
        return HttpAnswer(404, {"error": "not-found", "message": str(exc)})
    if isinstance(exc, InvalidArgumentError):
        return HttpAnswer(400, {"error": "invalid-argument", "message": str(exc)})
    if isinstance(exc, ZeebeError):
        return HttpAnswer(502, {"error": "zeebe-error", "message": str(exc)})
    return None


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


def publish_round(client: Any, name: str, round_: MessageRound, timeout: float) -> Any:
    """Publish the round's message with ``client`` and return the instance's next outcome."""
    options: Dict[str, Any] = {"timeout": timeout}
    if round_.time_to_live is not None:
        options["time_to_live"] = round_.time_to_live
    if round_.message_id is not None:
        options["message_id"] = round_.message_id
    return client.publish_message_with_affinity(
        name,
        round_.correlation_key,
        round_.process_instance_key,
        dict(round_.variables or {}),
        **options,
    )


def check_round(view_name: str, value: Any) -> MessageRound:
    """Return ``value`` if it is a :class:`MessageRound`, else raise a :class:`TypeError`
    naming the view (a message view returning anything else is a programming error)."""
    if not isinstance(value, MessageRound):
        raise TypeError(
            f"view {view_name!r} must return a MessageRound(correlation_key, "
            f"process_instance_key, variables), got {type(value).__name__}"
        )
    return value


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


def answer_error(exc: BaseException, settings: WebSettings) -> Optional[HttpAnswer]:
    """:func:`error_response`, logged; ``None`` for an exception that is not one we map."""
    answer = error_response(exc, settings)
    if answer is not None:
        logger.info("answering %d for %s: %s", answer.status, type(exc).__name__, exc)
    return answer


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
            return on_timeout(exc)
        answer = answer_error(exc, settings)
        if answer is None:  # pragma: no cover - error_response maps both roots
            raise
        return answer
    return success_response(outcome)


def answer_collect(
    get_client: Callable[[], Any], process_instance_key: Any, settings: WebSettings, timeout: float
) -> HttpAnswer:
    """The answer of a collect-later endpoint: 200 with the outcome, 202 (+ ``Location`` when an
    outcome URL is configured) while it is pending, 400 for a key that is not an integer."""
    try:
        key = int(process_instance_key)
    except (TypeError, ValueError):
        return HttpAnswer(400, {
            "error": "invalid-argument",
            "message": f"process instance key {process_instance_key!r} is not an integer: use "
                       "the processInstanceKey of the earlier answer",
        })
    return answer_call(
        lambda: get_client().get_outcome(key, timeout=timeout),
        settings,
        on_timeout=lambda exc: still_pending_response(key, settings, str(exc)),
    )


def answer_process_view(
    view_name: str,
    result: Any,
    get_client: Callable[[], Any],
    settings: WebSettings,
    bpmn_process_id: str,
    *,
    version: Optional[int],
    timeout: float,
) -> HttpAnswer:
    """What a process view answers once it returned ``result`` (its variables): the outcome of a
    new instance of ``bpmn_process_id``, or the mapped error.

    Raises:
        TypeError: ``result`` is not a JSON-serialisable dict (a programming error of the view).
    """
    variables = check_variables(view_name, result)
    return refuse_reserved(variables) or answer_call(
        lambda: get_client().create_process_instance_with_affinity(
            bpmn_process_id, variables, version=version, timeout=timeout
        ),
        settings,
    )


def answer_message_view(
    view_name: str,
    result: Any,
    get_client: Callable[[], Any],
    settings: WebSettings,
    name: str,
    *,
    timeout: float,
) -> HttpAnswer:
    """What a message view answers once it returned ``result`` (a :class:`MessageRound`): the
    instance's next outcome after message ``name``, or the mapped error.

    Raises:
        TypeError: ``result`` is not a ``MessageRound`` (a programming error of the view).
    """
    round_ = check_round(view_name, result)
    return refuse_reserved(round_.variables) or answer_call(
        lambda: publish_round(get_client(), name, round_, timeout), settings
    )
