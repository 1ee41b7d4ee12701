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
        engine._activated(ei)
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
        engine._activated(ei)
        engine._complete(ei, None)


class BoundaryEvent(ElementBehavior):
    """Created when its host's event occurs (see :mod:`..boundaries`); passes straight through."""

    bpmn_element_type = "BOUNDARY_EVENT"
