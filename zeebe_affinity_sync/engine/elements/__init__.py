"""Element behaviours, one object per element kind (see :mod:`.base` for the interface).

:data:`BEHAVIOURS` maps :attr:`~..model.Element.kind` to its behaviour; :data:`PROCESS` is the
behaviour of the root scope of every process instance. Adding an element kind = a model kind,
its parsing in :mod:`..bpmn` and one behaviour registered here.
"""
from __future__ import annotations

from typing import Dict

from .. import model
from .base import ElementBehavior, PassThrough
from .business_rule import BusinessRuleTask
from .call_activity import CallActivity
from .containers import EventSubProcess, ProcessBehavior, SubProcess
from .events import BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, StartEvent
from .event_gateway import EventBasedGateway
from .gateways import ExclusiveGateway, ParallelGateway
from .inclusive_gateway import InclusiveGateway
from .multi_instance import MultiInstanceBody
from .tasks import JobTask, ReceiveTask, ScriptTask, UserTask

__all__ = ["BEHAVIOURS", "PROCESS", "MI_BODY", "ElementBehavior", "PassThrough", "behaviour_of"]

PROCESS = ProcessBehavior()
MI_BODY = MultiInstanceBody()

#: element kind -> behaviour; guarded by nothing (built at import, read-only afterwards)
BEHAVIOURS: Dict[str, ElementBehavior] = {
    model.START_EVENT: StartEvent(),
    model.END_EVENT: EndEvent(),
    model.INTERMEDIATE_CATCH: IntermediateCatchEvent(),
    model.INTERMEDIATE_THROW: IntermediateThrowEvent(),
    model.BOUNDARY_EVENT: BoundaryEvent(),
    model.SERVICE_TASK: JobTask("SERVICE_TASK"),
    model.RECEIVE_TASK: ReceiveTask(),
    model.EXCLUSIVE_GATEWAY: ExclusiveGateway(),
    model.PARALLEL_GATEWAY: ParallelGateway(),
    model.CALL_ACTIVITY: CallActivity(),
    model.EVENT_BASED_GATEWAY: EventBasedGateway(),
    model.INCLUSIVE_GATEWAY: InclusiveGateway(),
    model.USER_TASK: UserTask(),
    model.SEND_TASK: JobTask("SEND_TASK"),
    model.SCRIPT_TASK: ScriptTask(),
    model.BUSINESS_RULE_TASK: BusinessRuleTask(),
    model.TASK: PassThrough("TASK"),
    model.MANUAL_TASK: PassThrough("MANUAL_TASK"),
    model.SUB_PROCESS: SubProcess(),  # event subprocesses behave the same; only their record type differs
}
_EVENT_SUB_PROCESS = EventSubProcess()


def behaviour_of(element: "model.Element | None") -> ElementBehavior:
    """The behaviour of an element instance's element (``None``: the process root)."""
    if element is None:
        return PROCESS
    if element.triggered_by_event:
        return _EVENT_SUB_PROCESS
    return BEHAVIOURS[element.kind]
