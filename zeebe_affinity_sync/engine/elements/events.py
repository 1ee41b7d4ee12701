"""Events: start, end (none, error), intermediate catch (message, timer), throw, boundary."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import model, state
from ..expressions import feel
from ..variables import visible
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["StartEvent", "EndEvent", "IntermediateCatchEvent", "IntermediateThrowEvent", "BoundaryEvent"]


class StartEvent(ElementBehavior):
    """Entered by instance creation (none start), a message, or an event subprocess trigger
    (then it completes with the event's variables, parked on it by the subprocess)."""

    bpmn_element_type = "START_EVENT"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        variables, ei.pending_variables = ei.pending_variables, None
        engine._activated(ei)
        engine._complete(ei, variables)


class EndEvent(ElementBehavior):
    bpmn_element_type = "END_EVENT"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        if element.event == model.MESSAGE:  # a message end event is a job (zeebe:taskDefinition)
            engine._create_job(ei)
            return
        if element.event == model.TERMINATE:
            # ends its flow scope: everything else in it is terminated, then the scope completes
            engine._activated(ei)
            assert ei.parent is not None
            engine._terminate_children(ei.parent, keep=ei)
            engine._complete(ei, None)
            return
        if element.event == model.ERROR:
            assert element.error_code is not None
            code = feel.to_string(element.error_code.evaluate(visible(ei)))
            engine._activated(ei)
            if not engine._throw_error(ei, code, None):
                raise state.StepFailure(
                    "UNHANDLED_ERROR_EVENT",
                    f"Expected to throw an error event with the code '{code}', but it was not caught. "
                    "No error events are available in the scope.")
            return
        if element.event in (model.SIGNAL, model.ESCALATION, model.COMPENSATION):
            throw_event(engine, ei)
            return
        engine._activated(ei)
        engine._complete(ei, None)


def throw_event(engine: "Engine", ei: state.ElementInstance) -> None:
    """Signal, escalation and link throw events (intermediate and end)."""
    element = ei.element
    assert element is not None
    engine._activated(ei)
    if element.event == model.SIGNAL:
        engine._throw_signal(ei)
    elif element.event == model.ESCALATION:
        engine._throw_escalation(ei)  # completes ei unless an interrupting catch ended it
        return
    elif element.event == model.COMPENSATION:
        engine._throw_compensation(ei)  # completes ei once the handlers it started are done
        return
    elif element.event == model.LINK:
        # the token jumps to the catch link event of the same name in the same scope
        catch = ei.instance.definition.process.link_catches[model.link_key(element.scope, element.link_name or "")]
        assert ei.parent is not None
        engine._spawn(ei.parent, ei.instance.definition.process.elements[catch])
    engine._complete(ei, None)


class IntermediateCatchEvent(ElementBehavior):
    """Waits for a message (subscription) or a timer; completes with the event's variables."""

    bpmn_element_type = "INTERMEDIATE_CATCH_EVENT"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        if element.event == model.MESSAGE:
            engine._open_subscription(ei)
        elif element.event == model.TIMER:
            engine._start_timer(ei)
        elif element.event == model.SIGNAL:
            engine._activated(ei)
            engine._subscribe_signal(ei, element, None)
        elif element.event == model.LINK:  # reached by its link throw event: passes through
            engine._activated(ei)
            engine._complete(ei, None)
        else:  # pragma: no cover - the parser refuses other catch events
            raise state.StepFailure("UNKNOWN", f"unsupported catch event '{element.id}'")


class IntermediateThrowEvent(ElementBehavior):
    bpmn_element_type = "INTERMEDIATE_THROW_EVENT"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        if element.event == model.MESSAGE:  # a message throw event is a job (zeebe:taskDefinition)
            engine._create_job(ei)
            return
        if element.event == model.NONE:
            engine._activated(ei)
            engine._complete(ei, None)
        else:
            throw_event(engine, ei)


class BoundaryEvent(ElementBehavior):
    """Created when its host's event occurs (see :mod:`..boundaries`); passes straight through."""

    bpmn_element_type = "BOUNDARY_EVENT"
