"""The error mapping both integrations must implement: one table, used by the Flask and the
Django tests alike."""
from __future__ import annotations

import grpc

from zeebe_affinity_sync import errors

KEY = 2251799813685301

#: (id, exception, status, body subset, headers subset)
ERROR_CASES = [
    (
        "timeout",
        errors.AffinityTimeout("no outcome within 10s", process_instance_key=KEY, timeout=10.0),
        504,
        {"error": "timeout", "processInstanceKey": str(KEY)},
        {},
    ),
    (
        "overloaded",
        errors.AffinityOverloaded("too many waiting", retry_after=2.5),
        503,
        {"error": "overloaded", "retryAfter": 2.5},
        {"Retry-After": "3"},
    ),
    (
        "affinity-unavailable",
        errors.AffinityUnavailable("hub down"),
        503,
        {"error": "affinity-unavailable"},
        {},
    ),
    (
        "affinity-error",
        errors.AffinityError("the relay could not hand the outcome over"),
        503,
        {"error": "affinity-error"},
        {},
    ),
    (
        "gateway-unavailable",
        errors.GatewayUnavailableError("no gateway", grpc_code=grpc.StatusCode.UNAVAILABLE),
        503,
        {"error": "gateway-unavailable"},
        {},
    ),
    (
        "backpressure",
        errors.BackpressureError("shed", grpc_code=grpc.StatusCode.RESOURCE_EXHAUSTED),
        503,
        {"error": "backpressure"},
        {"Retry-After": "1"},
    ),
    (
        "unknown-process",
        errors.ProcessNotFoundError("no process 'nope'", grpc_code=grpc.StatusCode.NOT_FOUND),
        404,
        {"error": "not-found"},
        {},
    ),
    (
        "bad-variables",
        errors.InvalidArgumentError("CreateProcessInstance failed: INVALID_ARGUMENT: variables are not a document",
                                    grpc_code=grpc.StatusCode.INVALID_ARGUMENT, details="variables are not a document"),
        400,
        {"error": "invalid-argument", "message": "variables are not a document"},
        {},
    ),
    (
        "process-failed",
        errors.ProcessFailed("out of stock", process_instance_key=KEY, variables={"reason": "stock"}),
        422,
        {"error": "process-failed", "variables": {"reason": "stock"}, "processInstanceKey": str(KEY)},
        {},
    ),
    (
        "zeebe-timeout",
        errors.ZeebeTimeoutError("deadline", grpc_code=grpc.StatusCode.DEADLINE_EXCEEDED),
        504,
        {"error": "timeout"},
        {},
    ),
    (
        "permission-denied",
        errors.PermissionDeniedError("who are you", grpc_code=grpc.StatusCode.UNAUTHENTICATED),
        502,
        {"error": "zeebe-error"},
        {},
    ),
]


def check_answer(status, body, headers, case) -> None:
    _, _, want_status, want_body, want_headers = case
    assert status == want_status, body
    for key, value in want_body.items():
        assert body[key] == value, (key, body)
    assert "message" in body and body["message"]
    for key, value in want_headers.items():
        assert headers.get(key) == value, (key, dict(headers))


#: (id, request body, words the 400 message must contain): bodies that are not a JSON object
BODY_CASES = [
    ("array", b"[1, 2]", "got an array"),
    ("string", b'"tea"', "got a string"),
    ("number", b"42", "got a number"),
    ("null", b"null", "got null"),
    ("invalid-json", b"{not json", "not valid JSON"),
    ("empty", b"", "no body"),
]

#: internal details that errors carry in their text and must never reach an HTTP body
INTERNALS = ("127.0.0.1", "10.0.3.7", "ws://", "ipv4:", "Traceback", "26500", "8089")

#: errors whose text carries internals, as the real transports write it
LEAKY_ERRORS = [
    errors.AffinityUnavailable("the hub at ws://127.0.0.1:8089 cannot be reached within 5s (connection refused)"),
    errors.GatewayUnavailableError(
        "CreateProcessInstance failed: UNAVAILABLE: ipv4:10.0.3.7:26500: Connection refused",
        grpc_code=grpc.StatusCode.UNAVAILABLE, details="ipv4:10.0.3.7:26500: Connection refused",
    ),
    errors.InternalGatewayError("CreateProcessInstance failed: INTERNAL: Traceback ... at 10.0.3.7:26500",
                                grpc_code=grpc.StatusCode.INTERNAL, details="Traceback at 10.0.3.7:26500"),
    errors.AffinityTimeout("no outcome within 10s from ws://127.0.0.1:8089", process_instance_key=KEY, timeout=10.0),
    errors.AffinityError("relay to ws://127.0.0.1:8089 failed"),
]


def check_no_internals(body) -> None:
    text = str(body)
    for word in INTERNALS:
        assert word not in text, (word, body)
    assert body["error"] and body["message"]
