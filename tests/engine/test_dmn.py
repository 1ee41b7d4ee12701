"""DMN decisions: parsing and validation, hit policies, unary tests, required decisions,
versions on deploy, and EvaluateDecision through gRPC and through the real zbctl."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict

import grpc
import pytest

from zeebe_affinity_sync.engine import dmn
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import dmn_models as d
from .test_zbctl import ZBCTL

FILES = Path(__file__).parent / "dmn"


def run(xml: bytes, decision_id: str, variables: Dict[str, Any]) -> dmn.DecisionResult:
    return dmn.evaluate(dmn.parse_dmn("test.dmn", xml), decision_id, variables)


def output(xml: bytes, decision_id: str, variables: Dict[str, Any]) -> Any:
    result = run(xml, decision_id, variables)
    assert not result.failed, result.failure_message
    return result.output


SEASON = d.definitions(d.table("dish", ["season", "guests"], ["dish"], [
    (['"Fall"', "<= 8"], ['"Spareribs"']),
    (['"Winter"', "<= 8"], ['"Roastbeef"']),
    (['"Spring"', "<= 4"], ['"Dry Aged Gourmet Steak"']),
    (['"Spring"', "[5..8]"], ['"Steak"']),
    (['"Fall", "Winter", "Spring"', "> 8"], ['"Stew"']),
    (['"Summer"', "-"], ['"Light Salad and a nice Steak"']),
]))


# ------------------------------------------------------------------------------ hit policies

@pytest.mark.parametrize("variables, dish", [
    ({"season": "Fall", "guests": 4}, "Spareribs"), ({"season": "Spring", "guests": 3}, "Dry Aged Gourmet Steak"),
    ({"season": "Spring", "guests": 8}, "Steak"), ({"season": "Winter", "guests": 12}, "Stew"),
    ({"season": "Summer", "guests": 100}, "Light Salad and a nice Steak"), ({"season": "Monsoon", "guests": 1}, None),
])
def test_unique(variables: Dict[str, Any], dish: Any) -> None:
    assert output(SEASON, "dish", variables) == dish


def test_unique_with_two_matches_fails_naming_the_rules() -> None:
    xml = d.definitions(d.table("t", ["x"], ["y"], [([">1"], ['"a"']), ([">2"], ['"b"'])]))
    result = run(xml, "t", {"x": 5})
    assert result.failed and result.failed_decision_id == "t" and result.output is None
    assert "UNIQUE" in result.failure_message and "rule1" in result.failure_message


def test_first_takes_the_first_match_only() -> None:
    xml = d.definitions(d.table("t", ["x"], ["y"], [([">1"], ['"a"']), ([">2"], ['"b"'])], hit_policy="FIRST"))
    result = run(xml, "t", {"x": 5})
    assert result.output == "a" and [r.rule_index for r in result.evaluated[0].matched_rules] == [1]


def test_any_accepts_equal_outputs_and_fails_on_different_ones() -> None:
    same = d.definitions(d.table("t", ["x"], ["y"], [([">1"], ['"a"']), ([">2"], ['"a"'])], hit_policy="ANY"))
    assert output(same, "t", {"x": 5}) == "a"
    different = d.definitions(d.table("t", ["x"], ["y"], [([">1"], ['"a"']), ([">2"], ['"b"'])], hit_policy="ANY"))
    result = run(different, "t", {"x": 5})
    assert result.failed and "ANY" in result.failure_message


def test_rule_order_and_collect_give_lists_in_rule_order() -> None:
    rules = [([">1"], ["10"]), ([">2"], ["20"]), ([">100"], ["30"]), (["-"], ["5"])]
    for policy in ("RULE ORDER", "COLLECT"):
        xml = d.definitions(d.table("t", ["x"], ["y"], rules, hit_policy=policy))
        assert output(xml, "t", {"x": 5}) == [10, 20, 5]
        assert output(xml, "t", {"x": 0}) == [5]


@pytest.mark.parametrize("aggregation, expected, empty", [("SUM", 35, None), ("MIN", 5, None), ("MAX", 20, None),
                                                         ("COUNT", 3, 0)])
def test_collect_aggregations(aggregation: str, expected: Any, empty: Any) -> None:
    rules = [([">1"], ["10"]), ([">2"], ["20"]), ([">100"], ["30"]), ([">=0"], ["5"])]
    xml = d.definitions(d.table("t", ["x"], ["y"], rules, hit_policy="COLLECT", aggregation=aggregation))
    assert output(xml, "t", {"x": 5}) == expected
    assert output(xml, "t", {"x": -1}) == empty


def test_several_outputs_give_a_context_and_lists_of_contexts() -> None:
    rules = [(["<10"], ['"small"', "1"]), (["<100"], ['"medium"', "2"])]
    unique = d.definitions(d.table("t", ["x"], ["size", "rank"], rules, hit_policy="FIRST"))
    assert output(unique, "t", {"x": 5}) == {"size": "small", "rank": 1}
    collect = d.definitions(d.table("t", ["x"], ["size", "rank"], rules, hit_policy="COLLECT"))
    assert output(collect, "t", {"x": 5}) == [{"size": "small", "rank": 1}, {"size": "medium", "rank": 2}]


# ------------------------------------------------------------------------------ unary tests

@pytest.mark.parametrize("entry, value, matches", [
    ("-", 42, True), ("", None, True), ("5", 5, True), ("5", 6, False), ('"a","b"', "b", True),
    ('"a","b"', "c", False), ("[1..10]", 10, True), ("[1..10)", 10, False), ("]1..10]", 1, False),
    ("(1..10)", 5, True), ("< 5", 4, True), ("<= 5", 5, True), ("> 5", 5, False), (">= 5", 5, True),
    ("!= 5", 4, True), ('not("a")', "b", True), ('not("a")', "a", False), ("not(1, 2)", 3, True),
    ("not([1..5])", 3, False), ("? > limit", 7, True), ("? > limit", 3, False),
    ("? * 2 = 10", 5, True), ("limit", 5, True), ('starts with(?, "ab")', "abc", True),
    ("[1, 2, 3]", 2, True), ("null", None, True), ("true", True, True), ("false", True, False),
    ('date("2020-01-01")', "x", False), ('< date("2020-01-01")', '', False),
    ("> 5, < 0", -1, True), ("list contains(?, 2)", [1, 2], True),
])
def test_input_entries_as_feel_unary_tests(entry: str, value: Any, matches: bool) -> None:
    xml = d.definitions(d.table("t", ["input"], ["y"], [([entry], ['"hit"'])], hit_policy="FIRST"))
    assert output(xml, "t", {"input": value, "limit": 5}) == ("hit" if matches else None)


def test_input_values_and_output_entries_are_feel_expressions() -> None:
    xml = d.definitions(d.table("t", ["amount * 2", "upper case(name)"], ["total", "label"],
                                [(["> 10", '"BO"'], ["amount * 2 + fee", 'name + "!"'])], hit_policy="FIRST"))
    result = run(xml, "t", {"amount": 6, "name": "bo", "fee": 0.5})
    assert result.output == {"total": 12.5, "label": "bo!"}
    assert result.evaluated[0].inputs == [("in1", "Input 1", 12), ("in2", "Input 2", "BO")]
    assert result.evaluated[0].matched_rules[0].outputs == [("out1", "total", 12.5), ("out2", "label", "bo!")]


# ------------------------------------------------------------------------------ required decisions, literals

def test_required_decisions_are_evaluated_first_and_visible_by_id() -> None:
    xml = d.definitions(
        d.literal("base", "amount * 2"),
        d.literal("bonus", "if base > 10 then 5 else 0", required=["base"]),
        d.table("final", ["base + bonus"], ["result"], [([">= 20"], ['"big"']), (["< 20"], ['"small"'])],
                required=["base", "bonus"]),
    )
    result = run(xml, "final", {"amount": 8})
    assert result.output == "big"
    assert [e.decision_id for e in result.evaluated] == ["base", "bonus", "final"]
    assert [e.decision_type for e in result.evaluated] == ["LITERAL_EXPRESSION", "LITERAL_EXPRESSION",
                                                           "DECISION_TABLE"]
    assert [e.output for e in result.evaluated] == [16, 5, "big"]


def test_a_failing_required_decision_names_itself() -> None:
    xml = d.definitions(d.literal("broken", 'assert(x, x > 0, "x must be positive")'),
                        d.literal("top", "broken + 1", required=["broken"]))
    result = run(xml, "top", {"x": -1})
    assert result.failed and result.failed_decision_id == "broken"
    assert "x must be positive" in result.failure_message


def test_real_dmn_files() -> None:
    force = (FILES / "drg-force-user.dmn").read_bytes()
    assert output(force, "force_user", {"lightsaberColor": "blue", "height": 185}) == "Obi-Wan Kenobi"
    assert output(force, "force_user", {"lightsaberColor": "red", "height": 183}) == "Darth Sidius"
    assert output(force, "force_user", {"lightsaberColor": "purple", "height": 183}) == "unknown"
    risk = (FILES / "riskRating.dmn").read_bytes()
    assert output(risk, "risk", {"age": 24, "vehicleManufacturer": "Porsche", "vehicleModel": "p911"}) == \
        {"group": "red", "comment": "Not an option"}
    assert output(risk, "risk", {"age": 40, "vehicleManufacturer": "BMW", "vehicleModel": "X3"}) == \
        {"group": "yellow", "comment": "Fast car"}
    assert output(risk, "risk", {"age": 40, "vehicleManufacturer": "BMW", "vehicleModel": "i3"}) == \
        {"group": "green", "comment": ""}
    demo = (FILES / "demoDecision.dmn").read_bytes()
    assert output(demo, "demoDecision_jedi_or_sith", {"lightsaberColor": "green"}) == "Jedi"


# ------------------------------------------------------------------------------ refused at deploy

@pytest.mark.parametrize("xml, message", [
    (b"<definitions", "failed to parse XML"),
    (b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="x"/>', "DMN 'definitions'"),
    (d.definitions(d.table("t", ["x"], ["y"], [(["1"], ["2"])], hit_policy="PRIORITY")), "'PRIORITY' is not supported"),
    (d.definitions(d.table("t", ["x"], ["y"], [(["1"], ["2"])], hit_policy="OUTPUT ORDER")),
     "'OUTPUT ORDER' is not supported"),
    (d.definitions(d.table("t", ["x"], ["y"], [(["1 +"], ["2"])])), "decision 't' rule 'rule1' input entry 1"),
    (d.definitions(d.table("t", ["x"], ["y"], [(["1"], ["2 +"])])), "decision 't' rule 'rule1' output entry 1"),
    (d.definitions(d.table("t", ["x +"], ["y"], [(["1"], ["2"])])), "decision 't' input 'in1'"),
    (d.definitions(d.table("t", ["x"], ["y"], [(["1", "2"], ["2"])])), "has 2 input and 1 output entries"),
    (d.definitions(d.literal("a", "1", required=["missing"])), "requires decision 'missing'"),
    (d.definitions(d.literal("a", "b", required=["b"]), d.literal("b", "a", required=["a"])), "cycle"),
    (d.definitions(d.table("t", ["x"], ["y"], [(["1"], ["2"])], hit_policy="RULE ORDER", aggregation="SUM")),
     "needs the hit policy COLLECT"),
    (d.definitions(), "contains no decision"),
])
def test_invalid_dmn_is_refused_saying_what_and_where(xml: bytes, message: str) -> None:
    with pytest.raises(dmn.DmnParseError, match=message.replace("(", r"\(").replace("+", r"\+")):
        dmn.parse_dmn("bad.dmn", xml)


def test_unsafe_xml_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><definitions>&a;</definitions>'
    with pytest.raises(dmn.DmnParseError, match="unsafe XML"):
        dmn.parse_dmn("bomb.dmn", bomb)


# ------------------------------------------------------------------------------ through the gateway

def deploy(stub: Any, *resources: Any) -> pb.DeployResourceResponse:
    return stub.DeployResource(pb.DeployResourceRequest(resources=[
        pb.Resource(name=name, content=content) for name, content in resources]), timeout=10)


def test_deploy_resource_answers_decisions_and_requirements_and_versions_them(stub: Any) -> None:
    force = (FILES / "drg-force-user.dmn").read_bytes()
    first = deploy(stub, ("drg-force-user.dmn", force))
    drgs = [e.decisionRequirements for e in first.deployments if e.HasField("decisionRequirements")]
    decisions = [e.decision for e in first.deployments if e.HasField("decision")]
    assert [(r.dmnDecisionRequirementsId, r.dmnDecisionRequirementsName, r.version, r.resourceName)
            for r in drgs] == [("force_users", "force_users", 1, "drg-force-user.dmn")]
    assert [(x.dmnDecisionId, x.dmnDecisionName, x.version, x.dmnDecisionRequirementsId) for x in decisions] == [
        ("jedi_or_sith", "Jedi or Sith", 1, "force_users"), ("force_user", "Which force user?", 1, "force_users")]
    assert all(x.decisionRequirementsKey == drgs[0].decisionRequirementsKey for x in decisions)
    again = deploy(stub, ("drg-force-user.dmn", force))  # duplicate: the same versions and keys
    assert [e.decision.decisionKey for e in again.deployments if e.HasField("decision")] == \
        [x.decisionKey for x in decisions]
    changed = deploy(stub, ("drg-force-user.dmn", force.replace(b'"Mace Windu"', b'"Mace"')))
    assert [e.decision.version for e in changed.deployments if e.HasField("decision")] == [2, 2]


def test_evaluate_decision_over_grpc_gives_zeebes_response(stub: Any) -> None:
    deploy(stub, ("drg-force-user.dmn", (FILES / "drg-force-user.dmn").read_bytes()))
    response = stub.EvaluateDecision(pb.EvaluateDecisionRequest(
        decisionId="force_user", variables=json.dumps({"lightsaberColor": "blue", "height": 195})), timeout=10)
    assert (response.decisionId, response.decisionName, response.decisionVersion) == \
        ("force_user", "Which force user?", 1)
    assert json.loads(response.decisionOutput) == "Mace Windu"
    assert response.decisionRequirementsId == "force_users" and not response.failedDecisionId
    first, second = response.evaluatedDecisions
    assert (first.decisionId, first.decisionType, json.loads(first.decisionOutput)) == \
        ("jedi_or_sith", "DECISION_TABLE", "Jedi")
    assert [(i.inputId, i.inputName, json.loads(i.inputValue)) for i in first.evaluatedInputs] == \
        [("Input_1", "Lightsaber color", "blue")]
    assert [(r.ruleId, r.ruleIndex) for r in second.matchedRules] == [("DecisionRule_13zidc5", 1)]
    assert [(o.outputId, o.outputName, json.loads(o.outputValue)) for o in second.matchedRules[0].evaluatedOutputs] \
        == [("OutputClause_0hhe1yo", "force_user", "Mace Windu")]
    by_key = stub.EvaluateDecision(pb.EvaluateDecisionRequest(decisionKey=response.decisionKey, variables="{}"))
    assert json.loads(by_key.decisionOutput) == "unknown"


def test_evaluate_decision_failures_and_rejections(stub: Any) -> None:
    deploy(stub, ("broken.dmn", d.definitions(d.literal("broken", 'assert(x, x > 0, "x must be positive")'))))
    failed = stub.EvaluateDecision(pb.EvaluateDecisionRequest(decisionId="broken", variables='{"x": -1}'))
    assert failed.failedDecisionId == "broken" and "x must be positive" in failed.failureMessage
    with pytest.raises(grpc.RpcError) as caught:
        stub.EvaluateDecision(pb.EvaluateDecisionRequest(decisionId="nope", variables="{}"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "no decision found for id 'nope'" in caught.value.details()


def test_invalid_dmn_is_refused_by_deploy_resource(stub: Any) -> None:
    bad = d.definitions(d.table("t", ["x"], ["y"], [(["1"], ["2"])], hit_policy="PRIORITY"))
    with pytest.raises(grpc.RpcError) as caught:
        deploy(stub, ("bad.dmn", bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'bad.dmn'" in caught.value.details() and "PRIORITY" in caught.value.details()


@pytest.mark.skipif(ZBCTL is None, reason="zbctl not found")
def test_evaluate_decision_through_zbctl(zeebe: Any) -> None:
    def zbctl(*args: str) -> Any:
        done = subprocess.run([ZBCTL, "--insecure", "--address", zeebe.address, *args],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    deployed = zbctl("deploy", "resource", str(FILES / "riskRating.dmn"))
    assert any(e.get("decision", {}).get("dmnDecisionId") == "risk" for e in deployed["deployments"])
    result = zbctl("evaluate", "decision", "risk", "--variables",
                   json.dumps({"age": 24, "vehicleManufacturer": "Porsche", "vehicleModel": "p911"}))
    assert result["decisionId"] == "risk"
    assert json.loads(result["decisionOutput"]) == {"group": "red", "comment": "Not an option"}
    assert result["evaluatedDecisions"][0]["matchedRules"][0]["ruleIndex"] == 1


def test_a_required_decision_with_a_variable_is_visible_by_the_variable_name() -> None:
    xml = d.definitions(d.literal("base", "amount * 2", variable="baseAmount"),
                        d.literal("top", "baseAmount + 1", required=["base"]))
    assert output(xml, "top", {"amount": 4}) == 9


def test_camunda_7_style_dmn_1_1_with_an_input_variable() -> None:
    xml = (b'<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn11.xsd" '
           b'xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="d" name="D" namespace="x">'
           b'<decision id="t" name="T"><decisionTable id="dt" hitPolicy="FIRST">'
           b'<input id="i1" camunda:inputVariable="amount"><inputExpression id="e1"><text>order.total</text>'
           b'</inputExpression></input><output id="o1" name="level"/>'
           b'<rule id="r1"><inputEntry id="x1"><text>amount &gt; limit</text></inputEntry>'
           b'<outputEntry id="y1"><text>"high"</text></outputEntry></rule>'
           b'<rule id="r2"><inputEntry id="x2"><text/></inputEntry><outputEntry id="y2"><text>"low"</text>'
           b'</outputEntry></rule></decisionTable></decision></definitions>')
    assert output(xml, "t", {"order": {"total": 500}, "limit": 100}) == "high"
    assert output(xml, "t", {"order": {"total": 50}, "limit": 100}) == "low"


def test_a_non_feel_expression_language_is_refused() -> None:
    xml = d.definitions(d.table("t", ["x"], ["y"], [(["1"], ["2"])])).replace(
        b'<inputExpression id="ie1">', b'<inputExpression id="ie1" expressionLanguage="juel">')
    with pytest.raises(dmn.DmnParseError, match="expression language 'juel' is not supported"):
        dmn.parse_dmn("juel.dmn", xml)


def test_business_knowledge_models_are_functions_for_the_decisions() -> None:
    xml = d.definitions(
        '<businessKnowledgeModel id="bkm_fee" name="fee"><variable id="v_fee" name="fee"/><encapsulatedLogic>'
        '<formalParameter id="p1" name="amount"/><literalExpression id="l1"><text>amount * rate</text>'
        '</literalExpression></encapsulatedLogic></businessKnowledgeModel>'
        '<businessKnowledgeModel id="bkm_band" name="band"><encapsulatedLogic><formalParameter id="p2" name="x"/>'
        '<decisionTable id="bt" hitPolicy="FIRST"><input id="bi"><inputExpression id="bie"><text>x</text>'
        '</inputExpression></input><output id="bo" name="b"/><rule id="br1"><inputEntry id="e1"><text>&lt; 10'
        '</text></inputEntry><outputEntry id="o1"><text>"low"</text></outputEntry></rule><rule id="br2">'
        '<inputEntry id="e2"><text>-</text></inputEntry><outputEntry id="o2"><text>"high"</text></outputEntry>'
        '</rule></decisionTable></encapsulatedLogic></businessKnowledgeModel>'
        '<decision id="total" name="Total"><knowledgeRequirement id="k1"><requiredKnowledge href="#bkm_fee"/>'
        '</knowledgeRequirement><knowledgeRequirement id="k2"><requiredKnowledge href="#bkm_band"/>'
        '</knowledgeRequirement><literalExpression id="t"><text>{fee: fee(price), band: band(fee(price))}'
        '</text></literalExpression></decision>')
    assert output(xml, "total", {"price": 50, "rate": 0.1}) == {"fee": 5, "band": "low"}
    assert output(xml, "total", {"price": 500, "rate": 0.1}) == {"fee": 50, "band": "high"}


def test_evaluate_decision_from_python(zeebe: Any) -> None:
    zeebe.deploy(FILES / "drg-force-user.dmn")
    result = zeebe.evaluate_decision("force_user", {"lightsaberColor": "red", "height": 210})
    assert result["decision_output"] == "Darth Vader" and result["failed_decision_id"] == ""
    assert [e["decision_id"] for e in result["evaluated_decisions"]] == ["jedi_or_sith", "force_user"]
    assert {d["decision_id"] for d in zeebe.decisions()} == {"jedi_or_sith", "force_user"}
