"""Error events and incidents: where a thrown BPMN error is caught, and what resolving retries.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. An error (ThrowError or an error end event) is caught by the nearest error boundary event,
walking out of the task and then through the call activities that started the instance; a
matching ``errorCode`` wins over a catch-all. Uncaught errors and failed steps become incidents;
resolving one retries the step that failed (or makes the job activatable again).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import model, rejections, state

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["IncidentsMixin"]


class IncidentsMixin:
    # ------------------------------------------------------------------ error events
    def _throw_error(self: "Engine", source: state.ElementInstance, code: str,
                     variables: Optional[Dict[str, Any]]) -> bool:
        """Find what catches an error thrown at ``source``, walking outward: the error boundary
        events of the element, then the error start events of the event subprocesses of its
        flow scope, then the boundary events of that scope, and so on up to the process, then
        on through the call activity that started the instance.

        Returns:
            True if caught (the catching side is taken; what it interrupts is terminated).
        """
        current: Optional[state.ElementInstance] = source
        while current is not None:
            boundary = self._matching_boundary(current, code)
            if boundary is not None:
                scope = current.parent
                assert scope is not None
                self._terminate_element(current)
                self._lock.log_later(logger, logging.DEBUG, "error '%s' caught by '%s' in instance %d", code,
                                     boundary.id, current.instance.key)
                self._take_catch(scope, boundary, variables)
                return True
            scope = current.parent
            if scope is None:  # the process itself: on through the calling call activity
                current = current.instance.parent_element
                continue
            start = self._matching_error_start(scope, code)
            if start is not None:
                self._lock.log_later(logger, logging.DEBUG, "error '%s' caught by event subprocess start '%s' in "
                                     "instance %d", code, start.id, scope.instance.key)
                self._trigger_event_subprocess(scope, start, variables)
                return True
            current = scope
        return False

    def _matching_error_start(self: "Engine", scope: state.ElementInstance, code: str) -> Optional[model.Element]:
        """The error start event of an event subprocess of ``scope`` that catches ``code``
        (a matching code wins over a catch-all), if any."""
        if scope.body:
            return None  # a multi-instance body has no event subprocesses (its inner instances may)
        element = scope.element
        process = scope.instance.definition.process
        esps = element.event_subprocesses if element is not None else process.event_subprocesses
        catch_all = None
        for esp_id in esps:
            start_id = process.elements[esp_id].start
            start = process.elements[start_id] if start_id is not None else None
            if start is None or start.event != model.ERROR:
                continue
            if start.catch_error_code is None:
                catch_all = catch_all or start
            elif start.catch_error_code == code:
                return start
        return catch_all

    @staticmethod
    def _matching_boundary(host: state.ElementInstance, code: str) -> Optional[model.Element]:
        element = host.element
        if element is None or not element.boundary_events:
            return None
        if host.parent is not None and host.parent.body:
            return None  # an inner instance of a multi-instance activity: its body has the boundaries
        elements = host.instance.definition.process.elements
        catch_all = None
        for boundary_id in element.boundary_events:
            boundary = elements[boundary_id]
            if boundary.event != model.ERROR:
                continue
            if boundary.catch_error_code is None:
                catch_all = boundary
            elif boundary.catch_error_code == code:
                return boundary
        return catch_all

    # ------------------------------------------------------------------ incidents
    def _raise_incident(self: "Engine", ei: state.ElementInstance, error_type: str, message: str,
                        job: Optional[state.Job] = None) -> state.Incident:
        incident = state.Incident(self._next_key(), error_type, message, ei, job, self._clock.time())
        self._incidents[incident.key] = incident
        ei.incident = incident
        if job is not None:
            job.incident = incident
        self._rec_incident(incident, "CREATED")
        self._lock.log_later(logger, logging.INFO, "incident %d (%s) in instance %d at '%s': %s", incident.key,
                             error_type, ei.instance.key, ei.element.id if ei.element else "?", message)
        return incident

    def _rec_incident(self: "Engine", incident: state.Incident, intent: str) -> None:
        if self._kinds is not None:
            ei = incident.element_instance
            d = ei.instance.definition
            self._rec("INCIDENT", intent, incident.key, {
                "error_type": incident.error_type, "error_message": incident.message,
                "element_id": ei.element.id if ei.element is not None else "", "element_instance_key": ei.key,
                "job_key": incident.job.key if incident.job is not None else -1,
                "process_instance_key": ei.instance.key, "process_definition_key": d.key,
                "bpmn_process_id": d.bpmn_process_id})

    def _drop_incident(self: "Engine", incident: state.Incident) -> None:
        """The incident's element or job went away (terminated, cancelled): resolved with it."""
        if self._incidents.pop(incident.key, None) is not None:
            self._rec_incident(incident, "RESOLVED")
        if incident.element_instance.incident is incident:
            incident.element_instance.incident = None
        if incident.job is not None and incident.job.incident is incident:
            incident.job.incident = None

    def resolve_incident(self: "Engine", incident_key: int) -> None:
        """ResolveIncident: retry the failed step (or make the job activatable again).

        Raises:
            NotFoundError: No such incident.
        """
        with self._lock:
            incident = self._incidents.pop(incident_key, None)
            if incident is None:
                raise rejections.not_found(
                    "RESOLVE", f"Expected to resolve incident with key '{incident_key}', but no such incident "
                    "was found")
            ei = incident.element_instance
            ei.incident = None
            self._rec_incident(incident, "RESOLVED")
            self._lock.log_later(logger, logging.INFO, "incident %d resolved", incident_key)
            job = incident.job
            if job is not None:
                job.incident = None
                if job.state == state.ERROR_THROWN or (job.state == state.FAILED and job.retries > 0):
                    self._job_activatable(job)
            elif ei.phase == state.ACTIVATING:
                self._enter(ei, False)
            elif ei.phase == state.COMPLETING:
                self._complete(ei, ei.pending_variables)
            self._drain()
