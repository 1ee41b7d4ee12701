"""Boundary events on activities: message and timer (interrupting or not), and taking a catch.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. When a service task, receive task or call activity is entered, its message boundary events
open subscriptions and its timer boundary events are scheduled; both are closed when the activity
is left by any path. An interrupting boundary event terminates its activity and continues from
the event; a non-interrupting one leaves the activity running and starts a parallel token (a
non-interrupting message boundary stays subscribed; a timer duration fires once). Error boundary
events are handled by :mod:`.incidents` (they are triggered by a thrown error, not opened).

The start events of event subprocesses are catch events of their scope (the process root or a
subprocess instance) and go through the same code: opened when the scope is entered, closed when
it is left; when one occurs the event subprocess starts in the scope (interrupting or not). Other
helpers add catch event kinds (signal, escalation) through ``_catch_openers`` / ``_catch_closers``.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from . import model, records, state
from .timer_events import TimerState
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["BoundariesMixin"]


class BoundariesMixin:
    def __init__(self) -> None:
        # event definition -> fn(ei, catch element): opens a catch event of a kind this module
        # does not know (helpers register signal / escalation here); guarded by nothing (set in
        # __init__, read-only afterwards)
        self._catch_openers: Dict[str, Callable[[state.ElementInstance, model.Element], None]] = {}
        # fn(ei, only_event_subprocess_starts): closes what those openers opened on ``ei``
        self._catch_closers: List[Callable[[state.ElementInstance, bool], None]] = []

    def _catch_events(self: "Engine", ei: state.ElementInstance) -> List[model.Element]:
        """The catch events attached to ``ei``: the boundary events of its activity and, for a
        scope (the process, a subprocess), the start events of its event subprocesses."""
        element = ei.element
        process = ei.instance.definition.process
        elements = process.elements
        # a multi-instance activity: boundary events belong to the body, event subprocesses
        # (of a subprocess) to each inner instance
        looped = element is not None and element.loop is not None
        catches = [elements[b] for b in element.boundary_events] if element is not None and (
            ei.body or not looped) else []
        if ei.body:
            return catches
        for esp_id in (element.event_subprocesses if element is not None else process.event_subprocesses):
            start = elements[esp_id].start
            if start is not None:
                catches.append(elements[start])
        return catches

    def _open_boundaries(self: "Engine", ei: state.ElementInstance) -> None:
        """Open the message subscriptions and timers of every catch event attached to ``ei``."""
        for catch in self._catch_events(ei):
            if catch.event == model.MESSAGE:
                assert catch.message is not None
                self._subscribe(ei, catch.message, catch)
            elif catch.event == model.TIMER:
                seconds, timer = self._timer_due(catch, visible(ei))
                self._schedule_boundary_timer(ei, catch.id, seconds, timer)
            elif catch.event == model.SIGNAL:
                self._subscribe_signal(ei, catch, catch)
            else:
                opener = self._catch_openers.get(catch.event)
                if opener is not None:
                    opener(ei, catch)

    def _schedule_boundary_timer(self: "Engine", ei: state.ElementInstance, boundary_id: str, seconds: float,
                                 timer: Optional[TimerState]) -> None:
        handle = self._scheduler.call_later(seconds, self._boundary_timer_fired, ei.key, boundary_id, timer)
        if ei.boundary_timers is None:
            ei.boundary_timers = []
        ei.boundary_timers.append((boundary_id, handle))
        boundary = ei.instance.definition.process.elements[boundary_id]
        self._rec_timer(ei, boundary, "CREATED", int((self._clock.time() + max(0.0, seconds)) * 1000))

    def _close_boundaries(self: "Engine", ei: state.ElementInstance, only_starts: bool = False) -> None:
        """Close what :meth:`_open_boundaries` opened (``only_starts``: just the event
        subprocess starts, when an interrupting event subprocess takes over the scope)."""
        elements = ei.instance.definition.process.elements
        if ei.boundary_subscriptions:
            kept = []
            for subscription in ei.boundary_subscriptions:
                if only_starts and subscription.boundary is not None \
                        and subscription.boundary.kind != model.START_EVENT:
                    kept.append(subscription)
                else:
                    self._close_subscription(subscription)
            ei.boundary_subscriptions = kept or None
        if ei.boundary_timers:
            kept_timers = []
            for catch_id, handle in ei.boundary_timers:
                if only_starts and elements[catch_id].kind != model.START_EVENT:
                    kept_timers.append((catch_id, handle))
                    continue
                self._scheduler.cancel(handle)
                self._rec_timer(ei, elements[catch_id], "CANCELED", -1)
            ei.boundary_timers = kept_timers or None
        for closer in self._catch_closers:
            closer(ei, only_starts)

    def _boundary_timer_fired(self: "Engine", element_instance_key: int, boundary_id: str,
                              timer: Optional[TimerState] = None) -> None:
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
            if not boundary.interrupting:  # a cycle fires again while the activity runs
                again = self._next_repetition(timer, self._timer_now())
                if again is not None:
                    self._schedule_boundary_timer(ei, boundary_id, again[0], again[1])
            self._trigger_boundary(ei, boundary, None)
            self._drain()

    def _trigger_boundary(self: "Engine", host: state.ElementInstance, boundary: model.Element,
                          variables: Optional[Dict[str, Any]]) -> None:
        """A catch event attached to ``host`` occurred: for a boundary event interrupt the
        activity (or not) and continue from the event; for an event subprocess start, start it."""
        if self._element_instances.get(host.key) is not host:
            return  # the activity was left meanwhile
        if boundary.kind == model.START_EVENT:
            self._trigger_event_subprocess(host, boundary, variables)
            return
        scope = host.parent
        assert scope is not None
        if host.element is not None and host.element.kind == model.EVENT_BASED_GATEWAY:
            # the first event after the gateway wins: the gateway completes (closing the others)
            # and the event that occurred is taken; the gateway's completion is queued first
            self._close_boundaries(host)
            self._agenda.append((self._complete, (host, None)))
            self._take_catch(scope, boundary, variables)
            return
        if boundary.interrupting:
            self._terminate_element(host)
        self._lock.log_later(logger, logging.DEBUG, "boundary event '%s' of '%s' triggered in instance %d",
                             boundary.id, host.element.id if host.element else "?", host.instance.key)
        self._take_catch(scope, boundary, variables)

    def _trigger_event_subprocess(self: "Engine", scope: state.ElementInstance, start: model.Element,
                                  variables: Optional[Dict[str, Any]]) -> None:
        """Start the event subprocess of ``start`` in ``scope``. An interrupting one first
        terminates everything else in the scope and closes the scope's other event subprocess
        starts; the scope then completes when the event subprocess does."""
        if self._element_instances.get(scope.key) is not scope or scope.phase != state.ACTIVATED_ELEMENT:
            return
        elements = scope.instance.definition.process.elements
        assert start.scope is not None
        esp = elements[start.scope]
        if start.interrupting:
            self._close_boundaries(scope, only_starts=True)
            self._terminate_children(scope)
        self._lock.log_later(logger, logging.DEBUG, "event subprocess '%s' started by '%s' in instance %d", esp.id,
                             start.id, scope.instance.key)
        esp_ei = self._spawn(scope, esp)
        esp_ei.pending_variables = dict(variables) if variables else None  # for its start event

    def _take_catch(self: "Engine", scope: state.ElementInstance, boundary: model.Element,
                    variables: Optional[Dict[str, Any]]) -> None:
        """Activate a boundary (catch) event in ``scope`` and complete it with the event's variables."""
        catch = state.ElementInstance(self._next_key(), boundary, scope.instance, scope)
        scope.children[catch.key] = catch  # type: ignore[index]
        self._element_instances[catch.key] = catch
        self._rec_element(catch, records.PI_ACTIVATING)
        self._activated(catch)
        self._agenda.append((self._complete, (catch, dict(variables) if variables else None)))
