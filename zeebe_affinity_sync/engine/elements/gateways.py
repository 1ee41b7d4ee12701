"""Gateways: exclusive (first true condition, else the default flow) and parallel (fork / join)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List

from .. import model, state
from ..expressions import type_name
from ..variables import visible
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["ExclusiveGateway", "ParallelGateway", "join_arrive"]


class ExclusiveGateway(ElementBehavior):
    bpmn_element_type = "EXCLUSIVE_GATEWAY"
    chooses_flows = True

    def outgoing(self, engine: "Engine", ei: state.ElementInstance) -> List[model.SequenceFlow]:
        element = ei.element
        assert element is not None
        flows = ei.instance.definition.process.flows
        if not element.outgoing:
            return []
        context = visible(ei)
        for flow_id in element.outgoing:
            if flow_id == element.default_flow:
                continue
            flow = flows[flow_id]
            if flow.condition is None:
                return [flow]
            value = flow.condition.evaluate(context)
            if not isinstance(value, bool):
                raise state.StepFailure(
                    "EXTRACT_VALUE_ERROR",
                    f"Expected result of the expression '{flow.condition.expression_text}' to be 'BOOLEAN', "
                    f"but was '{type_name(value)}'.")
            if value:
                return [flow]
        if element.default_flow:
            return [flows[element.default_flow]]
        raise state.StepFailure("CONDITION_ERROR", "Expected at least one condition to evaluate to true, or to "
                                f"have a default flow (exclusive gateway '{element.id}')")


def park_token(scope: state.ElementInstance, flow: model.SequenceFlow, element: model.Element) -> Dict[str, int]:
    """Count a token that arrived at a joining gateway over ``flow``; returns the gateway's counts
    (incoming flow id -> tokens parked) in ``scope``."""
    joins = scope.joins
    if joins is None:
        joins = scope.joins = {}
    counts = joins.setdefault(element.id, {})
    counts[flow.id] = counts.get(flow.id, 0) + 1
    scope.waiting += 1
    return counts


def join_arrive(engine: "Engine", scope: state.ElementInstance, flow: model.SequenceFlow,
                element: model.Element) -> None:
    """A token arrives at a joining gateway: park it until every incoming flow has one."""
    if len(element.incoming) <= 1:
        engine._spawn(scope, element)
        return
    counts = park_token(scope, flow, element)
    if all(counts.get(f, 0) > 0 for f in element.incoming):
        for f in element.incoming:
            counts[f] -= 1
        scope.waiting -= len(element.incoming)
        engine._spawn(scope, element)


class ParallelGateway(ElementBehavior):
    """Forks into every outgoing flow; joins by waiting for a token on each incoming flow."""

    bpmn_element_type = "PARALLEL_GATEWAY"
    joins = True

    def arrive(self, engine: "Engine", scope: state.ElementInstance, flow: model.SequenceFlow,
               element: model.Element) -> None:
        join_arrive(engine, scope, flow, element)
