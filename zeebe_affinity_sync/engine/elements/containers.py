"""Scopes: the process itself (the root element instance of every process instance), embedded
subprocesses and event subprocesses.

A scope's instance is the flow scope and the variable scope of the elements inside it; its
catch events (boundary events of the subprocess, starts of its event subprocesses) are opened by
the token machinery when it is entered. It completes when nothing is left inside it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import state
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["ProcessBehavior", "SubProcess", "EventSubProcess"]


class ProcessBehavior(ElementBehavior):
    """The root scope: the instance completes when its last token is gone."""

    bpmn_element_type = "PROCESS"
    is_scope = True

    def terminate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._terminate_children(ei)

    def child_flow_done(self, engine: "Engine", scope: state.ElementInstance) -> None:
        engine._complete_instance(scope.instance)


class SubProcess(ElementBehavior):
    """An embedded subprocess (entered through its none start event) or an event subprocess
    (entered through the start event that was triggered, which completes with the event's
    variables, parked on the subprocess instance by the trigger)."""

    bpmn_element_type = "SUB_PROCESS"
    is_scope = True

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None and element.start is not None
        ei.children = {}
        engine._activated(ei)
        start = engine._spawn(ei, ei.instance.definition.process.elements[element.start])
        start.pending_variables, ei.pending_variables = ei.pending_variables, None

    def terminate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._terminate_children(ei)
        engine._release_wait_state(ei)

    def child_flow_done(self, engine: "Engine", scope: state.ElementInstance) -> None:
        engine._complete(scope, None)


class EventSubProcess(SubProcess):
    bpmn_element_type = "EVENT_SUB_PROCESS"
