"""Boundary events on activities: message and timer (interrupting or not), and taking a catch.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. When a service task, receive task or call activity is entered, its message boundary events
open subscriptions and its timer boundary events are scheduled; both are closed when the activity
is left by any path. An interrupting boundary event terminates its activity and continues from
the event; a non-interrupting one leaves the activity running and starts a parallel token (a
non-interrupting message boundary stays subscribed; a timer duration fires once). Error boundary
events are handled by :mod:`.incidents` (they are triggered by a thrown error, not opened).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import model, records, state
from .expressions import duration_seconds
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["BoundariesMixin"]


class BoundariesMixin:
    def _open_boundaries(self: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        elements = ei.instance.definition.process.elements
        for boundary_id in element.boundary_events:
            boundary = elements[boundary_id]
            if boundary.event == model.MESSAGE:
                assert boundary.message is not None
                self._subscribe(ei, boundary.message, boundary)
            elif boundary.event == model.TIMER:
                assert boundary.timer_duration is not None
                seconds = duration_seconds(boundary.timer_duration.evaluate(visible(ei)),
                                            boundary.timer_duration.text)
                handle = self._scheduler.call_later(seconds, self._boundary_timer_fired, ei.key, boundary_id)
                if ei.boundary_timers is None:
                    ei.boundary_timers = []
                ei.boundary_timers.append((boundary_id, handle))
                self._rec_timer(ei, boundary, "CREATED", int((self._clock.time() + max(0.0, seconds)) * 1000))

    def _close_boundaries(self: "Engine", ei: state.ElementInstance) -> None:
        if ei.boundary_subscriptions:
            for subscription in ei.boundary_subscriptions:
                self._close_subscription(subscription)
        if ei.boundary_timers:
            elements = ei.instance.definition.process.elements
            for boundary_id, handle in ei.boundary_timers:
                self._scheduler.cancel(handle)
                self._rec_timer(ei, elements[boundary_id], "CANCELED", -1)
        ei.boundary_subscriptions = None
        ei.boundary_timers = None

    def _boundary_timer_fired(self: "Engine", element_instance_key: int, boundary_id: str) -> None:
        with self._lock:
            ei = self._element_instances.get(element_instance_key)
            if ei is None or not ei.boundary_timers:
                return
            for index, (timer_boundary, handle) in enumerate(ei.boundary_timers):
                if timer_boundary == boundary_id and not handle.cancelled:
                    del ei.boundary_timers[index]
                    break
            else:
                return
            boundary = ei.instance.definition.process.elements[boundary_id]
            self._rec_timer(ei, boundary, "TRIGGERED", int(self._clock.time() * 1000))
            self._trigger_boundary(ei, boundary, None)
            self._drain()

    def _trigger_boundary(self: "Engine", host: state.ElementInstance, boundary: model.Element,
                          variables: Optional[Dict[str, Any]]) -> None:
        """A boundary event of ``host`` occurred: interrupt it (or not) and continue from the event."""
        if self._element_instances.get(host.key) is not host:
            return  # the activity was left meanwhile
        scope = host.parent
        assert scope is not None
        if boundary.interrupting:
            self._terminate_element(host)
        self._lock.log_later(logger, logging.DEBUG, "boundary event '%s' of '%s' triggered in instance %d",
                             boundary.id, host.element.id if host.element else "?", host.instance.key)
        self._take_catch(scope, boundary, variables)

    def _take_catch(self: "Engine", scope: state.ElementInstance, boundary: model.Element,
                    variables: Optional[Dict[str, Any]]) -> None:
        """Activate a boundary (catch) event in ``scope`` and complete it with the event's variables."""
        catch = state.ElementInstance(self._next_key(), boundary, scope.instance, scope)
        scope.children[catch.key] = catch  # type: ignore[index]
        self._element_instances[catch.key] = catch
        self._rec_element(catch, records.PI_ACTIVATING)
        self._activated(catch)
        self._agenda.append((self._complete, (catch, dict(variables) if variables else None)))
