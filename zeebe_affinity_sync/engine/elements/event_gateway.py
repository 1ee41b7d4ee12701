"""The event-based gateway: waits for the first of the events after it.

On activation it opens, for each event after it, what that event waits for - a message
subscription, a timer, a signal subscription - held like boundary events of the gateway (so
leaving or terminating the gateway closes them all). The first event to occur wins: the gateway
completes without taking a flow, every other subscription and timer is closed, and the event that
occurred is taken with its variables (see ``BoundariesMixin._trigger_boundary``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List

from .. import model, state
from ..variables import visible
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["EventBasedGateway"]


class EventBasedGateway(ElementBehavior):
    bpmn_element_type = "EVENT_BASED_GATEWAY"
    chooses_flows = True

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        process = ei.instance.definition.process
        engine._activated(ei)
        context = visible(ei)
        for flow_id in element.outgoing:
            target = process.elements[process.flows[flow_id].target]
            if target.event == model.MESSAGE:
                assert target.message is not None
                engine._subscribe(ei, target.message, target)
            elif target.event == model.TIMER:
                seconds, _ = engine._timer_due(target, context)
                engine._schedule_boundary_timer(ei, target.id, seconds, None)
            elif target.event == model.SIGNAL:
                engine._subscribe_signal(ei, target, target)

    def outgoing(self, engine: "Engine", ei: state.ElementInstance) -> List[model.SequenceFlow]:
        return []  # the event that occurred is taken by the trigger, not by a flow
