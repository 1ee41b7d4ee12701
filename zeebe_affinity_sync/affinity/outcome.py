"""The value a waiting request gets back: :class:`ProcessOutcome`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from .. import protocol

__all__ = ["ProcessOutcome", "RESERVED_VARIABLES", "strip_reserved", "request_id_of", "outcome_keys"]

#: Process variables the affinity layer uses internally; never shown to callers.
RESERVED_VARIABLES = frozenset({protocol.REQUEST_ID_VARIABLE})


def strip_reserved(variables: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A copy of ``variables`` without the reserved affinity variables."""
    return {k: v for k, v in (variables or {}).items() if k not in RESERVED_VARIABLES}


def request_id_of(frame: Mapping[str, Any]) -> Optional[str]:
    """The request id an outcome frame answers: its ``requestId``, else (a seed worker's frame,
    which carries it only among the variables) ``variables._affinity_request_id``."""
    request_id = frame.get("requestId")
    if not request_id:
        variables = frame.get("variables")
        request_id = variables.get(protocol.REQUEST_ID_VARIABLE) if isinstance(variables, Mapping) else None
    return request_id if isinstance(request_id, str) and request_id else None


def outcome_keys(frame: Mapping[str, Any]) -> List[str]:
    """The keys an outcome is routed under here: its request id (see :func:`request_id_of`)
    first, then its instance key."""
    request_id = request_id_of(frame)
    keys = [request_id] if request_id else []
    keys.append(str(frame["processInstanceKey"]))
    return keys


@dataclass(frozen=True)
class ProcessOutcome:
    """What a process reported to the request that started it (or sent it a message).

    Attributes:
        process_instance_key: The instance whose relay task reported the outcome. For a relay task
            inside a call activity this is the child instance's key.
        variables: The outcome variables, reserved affinity variables removed.
        status: ``"ok"``, or ``"error"`` for a failure outcome (those are raised as
            :class:`~zeebe_affinity_sync.errors.ProcessFailed` by the blocking calls).
        request_id: The per-request routing id the outcome answered (``None`` for outcomes of
            seed-style workers, or from ``strategy="with_result"``).
    """

    process_instance_key: int
    variables: Dict[str, Any] = field(default_factory=dict)
    status: str = protocol.STATUS_OK
    request_id: Optional[str] = None

    @property
    def failed(self) -> bool:
        """True for a failure outcome (the relay task had ``affinity-status: error``)."""
        return self.status == protocol.STATUS_ERROR

    @classmethod
    def from_frame(cls, frame: Mapping[str, Any]) -> "ProcessOutcome":
        """Build from a validated ``PROCESS_OUTCOME`` frame (see :func:`protocol.decode`)."""
        return cls(
            process_instance_key=int(frame["processInstanceKey"]),
            variables=strip_reserved(frame.get("variables")),
            status=frame.get("status") or protocol.STATUS_OK,
            request_id=request_id_of(frame),
        )
