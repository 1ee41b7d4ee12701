"""Deployed decisions: versions per decision id and per decision requirements graph (DRG), and
evaluation by id (latest version) or key. A mixin of the engine (through ``DeploymentsMixin``).

Versioning follows Zeebe: a DMN resource deployed again under the same name with byte-identical
content is a duplicate (the existing versions are returned); anything else is a new version of
its DRG and of each of its decisions. State lives in one :class:`DecisionStore`, guarded by the
engine lock, created on first use.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from zeebe_affinity_sync.engine import rejections
from zeebe_affinity_sync.engine.dmn import evaluation, model
from zeebe_affinity_sync.engine.tenancy import DEFAULT_TENANT

if TYPE_CHECKING:  # pragma: no cover
    from zeebe_affinity_sync.engine.runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["DeployedDecision", "DeployedDecisionRequirements", "DecisionStore", "DecisionsMixin", "result_fields"]


@dataclass(frozen=True)
class DeployedDecisionRequirements:
    key: int
    decision_requirements_id: str
    name: str
    version: int
    resource_name: str
    checksum: str
    deployment_key: int
    graph: model.DecisionGraph
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class DeployedDecision:
    key: int
    decision_id: str
    name: str
    version: int
    decision_requirements_id: str
    decision_requirements_key: int
    deployment_key: int
    graph: model.DecisionGraph
    tenant_id: str = DEFAULT_TENANT


@dataclass
class DeployedResources:
    """What a deployment added or found for its DMN resources (for the response)."""

    decisions: List[DeployedDecision]
    requirements: List[DeployedDecisionRequirements]


class DecisionStore:
    """Decision versions, per tenant: ``requirements`` and ``decisions`` are keyed by
    ``(tenant id, DRG or decision id)``; keys are unique across tenants. Guarded by the engine
    lock; owned by whichever thread holds it."""

    def __init__(self) -> None:
        self.requirements: Dict[Tuple[str, str], List[DeployedDecisionRequirements]] = {}
        self.decisions: Dict[Tuple[str, str], List[DeployedDecision]] = {}
        self.by_key: Dict[int, DeployedDecision] = {}
        # drg key -> decision id -> the deployed version of that decision in this DRG version
        self.by_graph: Dict[int, Dict[str, DeployedDecision]] = {}


def result_fields(deployed: DeployedDecision, result: evaluation.DecisionResult,
                  siblings: Mapping[str, DeployedDecision]) -> Dict[str, Any]:
    """An evaluation as plain snake_case data (the DECISION_EVALUATION record's value fields)."""
    from zeebe_affinity_sync.engine.feel import to_json

    evaluated = []
    for decision in result.evaluated:
        version = siblings.get(decision.decision_id, deployed)
        evaluated.append({
            "decision_key": version.key, "decision_id": decision.decision_id,
            "decision_name": decision.decision_name, "decision_version": version.version,
            "decision_type": decision.decision_type, "decision_output": to_json(decision.output),
            "evaluated_inputs": [{"input_id": i, "input_name": n, "input_value": to_json(v)}
                                 for i, n, v in decision.inputs],
            "matched_rules": [{"rule_id": r.rule_id, "rule_index": r.rule_index, "evaluated_outputs": [
                {"output_id": o, "output_name": n, "output_value": to_json(v)} for o, n, v in r.outputs]}
                for r in decision.matched_rules],
        })
    return {
        "decision_key": deployed.key, "decision_id": deployed.decision_id, "decision_name": deployed.name,
        "decision_version": deployed.version, "decision_requirements_id": deployed.decision_requirements_id,
        "decision_requirements_key": deployed.decision_requirements_key,
        "decision_output": None if result.failed else to_json(result.output),
        "evaluated_decisions": evaluated, "failed_decision_id": result.failed_decision_id,
        "evaluation_failure_message": result.failure_message,
    }


class DecisionsMixin:
    def _decision_store(self: "Engine") -> DecisionStore:
        store = self.__dict__.get("_dmn_store")
        if store is None:
            store = self.__dict__["_dmn_store"] = DecisionStore()
            hooks = getattr(self, "_reset_hooks", None)
            if hooks is not None and self._drop_decisions not in hooks:
                hooks.append(self._drop_decisions)  # reset(): back to no decisions
        return store

    def _drop_decisions(self: "Engine") -> None:
        self.__dict__.pop("_dmn_store", None)

    def _record_decision_evaluation(self: "Engine", deployed: DeployedDecision, result: evaluation.DecisionResult,
                                    ei: Any = None) -> None:
        """A DECISION_EVALUATION record (EVALUATED or FAILED), as Zeebe writes it. Lock held."""
        siblings = self._decision_store().by_graph.get(deployed.decision_requirements_key, {})
        fields = result_fields(deployed, result, siblings)
        instance = ei.instance if ei is not None else None
        definition = instance.definition if instance is not None else None
        fields.update({
            "bpmn_process_id": definition.bpmn_process_id if definition is not None else "",
            "process_definition_key": definition.key if definition is not None else -1,
            "process_instance_key": instance.key if instance is not None else -1,
            "element_id": ei.element.id if ei is not None and ei.element is not None else "",
            "element_instance_key": ei.key if ei is not None else -1,
            "tenant_id": deployed.tenant_id,
        })
        self._rec("DECISION_EVALUATION", "FAILED" if result.failed else "EVALUATED", self._next_key(), fields)

    def _deploy_decision_graphs(self: "Engine", deployment_key: int, graphs: Sequence[model.DecisionGraph],
                                tenant_id: str = DEFAULT_TENANT) -> DeployedResources:
        """Version parsed DMN resources in ``tenant_id``. Call with the engine lock held."""
        store = self._decision_store()
        out = DeployedResources([], [])
        for graph in graphs:
            versions = store.requirements.setdefault((tenant_id, graph.id), [])
            latest = versions[-1] if versions else None
            if latest is not None and latest.resource_name == graph.resource_name and latest.checksum == graph.checksum:
                out.requirements.append(latest)
                out.decisions.extend(store.decisions[(tenant_id, d.id)][-1] for d in graph.decisions
                                     if store.decisions.get((tenant_id, d.id)))
                continue
            drg = DeployedDecisionRequirements(
                key=self._next_key(), decision_requirements_id=graph.id, name=graph.name,
                version=len(versions) + 1, resource_name=graph.resource_name, checksum=graph.checksum,
                deployment_key=deployment_key, graph=graph, tenant_id=tenant_id)
            versions.append(drg)
            out.requirements.append(drg)
            for decision in graph.decisions:
                decision_versions = store.decisions.setdefault((tenant_id, decision.id), [])
                deployed = DeployedDecision(
                    key=self._next_key(), decision_id=decision.id, name=decision.name,
                    version=len(decision_versions) + 1, decision_requirements_id=graph.id,
                    decision_requirements_key=drg.key, deployment_key=deployment_key, graph=graph,
                    tenant_id=tenant_id)
                decision_versions.append(deployed)
                store.by_key[deployed.key] = deployed
                store.by_graph.setdefault(drg.key, {})[decision.id] = deployed
                out.decisions.append(deployed)
                self._lock.log_later(logger, logging.INFO, "deployed decision '%s' version %d (key %d) from '%s'",
                                     decision.id, deployed.version, deployed.key, graph.resource_name)
        return out

    def _find_decision(self: "Engine", decision_id: str, decision_key: int,
                       tenant_id: str = DEFAULT_TENANT) -> DeployedDecision:
        """The latest version of ``decision_id``, or the decision with ``decision_key``, in
        ``tenant_id`` (a decision of another tenant is not found).

        Raises:
            NotFoundError: No such decision (Zeebe's rejection wording).
        """
        store = self._decision_store()
        if decision_id:
            versions = store.decisions.get((tenant_id, decision_id))
            if not versions:
                raise rejections.not_found(
                    "EVALUATE", f"Expected to evaluate decision '{decision_id}', but no decision found for "
                    f"id '{decision_id}'")
            return versions[-1]
        if decision_key > 0:
            found = store.by_key.get(decision_key)
            if found is None or found.tenant_id != tenant_id:
                raise rejections.not_found(
                    "EVALUATE", f"Expected to evaluate decision with key '{decision_key}', but no decision "
                    "found for key")
            return found
        raise rejections.invalid(
            "EVALUATE", "Expected either a decision id or a valid decision key, but none provided")

    def evaluate_decision(self: "Engine", decision_id: str = "", variables: Optional[Mapping[str, Any]] = None,
                          *, decision_key: int = -1, tenant_id: str = DEFAULT_TENANT,
                          ) -> Tuple[DeployedDecision, evaluation.DecisionResult]:
        """Evaluate the latest version of ``decision_id`` (or the decision ``decision_key``).

        The decision is looked up under the engine lock; the evaluation runs outside it (a
        deployed decision is immutable), so a slow table does not stop other clients.

        Returns:
            The deployed decision and the result (which carries a failure, if any).

        Raises:
            NotFoundError: No such decision.
            InvalidArgumentError: Neither an id nor a key.
        """
        with self._lock:
            deployed = self._find_decision(decision_id, decision_key, tenant_id)
            siblings = dict(self._decision_store().by_graph.get(deployed.decision_requirements_key, {}))
        result = evaluation.evaluate(deployed.graph, deployed.decision_id, dict(variables or {}))
        result.deployed = siblings
        with self._lock:
            self._record_decision_evaluation(deployed, result)
        return deployed, result

    def decisions(self: "Engine") -> List[Dict[str, Any]]:
        """Every deployed decision version, as plain dicts (inspection)."""
        with self._lock:
            store = self._decision_store()
            return [{"decision_key": d.key, "decision_id": d.decision_id, "name": d.name, "version": d.version,
                     "decision_requirements_id": d.decision_requirements_id,
                     "decision_requirements_key": d.decision_requirements_key, "tenant_id": d.tenant_id}
                    for versions in store.decisions.values() for d in versions]
