"""DMN decisions for the embedded engine: parse (:mod:`.parser`), evaluate (:mod:`.evaluation`),
and the deployed versions (:mod:`.registry`, a mixin of the engine)."""
from __future__ import annotations

from zeebe_affinity_sync.engine.dmn.evaluation import DecisionResult, EvaluatedDecision, evaluate
from zeebe_affinity_sync.engine.dmn.model import Decision, DecisionGraph
from zeebe_affinity_sync.engine.dmn.parser import DmnParseError, parse_dmn

__all__ = ["DmnParseError", "parse_dmn", "evaluate", "DecisionResult", "EvaluatedDecision", "Decision",
           "DecisionGraph"]
