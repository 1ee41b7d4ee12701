"""Execution listeners (``zeebe:executionListeners``): jobs run before and after an element.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. As in Zeebe (8.6+):

* **start** listeners run, one job after the other in document order, once the element's input
  mappings are applied and before its own behaviour (its job, subscription, timer...) begins;
  the variables a listener job completes with are set locally on the element;
* **end** listeners run, likewise, after the element's behaviour completed and its output
  mappings were applied, before the token leaves it; their variables are propagated outward as an
  element's completion variables are;
* a listener job fails, times out, is retried and raises incidents like any job; terminating the
  element drops it.

The chain's position lives in ``ElementInstance.listener``: ``(phase, index)`` while the job of
listener ``index`` waits, ``(phase, len(listeners))`` once the phase is done.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from . import model, state
from .expressions import type_name
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

__all__ = ["ListenersMixin", "START", "END"]

START = "start"
END = "end"


class ListenersMixin:
    @staticmethod
    def _listeners(element: model.Element, phase: str) -> Tuple[model.Listener, ...]:
        return element.start_listeners if phase == START else element.end_listeners

    def _listeners_pending(self: "Engine", ei: state.ElementInstance, phase: str) -> bool:
        """Begin ``phase``'s listener chain unless it already ran; True while a listener job waits."""
        element = ei.element
        assert element is not None
        listeners = self._listeners(element, phase)
        position = ei.listener
        if position is not None and position[0] == phase:
            if position[1] >= len(listeners):
                return False
            if ei.job is None:  # retried after an incident that stopped the job's creation
                self._create_listener_job(ei, listeners[position[1]])
            return True
        ei.listener = (phase, 0)
        self._create_listener_job(ei, listeners[0])
        return True

    def _listener_job_done(self: "Engine", ei: state.ElementInstance,
                           variables: Optional[Dict[str, Any]]) -> bool:
        """A completed job was ``ei``'s listener job: go on with the chain (True), else False."""
        element = ei.element
        position = ei.listener
        if element is None or position is None:
            return False
        phase, index = position
        listeners = self._listeners(element, phase)
        if index >= len(listeners):
            return False
        if variables:
            self._set_variables(ei, variables, phase == START)
        index += 1
        ei.listener = (phase, index)
        if index < len(listeners):
            self._create_listener_job(ei, listeners[index])
        elif phase == START:
            self._agenda.append((self._begin_behaviour, (ei,)))
        else:
            self._agenda.append((self._complete, (ei, None)))
        return True

    def _create_listener_job(self: "Engine", ei: state.ElementInstance, listener: model.Listener) -> None:
        context = visible(ei)
        job_type = listener.job_type.evaluate(context)
        if not isinstance(job_type, str) or not job_type:
            raise state.StepFailure("EXTRACT_VALUE_ERROR",
                                    f"Expected result of the expression '{listener.job_type.expression_text}' to "
                                    f"be 'STRING', but was '{type_name(job_type)}'.")
        retries = listener.retries.evaluate(context)
        if isinstance(retries, str) and retries.strip().lstrip("-").isdigit():
            retries = int(retries)
        if isinstance(retries, bool) or not isinstance(retries, (int, float)):
            raise state.StepFailure("EXTRACT_VALUE_ERROR",
                                    f"Expected result of the expression '{listener.retries.expression_text}' to "
                                    f"be 'NUMBER', but was '{type_name(retries)}'.")
        element = ei.element
        job = state.Job(self._next_key(), job_type, int(retries), ei, element.headers if element else "{}")
        ei.job = job
        self._jobs[job.key] = job
        self._rec_job(job, "CREATED")
        self._job_activatable(job)
