"""The parsed DMN model: immutable, compiled once at deploy time, shared by all evaluations."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

__all__ = ["Input", "Output", "Rule", "DecisionTable", "LiteralExpression", "Decision", "DecisionGraph",
           "BusinessKnowledgeModel",
           "HIT_POLICIES", "AGGREGATIONS"]

# Hit policies Camunda 8.8 evaluates (PRIORITY and OUTPUT ORDER are refused at deploy, as Zeebe does).
HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")


@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression: Any           # feel.Expression of the input expression
    text: str
    variable: str = ""        # camunda:inputVariable: a second name of the input in its entries


@dataclass(frozen=True)
class Output:
    id: str
    label: str
    name: str


@dataclass(frozen=True)
class Rule:
    id: str
    index: int                # 1-based, as Zeebe reports matched rules
    tests: Tuple[Any, ...]    # feel.UnaryTestsExpression per input
    outputs: Tuple[Any, ...]  # feel.Expression (or None for an empty entry) per output


@dataclass(frozen=True)
class DecisionTable:
    hit_policy: str
    aggregation: Optional[str]
    inputs: Tuple[Input, ...]
    outputs: Tuple[Output, ...]
    rules: Tuple[Rule, ...]

    type_name = "DECISION_TABLE"


@dataclass(frozen=True)
class LiteralExpression:
    expression: Any           # feel.Expression
    variable: str             # the result's name (<variable name=...>)

    type_name = "LITERAL_EXPRESSION"


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    logic: Any                # DecisionTable | LiteralExpression
    required: Tuple[str, ...]  # ids of the decisions evaluated first
    result_name: str = ""     # the name its result has for the decisions requiring it
    knowledge: Tuple[str, ...] = ()  # ids of the business knowledge models it invokes


@dataclass(frozen=True)
class BusinessKnowledgeModel:
    """A BKM: a function (named by its variable) of ``params`` over a literal expression or
    decision table, invoked from FEEL as ``name(args)``."""

    id: str
    name: str
    params: Tuple[str, ...]
    logic: Any                # DecisionTable | LiteralExpression
    knowledge: Tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionGraph:
    """One DMN resource: its decision requirements graph (the <definitions>) and decisions."""

    id: str
    name: str
    decisions: Tuple[Decision, ...]
    knowledge_models: Tuple[BusinessKnowledgeModel, ...] = ()
    resource_name: str = ""
    checksum: str = ""
    resource: bytes = field(repr=False, default=b"")

    def knowledge_model(self, bkm_id: str) -> Optional[BusinessKnowledgeModel]:
        for k in self.knowledge_models:
            if k.id == bkm_id:
                return k
        return None

    def decision(self, decision_id: str) -> Optional[Decision]:
        for d in self.decisions:
            if d.id == decision_id:
                return d
        return None
