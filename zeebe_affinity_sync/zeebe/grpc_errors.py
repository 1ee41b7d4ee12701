"""gRPC status codes -> the library's :class:`~zeebe_affinity_sync.errors.ZeebeError` tree.

The one place where a ``grpc.RpcError`` becomes one of ours; the gateway client
(:mod:`zeebe_affinity_sync.zeebe.client`) is its only caller and raises the result ``from`` the
original so the traceback keeps the gRPC detail.
"""
from __future__ import annotations

import grpc

from ..errors import (
    AlreadyExistsError,
    BackpressureError,
    FailedPreconditionError,
    GatewayUnavailableError,
    InternalGatewayError,
    InvalidArgumentError,
    JobNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    ProcessNotFoundError,
    ZeebeError,
    ZeebeTimeoutError,
)

__all__ = ["from_grpc_error"]

_CODE_TO_CLASS = {
    grpc.StatusCode.UNAVAILABLE: GatewayUnavailableError,
    grpc.StatusCode.CANCELLED: GatewayUnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: BackpressureError,
    grpc.StatusCode.DEADLINE_EXCEEDED: ZeebeTimeoutError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: PermissionDeniedError,
}


def from_grpc_error(exc: grpc.RpcError, *, operation: str = "", subject: str = "") -> ZeebeError:
    """Translate a ``grpc.RpcError`` into the matching :class:`ZeebeError` subclass.

    Args:
        exc: The error raised by a gRPC stub call.
        operation: The RPC name (e.g. ``"CreateProcessInstance"``), used in the message.
        subject: What the call was about: ``"process"`` or ``"job"`` picks the precise
            NOT_FOUND subclass.

    Returns:
        The library exception; the caller raises it ``from exc``.
    """
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    cls = _CODE_TO_CLASS.get(code, InternalGatewayError)
    if cls is NotFoundError:
        cls = {"process": ProcessNotFoundError, "job": JobNotFoundError}.get(subject, NotFoundError)
    name = code.name if code is not None else "UNKNOWN"
    prefix = f"{operation} failed" if operation else "Zeebe call failed"
    hint = ""
    if cls is GatewayUnavailableError:
        hint = " (is the gateway running, and is ZEEBE_ADDRESS right?)"
    message = f"{prefix}: {name}: {details}{hint}"
    return cls(message, grpc_code=code, details=details)
