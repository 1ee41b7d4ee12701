"""Mutable runtime records. Every field is guarded by the engine lock (``Engine._lock``);
nothing here is touched by any thread without holding it."""
from __future__ import annotations

import threading
from collections import deque
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from . import model
from .scheduler import Handle

#: Zeebe encodes the partition in the high bits: partition 1 keys start at 2**51 (every key the
#: engine hands out is KEY_BASE + a counter, runtime.Engine._next_key)
KEY_BASE = 1 << 51

# job states (Zeebe's names)
ACTIVATABLE = "ACTIVATABLE"
ACTIVATED = "ACTIVATED"
FAILED = "FAILED"
ERROR_THROWN = "ERROR_THROWN"

#: the variables of a scope that has none of its own yet: shared and read-only (most element
#: instances never get a local variable, so they need no dict of their own); the one place
#: that writes local variables (variables.set_local) gives the scope its own dict first
NO_VARIABLES: Mapping[str, Any] = MappingProxyType({})

# element instance phases, to know what ResolveIncident has to retry
ACTIVATING = "ACTIVATING"
ACTIVATED_ELEMENT = "ACTIVATED"
COMPLETING = "COMPLETING"
TERMINATING = "TERMINATING"


class StepFailure(Exception):
    """A token-flow step could not be taken; the runtime turns it into an incident of ``error_type``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class ProcessInstance:
    __slots__ = ("key", "definition", "root", "parent_element", "state", "message_start_key", "created",
                 "info")

    def __init__(self, key: int, definition: model.ProcessDefinition, created: float) -> None:
        self.key = key
        self.definition = definition
        self.root: "ElementInstance" = ElementInstance(key, None, self, None)
        self.root.children = {}
        self.root.variables = {}  # where propagation ends: always a dict of its own
        self.parent_element: Optional[ElementInstance] = None  # call activity that started us
        self.info: Any = None  # records.instance_info(self), set once the parent is known
        self.state = "ACTIVE"
        self.message_start_key: Optional[str] = None      # correlation key if message-started
        self.created = created


class ElementInstance:
    """A flow-node instance, and a variable scope (the process root is one too).

    ``parent`` is both the flow scope (the process root, a subprocess, a multi-instance body)
    and the variable scope the instance's variables propagate to. A scope's ``children`` are its
    live flow-node instances (including ones queued for activation); ``waiting`` counts tokens
    parked at joins (``joins``: gateway id -> flow id -> tokens). The scope is done when it has
    neither.
    """

    # The fields every element instance reads on the common path are slots, set in __init__;
    # the rarely used ones below are class-level defaults, stored in the instance's __dict__
    # only once set (most instances never have one: creating them is ~15% cheaper this way)
    __slots__ = ("key", "element", "instance", "parent", "variables", "phase", "job", "pending_variables",
                 "boundary_subscriptions", "boundary_timers", "children", "waiting", "joins", "body", "rec",
                 "listener", "__dict__")

    subscription: Optional["Subscription"] = None      # an open message subscription it waits on
    timer: Optional[Handle] = None                     # its timer catch event's timer
    child: Optional["ProcessInstance"] = None          # call activity's child instance
    incident: Optional["Incident"] = None              # its open incident
    user_task: Optional["UserTask"] = None             # an open Camunda user task of this element
    mi: Any = None                                     # multi-instance body: its LoopState

    def __init__(self, key: int, element: Optional[model.Element], instance: ProcessInstance,
                 parent: Optional["ElementInstance"]) -> None:
        self.key = key
        self.element = element
        self.instance = instance
        self.parent = parent
        self.variables: Mapping[str, Any] = NO_VARIABLES  # a dict once it has local variables
        self.phase = ACTIVATING
        self.job: Optional[Job] = None
        self.pending_variables: Optional[Dict[str, Any]] = None  # event variables of a retried completion
        # message / timer boundary events of this activity, open while it is active (None: none)
        self.boundary_subscriptions: Optional[List[Subscription]] = None
        self.boundary_timers: Optional[List[Tuple[str, Handle]]] = None
        # scopes only (root, subprocess, multi-instance body): None for other elements
        self.children: Optional[Dict[int, ElementInstance]] = None
        self.waiting = 0
        self.joins: Optional[Dict[str, Dict[str, int]]] = None
        # execution listeners: (phase, index of the listener whose job waits / count once done)
        self.listener: Optional[Tuple[str, int]] = None
        self.body = False  # True: the multi-instance body of ``element``, not one of its instances
        self.rec: Any = None  # what its records say about it (records.element_stub)


class Job:
    __slots__ = ("key", "type", "retries", "state", "worker", "deadline", "error_message",
                 "element_instance", "headers", "timeout_handle", "backoff_handle", "incident", "rec")

    def __init__(self, key: int, job_type: str, retries: int, element_instance: ElementInstance,
                 headers: str) -> None:
        self.key = key
        self.type = job_type
        self.retries = retries
        self.state = ACTIVATABLE
        self.worker = ""
        self.deadline = 0                     # epoch ms, while ACTIVATED
        self.error_message = ""
        self.element_instance = element_instance
        self.headers = headers                # JSON text
        self.timeout_handle: Optional[Handle] = None
        self.backoff_handle: Optional[Handle] = None
        self.incident: Optional[Incident] = None
        self.rec: Any = None                  # the first items of its records (records.job_stub)


class UserTask:
    """An open Camunda user task (``zeebe:userTask``); ``properties`` are the evaluated
    assignee, candidate groups / users, dates, form and priority."""

    __slots__ = ("key", "element_instance", "properties", "headers", "created", "state")

    def __init__(self, key: int, element_instance: ElementInstance, properties: Dict[str, Any],
                 headers: Dict[str, str], created: int) -> None:
        self.key = key
        self.element_instance = element_instance
        self.properties = properties
        self.headers = headers
        self.created = created   # epoch ms, engine clock
        self.state = "CREATED"


class Incident:
    __slots__ = ("key", "error_type", "message", "element_instance", "job", "created")

    def __init__(self, key: int, error_type: str, message: str, element_instance: ElementInstance,
                 job: Optional[Job], created: float) -> None:
        self.key = key
        self.error_type = error_type
        self.message = message
        self.element_instance = element_instance
        self.job = job
        self.created = created


class Subscription:
    """An open message subscription of a catch event / receive task, or of a boundary event
    (``boundary`` set) attached to ``element_instance``."""

    __slots__ = ("key", "name", "correlation_key", "element_instance", "bpmn_process_id", "boundary")

    def __init__(self, key: int, name: str, correlation_key: str, element_instance: ElementInstance,
                 boundary: Optional[model.Element] = None) -> None:
        self.key = key
        self.boundary = boundary
        self.name = name
        self.correlation_key = correlation_key
        self.element_instance = element_instance
        self.bpmn_process_id = element_instance.instance.definition.bpmn_process_id


class Message:
    __slots__ = ("key", "name", "correlation_key", "variables", "message_id", "correlated",
                 "expiry")

    def __init__(self, key: int, name: str, correlation_key: str, variables: Dict[str, Any],
                 message_id: str) -> None:
        self.key = key
        self.name = name
        self.correlation_key = correlation_key
        self.variables = variables
        self.message_id = message_id
        self.correlated: Set[str] = set()     # bpmn process ids it already went to
        self.expiry: Optional[Handle] = None


class JobRequest:
    """A parked ActivateJobs long poll, or an open StreamActivatedJobs stream.

    ``jobs`` is filled by whichever thread makes a job activatable (under the engine lock); the
    request's own gRPC thread waits on ``event`` and takes them. ``closed`` is set under the
    engine lock, except by the gRPC "client gone" callback, which only ever sets it to True
    (a single store) and then sets ``event``.
    """

    __slots__ = ("type", "worker", "timeout_ms", "max_jobs", "fetch", "jobs", "event", "closed",
                 "stream", "tenant_ids")

    def __init__(self, job_type: str, worker: str, timeout_ms: int, max_jobs: int,
                 fetch: List[str], stream: bool = False, tenant_ids: Tuple[str, ...] = ("<default>",)) -> None:
        self.type = job_type
        self.worker = worker
        self.timeout_ms = timeout_ms
        self.max_jobs = max_jobs
        self.fetch = fetch
        self.jobs: deque = deque()           # ActivatedJobData waiting to be sent
        self.event = threading.Event()
        self.closed = False
        self.stream = stream
        self.tenant_ids = tenant_ids         # only jobs of these tenants go to this request


class ResultWaiter:
    """A CreateProcessInstanceWithResult caller waiting for the root instance to complete."""

    __slots__ = ("fetch", "event", "variables", "ended")

    def __init__(self, fetch: List[str]) -> None:
        self.fetch = fetch
        self.event = threading.Event()
        self.variables: Optional[Dict[str, Any]] = None
        self.ended: Optional[str] = None  # final state of an instance that ended without completing
