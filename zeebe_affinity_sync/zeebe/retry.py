"""Capped exponential backoff with full jitter, for gateway calls that are safe to repeat.

Only ``UNAVAILABLE`` and ``RESOURCE_EXHAUSTED`` are retried, and only by calls where a repeat
cannot create a duplicate: Topology, ActivateJobs, CompleteJob / FailJob / ThrowError /
UpdateJob*, SetVariables, ResolveIncident, PublishMessage *with* a message id, and deploy
(idempotent by checksum). CreateProcessInstance(+WithResult), CancelProcessInstance and a
PublishMessage without message id are never retried: the first attempt may have arrived.
A RESOURCE_EXHAUSTED that is gRPC's message-size limit (not back-pressure) is not retried either:
the same message would be refused again.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

import grpc

from .. import defaults

__all__ = ["Backoff", "RetryPolicy", "RETRYABLE_CODES", "is_message_too_large"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: gRPC codes after which a safe call is repeated.
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


def is_message_too_large(code: Optional[grpc.StatusCode], details: str) -> bool:
    """True if a RESOURCE_EXHAUSTED is gRPC's message size limit ("... message larger than max ..."),
    on either side, rather than the broker's back-pressure."""
    return code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (details or "")


class Backoff:
    """Successive waits ``uniform(0, min(cap, initial * 2**n))`` ("full jitter").

    Not thread-safe: each loop owns its own instance.
    """

    def __init__(self, initial: float, maximum: float, *, rng: Optional[random.Random] = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"need 0 < initial <= maximum, got initial={initial}, maximum={maximum}")
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The next wait in seconds (grows until the cap)."""
        ceiling = min(self.maximum, self.initial * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        # never below a tenth of the ceiling, so a burst of failures cannot spin
        return self._rng.uniform(ceiling / 10.0, ceiling)

    def reset(self) -> None:
        """Back to the first, shortest wait (after a success)."""
        self.attempt = 0


@dataclass(frozen=True)
class RetryPolicy:
    """How a safe call is repeated.

    Attributes:
        max_attempts: Attempts in total (1 = no retry).
        initial_backoff: First wait in seconds; doubles each attempt.
        max_backoff: Cap of one wait in seconds.
    """

    max_attempts: int = defaults.RETRY_MAX_ATTEMPTS
    initial_backoff: float = defaults.RETRY_INITIAL_BACKOFF
    max_backoff: float = defaults.RETRY_MAX_BACKOFF

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise ValueError("need 0 < initial_backoff <= max_backoff")

    def call(
        self,
        fn: Callable[[], T],
        *,
        operation: str,
        stop: Optional[threading.Event] = None,
    ) -> T:
        """Run ``fn`` and repeat it on a retryable gRPC error, waiting between attempts.

        Args:
            fn: The call; raises ``grpc.RpcError`` on failure.
            operation: RPC name for the log line.
            stop: If given and set, no further attempt is made (the wait also ends early).

        Returns:
            What ``fn`` returned.

        Raises:
            grpc.RpcError: The last error, or the first one that is not retryable.
        """
        backoff: Optional[Backoff] = None  # made on the first failure: the hot path stays cheap
        attempt = 1
        while True:
            try:
                return fn()
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                if code not in RETRYABLE_CODES or attempt >= self.max_attempts:
                    raise
                if is_message_too_large(code, exc.details() if hasattr(exc, "details") else ""):
                    raise
                if backoff is None:
                    backoff = Backoff(self.initial_backoff, self.max_backoff)
                delay = backoff.next_delay()
                log.debug(
                    "%s: %s, retrying in %.2fs (attempt %d of %d)",
                    operation, code, delay, attempt + 1, self.max_attempts,
                )
                if stop is not None:
                    if stop.wait(delay):
                        raise
                else:
                    time.sleep(delay)  # the caller's own thread, waiting for its answer
                attempt += 1
