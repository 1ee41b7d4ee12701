"""Evaluate a decision of a :class:`~.model.DecisionGraph`: required decisions first, then the
decision table (by its hit policy) or literal expression.

The result lists every evaluated decision with its inputs, matched rules and outputs, shaped
like Zeebe's ``EvaluateDecisionResponse`` / ``DECISION_EVALUATION`` record. A failure (a FEEL
evaluation error, several matches under UNIQUE, differing outputs under ANY) stops the
evaluation and names the decision that failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Tuple

from zeebe_affinity_sync.engine import feel
from zeebe_affinity_sync.engine.dmn import model
from zeebe_affinity_sync.engine.feel import values as feel_values

__all__ = ["EvaluatedDecision", "DecisionResult", "evaluate"]


@dataclass
class MatchedRule:
    rule_id: str
    rule_index: int
    outputs: List[Tuple[str, str, Any]]   # (output id, output name, value)


@dataclass
class EvaluatedDecision:
    decision_id: str
    decision_name: str
    decision_type: str                    # DECISION_TABLE | LITERAL_EXPRESSION
    output: Any = None
    inputs: List[Tuple[str, str, Any]] = field(default_factory=list)  # (input id, name, value)
    matched_rules: List[MatchedRule] = field(default_factory=list)


@dataclass
class DecisionResult:
    """The outcome of one evaluation. ``failed_decision_id`` is ``""`` on success."""

    decision: model.Decision
    output: Any = None
    evaluated: List[EvaluatedDecision] = field(default_factory=list)
    failed_decision_id: str = ""
    failure_message: str = ""
    deployed: Dict[str, Any] = field(default_factory=dict)  # decision id -> its deployed version

    @property
    def failed(self) -> bool:
        return bool(self.failed_decision_id)


class _Failure(Exception):
    pass


def evaluate(graph: model.DecisionGraph, decision_id: str, variables: Mapping[str, Any]) -> DecisionResult:
    """Evaluate ``decision_id`` of ``graph`` against ``variables`` (never raises for a model or
    data problem: the result carries the failure)."""
    decision = graph.decision(decision_id)
    if decision is None:
        raise KeyError(decision_id)
    result = DecisionResult(decision)
    context: Dict[str, Any] = dict(variables)
    done: Dict[str, Any] = {}
    try:
        result.output = _evaluate(graph, decision, context, done, result)
    except _Failure as exc:
        result.output = None
        result.failure_message = str(exc)
    return result


def _evaluate(graph: model.DecisionGraph, decision: model.Decision, context: Dict[str, Any],
              done: Dict[str, Any], result: DecisionResult) -> Any:
    for required_id in decision.required:
        if required_id in done:
            continue
        required = graph.decision(required_id)
        assert required is not None  # checked at deploy
        output = _evaluate(graph, required, context, done, result)
        done[required_id] = output
        context[required.result_name or required.id] = output
    for bkm_id in decision.knowledge:
        _add_knowledge(graph, bkm_id, context, set())
    evaluated = EvaluatedDecision(decision.id, decision.name, decision.logic.type_name)
    result.evaluated.append(evaluated)
    try:
        if isinstance(decision.logic, model.LiteralExpression):
            output = _value(decision.logic.expression, context)
        else:
            output = _table(decision.logic, context, evaluated)
    except (feel.FeelEvaluationError, _Failure) as exc:
        result.failed_decision_id = decision.id
        raise _Failure(f"Expected to evaluate decision '{decision.id}', but {exc}") from None
    evaluated.output = output
    return output


def _add_knowledge(graph: model.DecisionGraph, bkm_id: str, context: Dict[str, Any], seen: set) -> None:
    """Put the BKM (and the BKMs it invokes) into ``context`` as FEEL functions."""
    if bkm_id in seen:
        return
    seen.add(bkm_id)
    bkm = graph.knowledge_model(bkm_id)
    assert bkm is not None  # checked at deploy
    for inner in bkm.knowledge:
        _add_knowledge(graph, inner, context, seen)
    definitions = dict(context)

    def call(args: List[Any]) -> Any:
        scope = {**definitions, **dict(zip(bkm.params, args))}
        if isinstance(bkm.logic, model.LiteralExpression):
            return _value(bkm.logic.expression, scope)
        try:
            return _table(bkm.logic, scope, EvaluatedDecision(bkm.id, bkm.name, "DECISION_TABLE"))
        except _Failure as exc:
            raise feel.FeelEvaluationError(bkm.id, str(exc)) from None

    function = feel_values.Function(bkm.params, call, bkm.name)
    definitions[bkm.name] = function  # a BKM may call itself
    context[bkm.name] = function


def _value(expression: Any, context: Mapping[str, Any]) -> Any:
    return None if expression is None else expression.evaluate(context)


def _table(table: model.DecisionTable, context: Mapping[str, Any], evaluated: EvaluatedDecision) -> Any:
    values = []
    for spec in table.inputs:
        value = _value(spec.expression, context)
        values.append(value)
        evaluated.inputs.append((spec.id, spec.label, value))
    contexts = [context if not spec.variable else {**context, spec.variable: value}
                for spec, value in zip(table.inputs, values)]
    matched: List[model.Rule] = []
    for rule in table.rules:
        if all(test.test(value, ctx) for test, value, ctx in zip(rule.tests, values, contexts)):
            matched.append(rule)
            if table.hit_policy == "FIRST":
                break
    outputs = []
    for rule in matched:
        row = [(spec.id, spec.name or spec.label, _value(expression, context))
               for spec, expression in zip(table.outputs, rule.outputs)]
        evaluated.matched_rules.append(MatchedRule(rule.id, rule.index, row))
        outputs.append(_row_value(table, row))
    policy = table.hit_policy
    if policy in ("UNIQUE", "FIRST", "ANY"):
        if not outputs:
            return None
        if policy == "UNIQUE" and len(outputs) > 1:
            raise _Failure(f"multiple rules match the hit policy UNIQUE (rules "
                           f"{', '.join(repr(r.id) for r in matched)})")
        if policy == "ANY" and any(feel_values.equal(outputs[0], o) is not True for o in outputs[1:]):
            raise _Failure(f"the rules {', '.join(repr(r.id) for r in matched)} match the hit policy ANY "
                           "with different outputs")
        return outputs[0]
    if policy == "COLLECT" and table.aggregation:
        return _aggregate(table.aggregation, outputs)
    return outputs


def _row_value(table: model.DecisionTable, row: List[Tuple[str, str, Any]]) -> Any:
    if len(row) == 1:
        return row[0][2]
    return {name: value for _, name, value in row}


def _aggregate(aggregation: str, outputs: List[Any]) -> Any:
    if aggregation == "COUNT":
        return len(outputs)
    present = [o for o in outputs if o is not None]
    if not present:
        return None
    function = {"SUM": "sum", "MIN": "min", "MAX": "max"}[aggregation]
    value = feel.evaluate(f"{function}(values)", {"values": present})
    if value is None:
        raise _Failure(f"the outputs {feel.to_string(present)} cannot be aggregated with {aggregation}")
    return value
