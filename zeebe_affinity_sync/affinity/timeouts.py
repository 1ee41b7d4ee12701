"""What an :class:`~zeebe_affinity_sync.errors.AffinityTimeout` says (issue 13: the most common
mistake must get the right hint).

A request that gets no outcome in time most often belongs to a process that never reaches a
relay task, or a relay task no affinity worker serves. The message says what to check and, when
it can be told cheaply, whether the instance has already ended (then waiting longer will not
help) or still runs (then ``get_outcome`` may still collect it).
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from ..errors import AffinityTimeout, NotFoundError, ZeebeAffinityError
from ..gateway import gateway_pb2 as pb
from .waiters import Waiter

__all__ = ["timeout_error", "instance_ended"]

logger = logging.getLogger(__name__)

#: gRPC deadline of the probe that tells a timed-out caller whether its instance still runs, s.
PROBE_TIMEOUT = 1.0


def timeout_error(
    client: Any, waiter: Waiter, wait: Optional[float], *, relay_task_type: str, probe: bool
) -> AffinityTimeout:
    """The error for ``waiter``'s timeout; ``probe`` asks the gateway about the instance first
    (one short call: only on a request thread, never on the deadline watcher)."""
    key = waiter.process_instance_key
    span = f"within {wait:g}s" if wait is not None else "before its deadline"
    if key is None:
        return AffinityTimeout(f"no outcome {span}", timeout=wait or 0.0)
    ended = instance_ended(client, key) if probe else None
    check = (
        f"check that the process reaches a relay task (task type {relay_task_type!r}) and "
        "that an affinity worker serves that type (create_affinity_worker() / "
        "`zeebe-affinity worker`), and look for incidents on the relay task"
    )
    if ended:
        message = (
            f"no outcome from process instance {key} {span}, and the instance has already "
            f"ended: its outcome was never relayed here. Most likely the process has no relay "
            f"task on the path it took, or it was relayed with another task type: {check}"
        )
    else:
        state = "it is still running" if ended is False else "it may still be running"
        message = (
            f"no outcome from process instance {key} {span}; {state}: collect its outcome "
            f"later with get_outcome({key}). If this happens on every call, {check}"
        )
    return AffinityTimeout(message, process_instance_key=key, timeout=wait or 0.0)


def instance_ended(client: Any, key: int) -> Optional[bool]:
    """Whether instance ``key`` has ended (True), still runs (False), or cannot be told (None).

    Zeebe's gRPC gateway has no "get instance" call; an empty, local SetVariables on the
    instance's root scope changes nothing and answers NOT_FOUND once the instance is gone.
    Bounded by a short deadline, no retries (the caller is already late)."""
    request = pb.SetVariablesRequest(elementInstanceKey=key, variables="{}", local=True)
    try:
        client._call("SetVariables", request, subject="process", timeout=PROBE_TIMEOUT)
    except NotFoundError:
        return True
    except ZeebeAffinityError as exc:
        logger.debug("cannot tell whether instance %s still runs: %s", key, exc)
        return None
    return False
