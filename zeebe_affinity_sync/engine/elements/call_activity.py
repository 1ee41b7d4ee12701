"""Call activity: starts the latest version of the called process and waits for it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import state
from ..expressions import type_name
from ..variables import visible
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["CallActivity"]


class CallActivity(ElementBehavior):
    """Parent variables are copied in (all, or only the inputs); the child's root variables
    propagate back on completion (all, or only the outputs) — see ``Engine._complete_instance``."""

    bpmn_element_type = "CALL_ACTIVITY"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None and element.called_process_id is not None
        context = visible(ei)
        process_id = element.called_process_id.evaluate(context)
        if not isinstance(process_id, str) or not process_id:
            raise state.StepFailure("EXTRACT_VALUE_ERROR",
                                    f"Expected the called element's process id to be a non-empty STRING, but was "
                                    f"'{type_name(process_id)}'.")
        definition = engine._latest(process_id)
        if definition is None:
            raise state.StepFailure("CALLED_ELEMENT_ERROR",
                                    f"Expected process with BPMN process id '{process_id}' to be deployed, but not "
                                    "found.")
        if definition.process.none_start is None:
            raise state.StepFailure("CALLED_ELEMENT_ERROR",
                                    f"Expected process with BPMN process id '{process_id}' to have a none start "
                                    "event, but not found.")
        variables = context if element.propagate_all_parent_variables else dict(ei.variables)
        child = engine._new_instance(definition, variables, parent=ei)
        ei.child = child
        engine._activated(ei)
        engine._start_at(child, [definition.process.none_start])

    def terminate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        if ei.child is not None:
            child, ei.child = ei.child, None
            engine._terminate_instance(child, "TERMINATED")
        engine._release_wait_state(ei)
