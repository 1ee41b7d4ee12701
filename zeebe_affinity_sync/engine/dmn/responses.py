"""Decisions as gateway messages: the DeployResource entries and the EvaluateDecision response,
field for field as Zeebe 8.8 fills them. The one place DMN results meet protobuf."""
from __future__ import annotations

import json
from typing import Any, List

from zeebe_affinity_sync.engine.dmn.evaluation import DecisionResult
from zeebe_affinity_sync.engine.dmn.registry import DeployedDecision, DeployedResources
from zeebe_affinity_sync.engine.feel import to_json
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

__all__ = ["deployment_entries", "evaluate_decision_response", "json_value"]


def json_value(value: Any) -> str:
    """A FEEL value as the JSON text Zeebe puts in decision outputs and evaluated inputs."""
    return json.dumps(to_json(value), separators=(",", ":"))


def deployment_entries(resources: DeployedResources, tenant_id: str) -> List[pb.Deployment]:
    """The DMN entries of a DeployResource response: decisions, then decision requirements (the
    gateway lists processes, decisions, decision requirements, forms in that order)."""
    entries = [pb.Deployment(decision=pb.DecisionMetadata(
        dmnDecisionId=d.decision_id, dmnDecisionName=d.name, version=d.version, decisionKey=d.key,
        dmnDecisionRequirementsId=d.decision_requirements_id,
        decisionRequirementsKey=d.decision_requirements_key, tenantId=tenant_id))
        for d in resources.decisions]
    entries.extend(pb.Deployment(decisionRequirements=pb.DecisionRequirementsMetadata(
        dmnDecisionRequirementsId=d.decision_requirements_id, dmnDecisionRequirementsName=d.name,
        version=d.version, decisionRequirementsKey=d.key, resourceName=d.resource_name, tenantId=tenant_id))
        for d in resources.requirements)
    return entries


def evaluate_decision_response(deployed: DeployedDecision, result: DecisionResult,
                               tenant_id: str) -> pb.EvaluateDecisionResponse:
    evaluated = []
    for decision in result.evaluated:
        # Required decisions come from the same DRG version as the evaluated one.
        version = result.deployed.get(decision.decision_id, deployed)
        evaluated.append(pb.EvaluatedDecision(
            decisionKey=version.key, decisionId=decision.decision_id, decisionName=decision.decision_name,
            decisionVersion=version.version, decisionType=decision.decision_type,
            decisionOutput=json_value(decision.output),
            matchedRules=[pb.MatchedDecisionRule(ruleId=rule.rule_id, ruleIndex=rule.rule_index, evaluatedOutputs=[
                pb.EvaluatedDecisionOutput(outputId=oid, outputName=name, outputValue=json_value(value))
                for oid, name, value in rule.outputs]) for rule in decision.matched_rules],
            evaluatedInputs=[pb.EvaluatedDecisionInput(inputId=iid, inputName=name, inputValue=json_value(value))
                             for iid, name, value in decision.inputs],
            tenantId=tenant_id))
    return pb.EvaluateDecisionResponse(
        decisionKey=deployed.key, decisionId=deployed.decision_id, decisionName=deployed.name,
        decisionVersion=deployed.version, decisionRequirementsId=deployed.decision_requirements_id,
        decisionRequirementsKey=deployed.decision_requirements_key,
        decisionOutput="" if result.failed else json_value(result.output),
        evaluatedDecisions=evaluated, failedDecisionId=result.failed_decision_id,
        failureMessage=result.failure_message, tenantId=tenant_id)
