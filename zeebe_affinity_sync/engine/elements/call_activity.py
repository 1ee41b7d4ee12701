"""Call activity: starts the bound version of the called process (latest, same deployment, or
version tag) and waits for it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import model, state
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
        definition = _bound_definition(engine, ei, element, process_id)
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


def _bound_definition(engine: "Engine", ei: state.ElementInstance, element: model.Element,
                      process_id: str) -> model.ProcessDefinition:
    """The version to call, by the call activity's binding (Zeebe's ``bindingType``): the latest;
    the one deployed in the same deployment as the calling process; or the latest with a version tag.

    Raises:
        StepFailure: CALLED_ELEMENT_ERROR, worded as Zeebe's incident.
    """
    caller = ei.instance.definition
    if element.called_binding == "latest":
        definition = engine._latest(process_id, caller.tenant_id)  # a call stays in its tenant
        if definition is None:
            raise state.StepFailure("CALLED_ELEMENT_ERROR",
                                    f"Expected process with BPMN process id '{process_id}' to be deployed, but not "
                                    "found.")
        return definition
    versions = [d for d in engine._definitions.values()
                if d.bpmn_process_id == process_id and d.tenant_id == caller.tenant_id]
    if element.called_binding == "deployment":
        same = [d for d in versions if d.deployment_key == caller.deployment_key]
        if not same:
            raise state.StepFailure(
                "CALLED_ELEMENT_ERROR",
                f"Expected to call process with BPMN process id '{process_id}' with binding type 'deployment', but "
                f"no such process found in the deployment with key {caller.deployment_key} which contained the "
                "current process.")
        return max(same, key=lambda d: d.version)
    tagged = [d for d in versions if d.process.version_tag == element.called_version_tag]
    if not tagged:
        raise state.StepFailure(
            "CALLED_ELEMENT_ERROR",
            f"Expected to call process with BPMN process id '{process_id}' and version tag "
            f"'{element.called_version_tag}', but no such process found.")
    return max(tagged, key=lambda d: d.version)
