"""Command rejections, worded like Zeebe's and carrying the gRPC status code to answer with.

The runtime raises the library's own :mod:`~zeebe_affinity_sync.errors` classes (so Python users
of the inspection API get ordinary exceptions); the servicer turns ``grpc_code`` into the status.
"""
from __future__ import annotations

import grpc

from ..errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    JobNotFoundError,
    NotFoundError,
    ProcessNotFoundError,
    ZeebeError,
)

__all__ = ["invalid", "not_found", "job_not_found", "process_not_found", "already_exists",
           "invalid_state"]


def _text(intent: str, rejection: str, reason: str) -> str:
    return f"Command '{intent}' rejected with code '{rejection}': {reason}"


def invalid(intent: str, reason: str) -> ZeebeError:
    code = grpc.StatusCode.INVALID_ARGUMENT
    return InvalidArgumentError(_text(intent, "INVALID_ARGUMENT", reason), grpc_code=code, details=reason)


def not_found(intent: str, reason: str) -> ZeebeError:
    return NotFoundError(_text(intent, "NOT_FOUND", reason), grpc_code=grpc.StatusCode.NOT_FOUND, details=reason)


def job_not_found(intent: str, reason: str) -> ZeebeError:
    return JobNotFoundError(_text(intent, "NOT_FOUND", reason), grpc_code=grpc.StatusCode.NOT_FOUND, details=reason)


def process_not_found(intent: str, reason: str) -> ZeebeError:
    return ProcessNotFoundError(_text(intent, "NOT_FOUND", reason), grpc_code=grpc.StatusCode.NOT_FOUND,
                                details=reason)


def already_exists(intent: str, reason: str) -> ZeebeError:
    return AlreadyExistsError(_text(intent, "ALREADY_EXISTS", reason), grpc_code=grpc.StatusCode.ALREADY_EXISTS,
                              details=reason)


def invalid_state(intent: str, reason: str) -> ZeebeError:
    return FailedPreconditionError(_text(intent, "INVALID_STATE", reason),
                                   grpc_code=grpc.StatusCode.FAILED_PRECONDITION, details=reason)
