"""The business rule task: ``zeebe:calledDecision`` evaluates the latest version of a deployed
decision and completes with ``{resultVariable: output}``; with ``zeebe:taskDefinition`` instead,
it is a job like a service task (as Zeebe does)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import state
from ..dmn import evaluation
from ..expressions import feel, type_name
from ..variables import visible
from .tasks import JobTask

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["BusinessRuleTask"]


class BusinessRuleTask(JobTask):
    def __init__(self) -> None:
        super().__init__("BUSINESS_RULE_TASK")

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        if element.called_decision is None:
            engine._create_job(ei)
            return
        assert element.result_variable is not None
        variables = visible(ei)
        decision_id = element.called_decision.evaluate(variables)
        if not isinstance(decision_id, str):
            raise state.StepFailure(
                "EXTRACT_VALUE_ERROR", f"Expected result of the expression '{element.called_decision.expression_text}' "
                f"to be 'STRING', but was '{type_name(decision_id)}'.")
        try:
            deployed = engine._find_decision(decision_id, -1, ei.instance.definition.tenant_id)
        except LookupError as exc:  # NotFoundError: Zeebe's CALLED_DECISION_ERROR incident
            raise state.StepFailure(
                "CALLED_DECISION_ERROR", f"Expected to evaluate decision '{decision_id}', but no decision found "
                f"for id '{decision_id}'") from exc
        # Under the engine lock, as every step: a decision is bounded by FEEL's own limits.
        result = evaluation.evaluate(deployed.graph, deployed.decision_id, variables)
        engine._record_decision_evaluation(deployed, result, ei)
        if result.failed:
            raise state.StepFailure("DECISION_EVALUATION_ERROR", result.failure_message)
        engine._activated(ei)
        engine._complete(ei, {element.result_variable: feel.to_json(result.output)})
