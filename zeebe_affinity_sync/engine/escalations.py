"""Escalations: thrown by intermediate throw and end events, caught by escalation boundary events.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. The catch - an escalation boundary event of an enclosing subprocess / call activity, or an
escalation start event of an event subprocess in an enclosing scope - is searched from the
throwing event outwards through the enclosing scopes and,
through call activities, into the calling process: the nearest boundary event with the same
escalation code wins over a catch-all (no code) one. An interrupting catch terminates the scope
it is attached to (the throwing event included); a non-interrupting one starts a token beside it
and the throwing event carries on. An escalation nobody catches is not an incident: the throwing
event carries on, as in Zeebe.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, List, Optional

from . import model, state
from .expressions import feel
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["EscalationsMixin"]


class EscalationsMixin:
    def _throw_escalation(self: "Engine", source: state.ElementInstance) -> None:
        """Throw ``source``'s escalation; it completes unless an interrupting catch ended it."""
        element = source.element
        assert element is not None and element.escalation_code is not None
        code = feel.to_string(element.escalation_code.evaluate(visible(source)))
        host: Optional[state.ElementInstance] = source.parent if source.parent is not None else None
        boundary = None
        while host is not None:
            boundary = _matching(self._catch_events(host), code)
            if boundary is not None:
                break
            host = host.parent if host.parent is not None else host.instance.parent_element
        if host is not None and boundary is not None:
            self._lock.log_later(logger, logging.DEBUG, "escalation '%s' caught by '%s' in instance %d", code,
                                 boundary.id, host.instance.key)
            self._trigger_boundary(host, boundary, None)
            intent, catch_id = "ESCALATED", boundary.id
        else:
            self._lock.log_later(logger, logging.DEBUG, "escalation '%s' thrown by '%s' was not caught", code,
                                 element.id)
            intent, catch_id = "NOT_ESCALATED", ""
        self._rec("ESCALATION", intent, self._next_key(), {
            "escalation_code": code, "throw_element_id": element.id, "catch_element_id": catch_id,
            "process_instance_key": source.instance.key, "tenant_id": source.instance.definition.tenant_id})
        if self._element_instances.get(source.key) is source:  # not interrupted
            self._complete(source, None)


def _matching(catches: List[model.Element], code: str) -> Optional[model.Element]:
    """The catch event for ``code`` among a scope's boundary events and event subprocess starts."""
    catch_all = None
    for boundary in catches:
        if boundary.event != model.ESCALATION:
            continue
        if boundary.catch_escalation_code is None:
            catch_all = boundary
        elif boundary.catch_escalation_code == code:
            return boundary
    return catch_all
