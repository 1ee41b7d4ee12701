"""The behaviour interface every element kind implements (the shape of Zeebe's element processors).

The token machinery in :mod:`..runtime` owns the lifecycle of an element instance — it creates
it, records each transition, applies input/output mappings, opens and closes boundary events and
moves tokens along sequence flows. What differs per element kind lives in one
:class:`ElementBehavior` subclass:

- :meth:`~ElementBehavior.activate`: the instance was entered (inputs applied, boundary events
  open). A pass-through element calls ``engine._activated(ei)`` then ``engine._complete(ei, None)``;
  a wait state calls ``engine._activated(ei)`` and opens what it waits for (a job, a subscription,
  a timer, a child instance); a failure raises :class:`~..state.StepFailure` (an incident).
- :meth:`~ElementBehavior.outgoing`: which sequence flows to take on completion (gateways choose;
  set ``chooses_flows``).
- :meth:`~ElementBehavior.arrive`: a token arrives over ``flow`` (joins wait here; set ``joins``).
- :meth:`~ElementBehavior.terminate`: release what :meth:`activate` opened.
- :meth:`~ElementBehavior.child_flow_done` (scopes only): the scope has no live children and no
  parked tokens left.

Behaviours are stateless singletons: all state is in :mod:`..state` under the engine lock, which
every hook runs under.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List

from .. import model, state

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["ElementBehavior", "PassThrough"]


class ElementBehavior:
    """Default behaviour: a pass-through flow node that takes all its outgoing flows."""

    #: Zeebe's ``bpmnElementType`` for the records (``SERVICE_TASK``, ``START_EVENT``...).
    bpmn_element_type = "UNSPECIFIED"
    #: True for elements whose instance is a scope with children (process, subprocess...).
    is_scope = False
    #: The runtime calls :meth:`outgoing` only when True (else: every outgoing flow), and
    #: :meth:`arrive` only when ``joins`` is True (else: the token activates the element) —
    #: two calls per element saved on the hot path.
    chooses_flows = False
    joins = False

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._activated(ei)
        engine._complete(ei, None)

    def outgoing(self, engine: "Engine", ei: state.ElementInstance) -> List[model.SequenceFlow]:
        element = ei.element
        assert element is not None
        flows = ei.instance.definition.process.flows
        return [flows[f] for f in element.outgoing]

    def arrive(self, engine: "Engine", scope: state.ElementInstance, flow: model.SequenceFlow,
               element: model.Element) -> None:
        engine._spawn(scope, element)

    def terminate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._release_wait_state(ei)

    def child_flow_done(self, engine: "Engine", scope: state.ElementInstance) -> None:
        raise AssertionError(f"{type(self).__name__} is not a scope")  # pragma: no cover


class PassThrough(ElementBehavior):
    """An element with no behaviour of its own (none events, undefined / manual tasks)."""

    def __init__(self, bpmn_element_type: str) -> None:
        self.bpmn_element_type = bpmn_element_type
