"""The immutable process model the BPMN parser builds and the runtime walks.

Everything here is frozen after :func:`zeebe_affinity_sync.engine.bpmn.parse_resource` returns,
so the runtime may share one model between any number of instances and threads without a lock.
Expressions are held as :class:`~zeebe_affinity_sync.engine.expressions.Value` objects, compiled
once at deploy time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from .expressions import Value

# Element kinds (``Element.kind``): one per BPMN element type we execute.
START_EVENT = "startEvent"
END_EVENT = "endEvent"
SERVICE_TASK = "serviceTask"
EXCLUSIVE_GATEWAY = "exclusiveGateway"
PARALLEL_GATEWAY = "parallelGateway"
INTERMEDIATE_CATCH = "intermediateCatchEvent"
INTERMEDIATE_THROW = "intermediateThrowEvent"
RECEIVE_TASK = "receiveTask"
BOUNDARY_EVENT = "boundaryEvent"
CALL_ACTIVITY = "callActivity"

# Event definitions (``Element.event``).
NONE = "none"
MESSAGE = "message"
TIMER = "timer"
ERROR = "error"


@dataclass(frozen=True)
class Mapping:
    """One ``zeebe:input`` / ``zeebe:output``: ``target`` (a name or dotted path) = ``source``."""

    source: Value
    target: str


@dataclass(frozen=True)
class MessageRef:
    """A ``bpmn:message``: its name and the correlation key expression of its subscription."""

    id: str
    name: Value
    correlation_key: Optional[Value]


@dataclass(frozen=True)
class SequenceFlow:
    id: str
    source: str
    target: str
    condition: Optional[Value] = None


@dataclass(frozen=True)
class Element:
    """One flow node. Fields that do not apply to the element's kind keep their defaults."""

    id: str
    kind: str
    name: str = ""
    event: str = NONE
    incoming: Tuple[str, ...] = ()          # sequence flow ids, document order
    outgoing: Tuple[str, ...] = ()          # sequence flow ids, document order
    default_flow: Optional[str] = None      # exclusive gateway
    job_type: Optional[Value] = None        # service task
    job_retries: Optional[Value] = None     # service task
    headers: str = "{}"                     # service task: zeebe:taskHeaders as the JSON object jobs carry
    inputs: Tuple[Mapping, ...] = ()
    outputs: Tuple[Mapping, ...] = ()
    message: Optional[MessageRef] = None    # message catch / receive task / message start
    timer_duration: Optional[Value] = None  # timer catch
    error_code: Optional[Value] = None      # error end event (throw side)
    catch_error_code: Optional[str] = None  # error boundary event; None = catch-all
    attached_to: Optional[str] = None       # boundary event
    interrupting: bool = True               # boundary event (cancelActivity)
    boundary_events: Tuple[str, ...] = ()   # ids of boundary events attached to this activity
    called_process_id: Optional[Value] = None  # call activity
    propagate_all_child_variables: bool = True
    propagate_all_parent_variables: bool = True


@dataclass(frozen=True)
class Process:
    """One executable ``bpmn:process``."""

    bpmn_process_id: str
    name: str
    elements: Dict[str, Element]
    flows: Dict[str, SequenceFlow]
    none_start: Optional[str]               # id of the none start event, if any
    message_starts: Tuple[str, ...] = ()    # ids of message start events

    def element(self, element_id: str) -> Element:
        return self.elements[element_id]


@dataclass(frozen=True)
class ProcessDefinition:
    """A deployed version of a process."""

    key: int
    bpmn_process_id: str
    version: int
    resource_name: str
    checksum: str
    process: Process
    deployment_key: int
    resource: bytes = field(repr=False, default=b"")
    tenant_id: str = "<default>"            # the tenant it was deployed to (engine.tenancy.DEFAULT_TENANT)
