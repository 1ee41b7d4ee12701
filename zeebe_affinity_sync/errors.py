"""Every exception the library raises, rooted in one class.

The tree::

    ZeebeAffinityError                 root: ``except ZeebeAffinityError`` catches all of ours
    ├── ConfigurationError             a setting or argument is wrong (raised before any I/O)
    │   └── ConfigurationTypeError     ... of the wrong kind; also a ``TypeError``
    ├── ZeebeError                     the gateway answered with a gRPC error; has ``grpc_code``
    │   ├── GatewayUnavailableError    UNAVAILABLE / CANCELLED: the gateway cannot be reached
    │   ├── BackpressureError          RESOURCE_EXHAUSTED: the broker sheds load, retry later
    │   ├── ZeebeTimeoutError          DEADLINE_EXCEEDED (e.g. a with-result call ran out of time)
    │   ├── InvalidArgumentError       INVALID_ARGUMENT: bad variables, bad BPMN, bad request
    │   ├── NotFoundError              NOT_FOUND
    │   │   ├── ProcessNotFoundError   no such process definition / instance
    │   │   └── JobNotFoundError       no such job (completed, cancelled or never existed)
    │   ├── AlreadyExistsError         ALREADY_EXISTS (e.g. a duplicate messageId)
    │   ├── FailedPreconditionError    FAILED_PRECONDITION (e.g. job already failed)
    │   ├── PermissionDeniedError      PERMISSION_DENIED / UNAUTHENTICATED
    │   └── InternalGatewayError       INTERNAL and any other code
    ├── EngineBusyError                (engine) wait_for_idle() ran out of time; says what is busy
    ├── OAuthError                     the token endpoint refused us or could not be reached
    ├── ProtocolError                  a hub frame is malformed; the message says what and how to fix
    ├── BpmnError                      raised *by a job handler* to throw a BPMN error (not a failure)
    ├── FeelSyntaxError                (engine.feel) an expression does not parse; names the position
    ├── FeelEvaluationError            (engine.feel) an expression met a value FEEL cannot hold
    └── AffinityError                  the affinity layer could not deliver an outcome
        ├── AffinityTimeout            no outcome within the timeout; has ``process_instance_key``
        ├── AffinityOverloaded         too many requests already waiting; has ``retry_after``
        ├── AffinityUnavailable        the hub / Redis cannot be reached
        └── ProcessFailed              the process reported a failure outcome; has ``variables``

gRPC errors are turned into these in exactly one place,
:func:`zeebe_affinity_sync.zeebe.grpc_errors.from_grpc_error` (the gRPC client is its only
caller, so this module does not import ``grpc``), and raised ``from`` the original so the
traceback keeps the gRPC detail. ``errors.from_grpc_error`` still resolves to it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

if TYPE_CHECKING:  # pragma: no cover - annotations only: importing errors must not load grpc
    import grpc

__all__ = [
    "ZeebeAffinityError",
    "ConfigurationError",
    "ConfigurationTypeError",
    "ZeebeError",
    "GatewayUnavailableError",
    "BackpressureError",
    "ZeebeTimeoutError",
    "InvalidArgumentError",
    "NotFoundError",
    "ProcessNotFoundError",
    "JobNotFoundError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "PermissionDeniedError",
    "InternalGatewayError",
    "OAuthError",
    "ProtocolError",
    "EngineBusyError",
    "BpmnError",
    "AffinityError",
    "AffinityTimeout",
    "AffinityOverloaded",
    "AffinityUnavailable",
    "ProcessFailed",
    "from_grpc_error",
]


class ZeebeAffinityError(Exception):
    """Root of every exception raised by zeebe-affinity-sync."""


class ConfigurationError(ZeebeAffinityError, ValueError):
    """A setting or argument is missing or has a wrong value. Raised before any network I/O."""


class ConfigurationTypeError(ConfigurationError, TypeError):
    """A setting or argument of the wrong kind (e.g. text where seconds are expected).

    Both a :class:`ConfigurationError` and a ``TypeError``: see :mod:`zeebe_affinity_sync.checks`.
    """


# --------------------------------------------------------------------------- gRPC errors


class ZeebeError(ZeebeAffinityError):
    """The Zeebe gateway answered a call with a gRPC error.

    Attributes:
        grpc_code: The ``grpc.StatusCode`` the gateway sent (``None`` if not from gRPC).
        details: The gateway's own message.
    """

    def __init__(
        self,
        message: str,
        *,
        grpc_code: Optional["grpc.StatusCode"] = None,
        details: str = "",
    ) -> None:
        super().__init__(message)
        self.grpc_code = grpc_code
        self.details = details


class GatewayUnavailableError(ZeebeError):
    """The gateway cannot be reached (UNAVAILABLE or CANCELLED)."""


class BackpressureError(ZeebeError):
    """The broker is overloaded and refused the command (RESOURCE_EXHAUSTED); retry later."""


class ZeebeTimeoutError(ZeebeError, TimeoutError):
    """The call ran out of time (DEADLINE_EXCEEDED)."""


class InvalidArgumentError(ZeebeError, ValueError):
    """The gateway refused the request as invalid (INVALID_ARGUMENT)."""


class NotFoundError(ZeebeError, LookupError):
    """The thing the request names does not exist (NOT_FOUND)."""


class ProcessNotFoundError(NotFoundError):
    """No such process definition or process instance."""


class JobNotFoundError(NotFoundError):
    """No such job: completed, cancelled with its instance, or never existed."""


class AlreadyExistsError(ZeebeError):
    """ALREADY_EXISTS, e.g. a message with the same id is still buffered."""


class FailedPreconditionError(ZeebeError):
    """FAILED_PRECONDITION, e.g. completing a job that already failed."""


class PermissionDeniedError(ZeebeError):
    """PERMISSION_DENIED or UNAUTHENTICATED: check credentials / tenant."""


class InternalGatewayError(ZeebeError):
    """INTERNAL or an unexpected status code."""


# --------------------------------------------------------------------------- other roots


class EngineBusyError(ZeebeAffinityError, TimeoutError):
    """The embedded engine still had work of its own when ``wait_for_idle`` gave up.

    Attributes:
        busy: What was still busy (e.g. ``"2 scheduled callbacks due"``), one entry each.
    """

    def __init__(self, message: str, *, busy: Optional[list] = None) -> None:
        super().__init__(message)
        self.busy = list(busy or [])


class OAuthError(ZeebeAffinityError):
    """The OAuth token endpoint refused the credentials or could not be reached."""


class ProtocolError(ZeebeAffinityError, ValueError):
    """A hub frame is malformed. The message says what was wrong and what a valid frame is.

    Attributes:
        code: A short machine-readable reason (``"bad-json"``, ``"unknown-type"``, ...).
    """

    def __init__(self, message: str, *, code: str = "bad-frame") -> None:
        super().__init__(message)
        self.code = code


class BpmnError(ZeebeAffinityError):
    """Raise from a job handler to throw a BPMN error instead of failing the job.

    Args:
        error_code: Matched against the ``errorCode`` of an error catch event.
        message: Human readable message (shown in incidents if nothing catches it).
        variables: Variables handed to the catching event.
    """

    def __init__(
        self, error_code: str, message: str = "", variables: Optional[Mapping[str, Any]] = None
    ) -> None:
        super().__init__(message or error_code)
        self.error_code = error_code
        self.error_message = message
        self.variables: Dict[str, Any] = dict(variables or {})


# --------------------------------------------------------------------------- affinity


class AffinityError(ZeebeAffinityError):
    """The affinity layer could not hand a process outcome to its requester."""


class AffinityTimeout(AffinityError, TimeoutError):
    """No outcome arrived within the timeout.

    The process instance keeps running; its outcome, when it comes, is kept for a while and can be
    collected with ``get_outcome(process_instance_key)``.

    Attributes:
        process_instance_key: The instance that did not answer in time (``None`` if it was never
            created, e.g. the timeout passed while starting it).
        timeout: The timeout that passed, in seconds.
    """

    def __init__(
        self, message: str, *, process_instance_key: Optional[int] = None, timeout: float = 0.0
    ) -> None:
        super().__init__(message)
        self.process_instance_key = process_instance_key
        self.timeout = timeout


class AffinityOverloaded(AffinityError):
    """Too many requests of this process are already waiting for outcomes (admission control).

    Attributes:
        retry_after: Suggested wait before retrying, in seconds (for a ``Retry-After`` header).
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AffinityUnavailable(AffinityError):
    """The affinity hub or Redis cannot be reached."""


class ProcessFailed(AffinityError):
    """The process reported its outcome as a failure (a relay task marked ``affinity-status: error``).

    Attributes:
        process_instance_key: The instance that failed.
        variables: The outcome variables (what the process said about the failure).
    """

    def __init__(
        self,
        message: str,
        *,
        process_instance_key: Optional[int] = None,
        variables: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.process_instance_key = process_instance_key
        self.variables: Dict[str, Any] = dict(variables or {})


def __getattr__(name: str) -> Any:
    # ``errors.from_grpc_error`` moved to zeebe/grpc_errors.py (it needs grpc, this module does
    # not); resolved lazily so old imports keep working without loading grpc for everyone.
    if name == "from_grpc_error":
        from .zeebe.grpc_errors import from_grpc_error

        return from_grpc_error
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
