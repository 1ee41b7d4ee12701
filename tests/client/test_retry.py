"""Backoff values and the retry loop, without a network."""
from __future__ import annotations

import random
import threading

import grpc
import pytest

from zeebe_affinity_sync.zeebe.retry import Backoff, RetryPolicy, is_message_too_large


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(0.1, 1.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    assert all(c / 10 <= d <= c for d, c in zip(delays, ceilings))
    assert len(set(delays)) == len(delays)  # jitter: no two waits alike
    backoff.reset()
    assert backoff.next_delay() <= 0.1


def test_only_retryable_codes_are_repeated() -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.001)
    attempts = []

    def invalid() -> None:
        attempts.append(1)
        raise FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT)

    with pytest.raises(FakeRpcError):
        policy.call(invalid, operation="X")
    assert len(attempts) == 1


def test_message_size_limit_is_not_mistaken_for_backpressure() -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.001)
    attempts = []

    def exhausted(details: str) -> None:
        attempts.append(details)
        raise FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, details)

    with pytest.raises(FakeRpcError):  # the same message would be refused again: one attempt
        policy.call(lambda: exhausted("CLIENT: Sent message larger than max (100014 vs. 70000)"), operation="X")
    assert len(attempts) == 1
    with pytest.raises(FakeRpcError):  # back-pressure proper: retried
        policy.call(lambda: exhausted("Reached maximum capacity of requests handled"), operation="X")
    assert len(attempts) == 1 + 3
    assert is_message_too_large(grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max (5 vs. 4)")
    assert not is_message_too_large(grpc.StatusCode.INVALID_ARGUMENT, "larger than max")


def test_stop_event_ends_the_retries() -> None:
    policy = RetryPolicy(max_attempts=100, initial_backoff=0.001, max_backoff=0.001)
    stop = threading.Event()
    attempts = []

    def unavailable() -> None:
        attempts.append(1)
        if len(attempts) == 2:
            stop.set()
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE)

    with pytest.raises(FakeRpcError):
        policy.call(unavailable, operation="X", stop=stop)
    assert len(attempts) == 2


def test_policy_validates() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        Backoff(0, 1)
