"""The immutable process model the BPMN parser builds and the runtime walks.

Everything here is frozen after :func:`zeebe_affinity_sync.engine.bpmn.parse_resource` returns,
so the runtime may share one model between any number of instances and threads without a lock.
Expressions are held as :class:`~zeebe_affinity_sync.engine.expressions.Value` objects, compiled
once at deploy time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

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
EVENT_BASED_GATEWAY = "eventBasedGateway"
INCLUSIVE_GATEWAY = "inclusiveGateway"
USER_TASK = "userTask"
SEND_TASK = "sendTask"
SCRIPT_TASK = "scriptTask"
BUSINESS_RULE_TASK = "businessRuleTask"  # zeebe:calledDecision (or a job with zeebe:taskDefinition)
TASK = "task"                 # undefined task: pass-through
MANUAL_TASK = "manualTask"    # pass-through
SUB_PROCESS = "subProcess"    # embedded subprocess, and (``triggered_by_event``) event subprocess

#: job type of a job-worker user task (no ``zeebe:userTask``), as Zeebe sets it
USER_TASK_JOB_TYPE = "io.camunda.zeebe:userTask"

# Event definitions (``Element.event``).
NONE = "none"
MESSAGE = "message"
TIMER = "timer"
ERROR = "error"
SIGNAL = "signal"
ESCALATION = "escalation"
LINK = "link"
COMPENSATION = "compensation"
TERMINATE = "terminate"


@dataclass(frozen=True)
class Mapping:
    """One ``zeebe:input`` / ``zeebe:output``: ``target`` (a name or dotted path) = ``source``."""

    source: Value
    target: str


def link_key(scope: Optional[str], name: str) -> str:
    """The key of a link catch event in ``Process.link_catches``: links stay inside their scope."""
    return f"{scope or ''}\x00{name}"


@dataclass(frozen=True)
class Listener:
    """One ``zeebe:executionListener``: a job of ``job_type`` with ``retries``, run at ``event_type``."""

    event_type: str  # "start" / "end"
    job_type: Value
    retries: Value


@dataclass(frozen=True)
class MessageRef:
    """A ``bpmn:message``: its name and the correlation key expression of its subscription."""

    id: str
    name: Value
    correlation_key: Optional[Value]


@dataclass(frozen=True)
class UserTaskSpec:
    """What a user task says about who does it and when (``zeebe:assignmentDefinition``,
    ``zeebe:taskSchedule``, ``zeebe:formDefinition``, ``zeebe:priorityDefinition``).

    ``camunda`` is True for a Camunda user task (``zeebe:userTask``: it waits and is completed
    through the engine's API); False for a job-worker user task (a job of type
    :data:`USER_TASK_JOB_TYPE` carrying these as ``io.camunda.zeebe:*`` headers).
    """

    camunda: bool
    assignee: Optional[Value] = None
    candidate_groups: Optional[Value] = None
    candidate_users: Optional[Value] = None
    due_date: Optional[Value] = None
    follow_up_date: Optional[Value] = None
    form_key: Optional[str] = None
    form_id: Optional[str] = None
    external_reference: Optional[Value] = None
    priority: Optional[Value] = None


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
    timer_duration: Optional[Value] = None  # timer events: exactly one of duration / date / cycle
    timer_date: Optional[Value] = None
    timer_cycle: Optional[Value] = None
    signal_name: Optional[Value] = None     # signal events (catch and throw)
    escalation_code: Optional[Value] = None  # escalation throw / end event
    catch_escalation_code: Optional[str] = None  # escalation boundary; None = catch-all
    link_name: Optional[str] = None         # link throw / catch
    compensation_handler: Optional[str] = None  # activity with a compensation boundary: its handler's id
    compensate_activity: Optional[str] = None   # compensation throw / end event: activityRef (None: all)
    is_for_compensation: bool = False           # a compensation handler (started only by compensation)
    start_listeners: Tuple[Listener, ...] = ()  # zeebe:executionListeners, document order
    end_listeners: Tuple[Listener, ...] = ()
    error_code: Optional[Value] = None      # error end event (throw side)
    catch_error_code: Optional[str] = None  # error boundary event; None = catch-all
    attached_to: Optional[str] = None       # boundary event
    interrupting: bool = True               # boundary event (cancelActivity)
    boundary_events: Tuple[str, ...] = ()   # ids of boundary events attached to this activity
    called_process_id: Optional[Value] = None  # call activity
    propagate_all_child_variables: bool = True
    propagate_all_parent_variables: bool = True
    called_binding: str = "latest"             # call activity: latest / deployment / versionTag
    called_version_tag: Optional[str] = None   # with binding versionTag
    user_task: Optional[UserTaskSpec] = None   # user task
    script: Optional[Value] = None             # script task with zeebe:script: the FEEL expression
    result_variable: Optional[str] = None      # script task with zeebe:script; business rule task
    called_decision: Optional[Value] = None    # business rule task: zeebe:calledDecision decisionId
    scope: Optional[str] = None                # id of the enclosing subprocess (None: the process)
    start: Optional[str] = None                # subprocess: id of its none start event
    event_subprocesses: Tuple[str, ...] = ()   # process / subprocess: ids of its event subprocesses
    triggered_by_event: bool = False           # subprocess: an event subprocess
    loop: Optional["LoopSpec"] = None          # multi-instance characteristics
    #: the runtime's precomputed plan for this element's common path (``runtime._Plan``): derived
    #: only from this frozen model, built once on first use (under the engine lock), then shared
    plan: Any = field(default=None, init=False, repr=False, compare=False)


@dataclass(frozen=True)
class LoopSpec:
    """``bpmn:multiInstanceLoopCharacteristics`` with its ``zeebe:loopCharacteristics``."""

    sequential: bool
    input_collection: Value
    input_element: Optional[str] = None
    output_collection: Optional[str] = None
    output_element: Optional[Value] = None
    completion_condition: Optional[Value] = None


@dataclass(frozen=True)
class Process:
    """One executable ``bpmn:process``."""

    bpmn_process_id: str
    name: str
    elements: Dict[str, Element]
    flows: Dict[str, SequenceFlow]
    none_start: Optional[str]               # id of the none start event, if any
    message_starts: Tuple[str, ...] = ()    # ids of message start events
    version_tag: Optional[str] = None       # zeebe:versionTag of the process
    uses_compensation: bool = False         # any compensation boundary event (the runtime tracks completions)
    timer_starts: Tuple[str, ...] = ()      # ids of timer start events
    signal_starts: Tuple[str, ...] = ()     # ids of signal start events
    link_catches: Dict[str, str] = field(default_factory=dict)  # link name -> catch event id
    event_subprocesses: Tuple[str, ...] = ()  # ids of the process's own event subprocesses

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
