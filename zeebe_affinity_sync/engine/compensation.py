"""Compensation: compensation boundary events with their handlers, compensation throw / end events.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. As Zeebe documents it:

* an activity with a compensation boundary event is *compensable* once it has completed; its
  handler (the activity the boundary event's association points to, marked
  ``isForCompensation``) is remembered by the flow scope it completed in. When an embedded
  subprocess completes, what became compensable inside it is handed to its own flow scope;
  a terminated scope forgets it;
* a compensation intermediate throw or end event starts the handler of every compensable
  activity of its flow scope (or, with ``activityRef``, of that activity - or of that
  subprocess's inner activities), each once, and waits until they all completed
  (``waitForCompletion``, the only mode Zeebe runs); an activity compensated once is not
  compensated again. With nothing to compensate the event carries on at once.

Handlers run in the throwing event's flow scope. Not supported (refused at deploy by
:mod:`.bpmn`): compensation event subprocesses, compensation on multi-instance activities, and
``waitForCompletion="false"``.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Tuple

from . import state

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["CompensationMixin"]


class _Compensable(NamedTuple):
    element_id: str          # the completed activity
    handler_id: str          # its compensation handler
    through: Tuple[str, ...]  # the subprocesses it completed inside, innermost first


class CompensationMixin:
    def __init__(self) -> None:
        # all guarded by the engine lock; only filled for processes that use compensation
        self._compensable: Dict[int, List[_Compensable]] = {}   # flow scope key -> completed activities
        self._compensating: Dict[int, int] = {}                 # handler instance key -> throw event key
        self._compensation_pending: Dict[int, int] = {}         # throw event key -> handlers still running
        self._reset_hooks.append(self._forget_compensation)

    def _forget_compensation(self) -> None:
        self._compensable.clear()
        self._compensating.clear()
        self._compensation_pending.clear()

    def _compensation_left(self: "Engine", ei: state.ElementInstance) -> None:
        """``ei`` leaves (completed or terminated): note what became compensable, hand a
        completed scope's compensable activities outward, and count finished handlers."""
        element = ei.element
        completed = ei.phase == state.COMPLETING
        scope = ei.parent
        inner = self._compensable.pop(ei.key, None)
        if completed and scope is not None and element is not None:
            if element.compensation_handler is not None and not ei.body:
                self._compensable.setdefault(scope.key, []).append(
                    _Compensable(element.id, element.compensation_handler, ()))
            if inner:
                self._compensable.setdefault(scope.key, []).extend(
                    c._replace(through=c.through + (element.id,)) for c in inner)
        self._compensation_pending.pop(ei.key, None)
        throw_key = self._compensating.pop(ei.key, None)
        if throw_key is not None and throw_key in self._compensation_pending:
            self._compensation_pending[throw_key] -= 1
            if self._compensation_pending[throw_key] <= 0:
                del self._compensation_pending[throw_key]
                thrower = self._element_instances.get(throw_key)
                if thrower is not None:
                    self._agenda.append((self._complete, (thrower, None)))

    def _throw_compensation(self: "Engine", ei: state.ElementInstance) -> None:
        """A compensation throw / end event: start the handlers, complete once they are done."""
        element = ei.element
        scope = ei.parent
        assert element is not None and scope is not None
        self._activated(ei)
        recorded = self._compensable.get(scope.key, [])
        target = element.compensate_activity
        chosen = [c for c in recorded if target is None or c.element_id == target or target in c.through]
        if not chosen:
            self._complete(ei, None)
            return
        left = [c for c in recorded if c not in chosen]
        if left:
            self._compensable[scope.key] = left
        else:
            self._compensable.pop(scope.key, None)
        elements = ei.instance.definition.process.elements
        self._compensation_pending[ei.key] = len(chosen)
        for compensable in reversed(chosen):  # the latest completed first
            handler = self._spawn(scope, elements[compensable.handler_id])
            self._compensating[handler.key] = ei.key
        self._lock.log_later(logger, logging.DEBUG, "compensation thrown by '%s' started %d handler(s) in instance %d",
                             element.id, len(chosen), ei.instance.key)
