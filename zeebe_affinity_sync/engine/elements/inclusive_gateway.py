"""The inclusive gateway: forks into every flow whose condition holds, and joins what was forked.

Fork: every outgoing flow whose condition is true is taken (document order); none true -> the
default flow; no default -> a CONDITION_ERROR incident. Join (Zeebe's semantics): the gateway
activates once every incoming flow has a token, or - for the flows without one - no token left in
the scope can still reach that flow. Arrived tokens are parked on the scope (``scope.joins``), and
the check is made after the step that brought a token (so a fork's sibling tokens exist by then)
and again whenever a token of the scope goes away (``IncidentsMixin`` / runtime ``_check_scope``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, List, Set

from .. import model, state
from ..expressions import type_name
from ..variables import visible
from .base import ElementBehavior
from .gateways import park_token

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["InclusiveGateway", "retry_inclusive_joins"]

# (resource checksum, process id, element id) -> element ids reachable from it (itself
# included). Keyed by content, so it is right for every engine in the process and never stale;
# cleared when it grows past _REACH_LIMIT. Guarded by the GIL (dict get/set of whole values).
_REACH: Dict[tuple, FrozenSet[str]] = {}
_REACH_LIMIT = 100_000


class InclusiveGateway(ElementBehavior):
    bpmn_element_type = "INCLUSIVE_GATEWAY"
    chooses_flows = True
    joins = True

    def outgoing(self, engine: "Engine", ei: state.ElementInstance) -> List[model.SequenceFlow]:
        element = ei.element
        assert element is not None
        flows = ei.instance.definition.process.flows
        if len(element.outgoing) == 1 and flows[element.outgoing[0]].condition is None:
            return [flows[element.outgoing[0]]]
        context = visible(ei)
        taken = []
        for flow_id in element.outgoing:
            if flow_id == element.default_flow:
                continue
            flow = flows[flow_id]
            assert flow.condition is not None  # the parser requires one
            value = flow.condition.evaluate(context)
            if not isinstance(value, bool):
                raise state.StepFailure(
                    "EXTRACT_VALUE_ERROR",
                    f"Expected result of the expression '{flow.condition.expression_text}' to be 'BOOLEAN', "
                    f"but was '{type_name(value)}'.")
            if value:
                taken.append(flow)
        if taken:
            return taken
        if element.default_flow:
            return [flows[element.default_flow]]
        raise state.StepFailure("CONDITION_ERROR", "Expected at least one condition to evaluate to true, or to "
                                f"have a default flow (inclusive gateway '{element.id}')")

    def arrive(self, engine: "Engine", scope: state.ElementInstance, flow: model.SequenceFlow,
               element: model.Element) -> None:
        if len(element.incoming) <= 1:
            engine._spawn(scope, element)
            return
        park_token(scope, flow, element)
        # decided after this step: the tokens a fork makes beside this one exist by then
        engine._agenda.append((_try_join, (engine, scope, element)))


def retry_inclusive_joins(engine: "Engine", scope: state.ElementInstance) -> None:
    """A token of ``scope`` went away: parked inclusive joins may be free to go now."""
    if not scope.joins:
        return
    elements = scope.instance.definition.process.elements
    for gateway_id in list(scope.joins):
        element = elements.get(gateway_id)
        if element is not None and element.kind == model.INCLUSIVE_GATEWAY:
            _try_join(engine, scope, element)


def _try_join(engine: "Engine", scope: state.ElementInstance, element: model.Element) -> None:
    if engine._element_instances.get(scope.key) is not scope or not scope.joins:
        return
    counts = scope.joins.get(element.id)
    if not counts or not any(counts.values()):
        return
    missing = [f for f in element.incoming if counts.get(f, 0) <= 0]
    if missing and _still_reachable(scope, element, missing):
        return
    consumed = 0
    for flow_id in element.incoming:
        if counts.get(flow_id, 0) > 0:
            counts[flow_id] -= 1
            consumed += 1
    scope.waiting -= consumed
    engine._spawn(scope, element)


def _still_reachable(scope: state.ElementInstance, gateway: model.Element, missing: List[str]) -> bool:
    """Can a live token of ``scope`` (an element instance, or a token parked at another join)
    still reach the source of one of the ``missing`` flows?"""
    definition = scope.instance.definition
    sources = {definition.process.flows[f].source for f in missing}
    positions: Set[str] = set()
    for child in (scope.children or {}).values():
        if child.element is not None:
            positions.add(child.element.id)
    for other_id, counts in (scope.joins or {}).items():
        if other_id != gateway.id and any(counts.values()):
            positions.add(other_id)
    return any(sources & _reach(definition, position) for position in positions)


def _reach(definition: model.ProcessDefinition, start: str) -> FrozenSet[str]:
    cache_key = (definition.checksum, definition.bpmn_process_id, start)
    found = _REACH.get(cache_key)
    if found is not None:
        return found
    process = definition.process
    seen = {start}
    todo = [start]
    while todo:
        element = process.elements.get(todo.pop())
        if element is None:
            continue
        following = [process.flows[f].target for f in element.outgoing] + list(element.boundary_events)
        for target in following:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    if len(_REACH) >= _REACH_LIMIT:
        _REACH.clear()
    found = _REACH[cache_key] = frozenset(seen)
    return found
