"""Command rejections, worded like Zeebe's and carrying the gRPC status code to answer with.

The runtime raises the library's own :mod:`~zeebe_affinity_sync.errors` classes (so Python users
of the inspection API get ordinary exceptions); the servicer turns ``grpc_code`` into the status.
"""
from __future__ import annotations

import grpc

from ..errors import (
    AlreadyExistsError,
    BackpressureError,
    FailedPreconditionError,
    InvalidArgumentError,
    JobNotFoundError,
    NotFoundError,
    ProcessNotFoundError,
    ZeebeError,
)

__all__ = ["invalid", "not_found", "job_not_found", "process_not_found", "already_exists",
           "invalid_state", "backpressure", "BACKPRESSURE_COMMAND", "backpressure_activate"]

#: Zeebe gateway's answer when a command met backpressure on every partition
BACKPRESSURE_COMMAND = ("Expected to execute the command on one of the partitions, but all failed; there are no more "
                        "partitions available to retry. Please try again. If the error persists contact your "
                        "zeebe operator")


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


def backpressure(why: str) -> ZeebeError:
    """RESOURCE_EXHAUSTED, worded as Zeebe's gateway does, with the engine's reason after it."""
    reason = f"{BACKPRESSURE_COMMAND} ({why})"
    return BackpressureError(reason, grpc_code=grpc.StatusCode.RESOURCE_EXHAUSTED, details=reason)


def backpressure_activate(job_type: str, why: str) -> ZeebeError:
    """RESOURCE_EXHAUSTED for ActivateJobs, worded as Zeebe's long-polling handler does."""
    reason = (f"Expected to activate jobs of type '{job_type}', but no jobs available and at least one broker "
              f"returned 'RESOURCE_EXHAUSTED'. Please try again later. ({why})")
    return BackpressureError(reason, grpc_code=grpc.StatusCode.RESOURCE_EXHAUSTED, details=reason)
