"""Business rule tasks: a called decision evaluated in a process (result variable, output
mappings, DECISION_EVALUATION records), its failures as incidents, and the job variant."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from . import dmn_models as d
from .helpers import activate_one, complete, create, create_with_result, deploy, rpc_error

FILES = Path(__file__).parent / "dmn"


def rule_task(task_id: str, decision_id: str, result: str, *, outputs: Any = ()) -> str:
    ext = f'<zeebe:calledDecision decisionId="{m.attr(decision_id)}" resultVariable="{result}"/>'
    ext += m.io_mapping((), outputs)
    return (f'<bpmn:businessRuleTask id="{task_id}"><bpmn:extensionElements>{ext}</bpmn:extensionElements>'
            "</bpmn:businessRuleTask>")


def rule_process(process_id: str, task: str) -> bytes:
    return m.process(process_id, '<bpmn:startEvent id="start"/>' + task + '<bpmn:endEvent id="end"/>'
                     + m.chain("start", "rule", "end"))


def deploy_force_users(stub: Any) -> None:
    deploy(stub, "drg-force-user.dmn", (FILES / "drg-force-user.dmn").read_bytes())


def test_the_decision_result_is_written_to_the_result_variable(stub: Any, zeebe: Any) -> None:
    deploy_force_users(stub)
    deploy(stub, "p.bpmn", rule_process("p", rule_task("rule", "force_user", "who")))
    result = create_with_result(stub, "p", {"lightsaberColor": "green", "height": 60})
    assert json.loads(result.variables)["who"] == "Yoda"
    records = zeebe.records(value_type="DECISION_EVALUATION")
    assert [(r["intent"], r["decision_id"], r["element_id"]) for r in records] == [("EVALUATED", "force_user", "rule")]
    assert records[0]["decision_output"] == "Yoda"
    assert [e["decision_id"] for e in records[0]["evaluated_decisions"]] == ["jedi_or_sith", "force_user"]
    assert records[0]["process_instance_key"] == result.processInstanceKey


def test_the_latest_version_is_evaluated_and_output_mappings_apply(stub: Any) -> None:
    deploy(stub, "discount.dmn", d.definitions(d.literal("discount", "amount * 0.1"), drg_id="discounts"))
    deploy(stub, "discount.dmn", d.definitions(d.literal("discount", "amount * 0.2"), drg_id="discounts"))
    deploy(stub, "p.bpmn", rule_process("p", rule_task("rule", "=decision", "d", outputs=[("=d + 1", "total")])))
    result = json.loads(create_with_result(stub, "p", {"amount": 50, "decision": "discount"}).variables)
    assert result["total"] == 11 and "d" not in result   # output mappings replace the merge, as in Zeebe


def test_a_failing_decision_raises_a_decision_evaluation_error_incident(stub: Any, zeebe: Any) -> None:
    xml = d.definitions(d.table("grade", ["score"], ["g"], [([">= 50"], ['"pass"']), ([">= 80"], ['"good"'])]))
    deploy(stub, "grade.dmn", xml)
    deploy(stub, "p.bpmn", rule_process("p", rule_task("rule", "grade", "g")))
    key = create(stub, "p", {"score": 90})
    zeebe.wait_for_idle(timeout=10)
    incidents = [i for i in zeebe.incidents() if i["process_instance_key"] == key]
    assert [(i["error_type"], i["element_id"]) for i in incidents] == [("DECISION_EVALUATION_ERROR", "rule")]
    assert "UNIQUE" in incidents[0]["error_message"] and "'grade'" in incidents[0]["error_message"]
    assert [r["intent"] for r in zeebe.records(value_type="DECISION_EVALUATION")] == ["FAILED"]
    # fix the data and resolve: the decision is evaluated again
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"score": 60}'), timeout=10)
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incidents[0]["key"]), timeout=10)
    zeebe.wait_for_idle(timeout=10)
    instance = zeebe.process_instance(key)
    assert instance is not None and instance["variables"]["g"] == "pass"


def test_a_missing_decision_raises_a_called_decision_error(stub: Any, zeebe: Any) -> None:
    deploy(stub, "p.bpmn", rule_process("p", rule_task("rule", "nowhere", "r")))
    key = create(stub, "p")
    zeebe.wait_for_idle(timeout=10)
    incidents = [i for i in zeebe.incidents() if i["process_instance_key"] == key]
    assert [i["error_type"] for i in incidents] == ["CALLED_DECISION_ERROR"]
    assert "no decision found for id 'nowhere'" in incidents[0]["error_message"]


def test_a_business_rule_task_with_a_job_definition_stays_a_job(stub: Any) -> None:
    task = ('<bpmn:businessRuleTask id="rule"><bpmn:extensionElements><zeebe:taskDefinition type="rules"/>'
            "</bpmn:extensionElements></bpmn:businessRuleTask>")
    deploy(stub, "p.bpmn", rule_process("p", task))
    key = create(stub, "p")
    job = activate_one(stub, "rules")
    assert job.processInstanceKey == key and job.elementId == "rule"
    complete(stub, job.key, {"done": True})


@pytest.mark.parametrize("extension, message", [
    ('<zeebe:calledDecision resultVariable="r"/>', "'decisionId' of 'zeebe:calledDecision'"),
    ('<zeebe:calledDecision decisionId="x"/>', "'resultVariable' of 'zeebe:calledDecision'"),
    ("", "zeebe:taskDefinition"),
])
def test_an_incomplete_business_rule_task_is_refused_at_deploy(stub: Any, extension: str, message: str) -> None:
    task = (f'<bpmn:businessRuleTask id="rule"><bpmn:extensionElements>{extension}</bpmn:extensionElements>'
            "</bpmn:businessRuleTask>")
    details = rpc_error(lambda: deploy(stub, "p.bpmn", rule_process("p", task)), grpc.StatusCode.INVALID_ARGUMENT)
    assert message in details
