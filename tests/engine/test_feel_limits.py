"""Bounded cost of FEEL: compile-time limits refuse the deployment, run-time limits fail the
evaluation (an incident) instead of freezing the engine, and messages never quote a huge
expression whole."""
from __future__ import annotations

import pytest

from zeebe_affinity_sync.engine.feel import FeelEvaluationError, FeelSyntaxError, compile_expression, evaluate
from zeebe_affinity_sync.engine.feel import limits


def test_an_overlong_expression_is_refused_and_not_quoted_whole() -> None:
    text = "= " + " + ".join(["a"] * 40_000)
    with pytest.raises(FeelSyntaxError) as caught:
        compile_expression(text)
    message = str(caught.value)
    assert "longer than 100,000 characters" in message
    assert len(message) < 600 and "characters>" in message


def test_a_huge_range_in_a_loop_fails_the_evaluation() -> None:
    with pytest.raises(FeelEvaluationError, match="more than"):
        evaluate("= for i in 1..100000000 return i", {})


def test_nested_loops_stop_at_the_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_STEPS", 10_000)
    expression = compile_expression("= for i in 1..200 return for j in 1..200 return i * j")
    with pytest.raises(FeelEvaluationError, match="loop steps"):
        expression.evaluate({})
    assert len(evaluate("= for i in 1..50 return for j in 1..50 return i * j", {})) == 50  # budget per evaluation


def test_runaway_recursion_fails_the_evaluation() -> None:
    with pytest.raises(FeelEvaluationError, match="nested too deeply"):
        evaluate("= {f: function(n) f(n + 1)}.f(1)", {})


def test_list_functions_handle_large_inputs_with_feel_equality() -> None:
    big = [i % 1000 for i in range(200_000)] + [1.0, {"a": 1}, {"a": 1}]
    assert evaluate("= count(distinct values(l))", {"l": big}) == 1001
    assert evaluate("= count(duplicate values(l))", {"l": big}) == 1001
    assert evaluate("= count(index of(l, 7))", {"l": big}) == 200
    assert evaluate("= sort(l, function(x, y) x > y)[1]", {"l": list(range(100_000))}) == 99_999
    assert evaluate("= count(union(l, [5000]))", {"l": big}) == 1002


def test_runtime_error_messages_are_shortened_too() -> None:
    text = '= assert(1, false, "boom") + "' + "x" * 5000 + '"'
    with pytest.raises(FeelEvaluationError) as caught:
        evaluate(text, {})
    assert len(str(caught.value)) < 400 and "boom" in str(caught.value)


def test_in_a_process_a_runaway_expression_is_an_incident_not_a_frozen_engine(stub, zeebe) -> None:
    from . import bpmn_models as m
    from .helpers import create, deploy

    script = ('<bpmn:scriptTask id="rule"><bpmn:extensionElements><zeebe:script expression="= count(for i in '
              '1..100000000 return i)" resultVariable="n"/></bpmn:extensionElements></bpmn:scriptTask>')
    deploy(stub, "p.bpmn", m.process("p", '<bpmn:startEvent id="start"/>' + script + '<bpmn:endEvent id="end"/>'
                                     + m.chain("start", "rule", "end")))
    key = create(stub, "p")
    zeebe.wait_for_idle(timeout=10)
    incidents = [i for i in zeebe.incidents() if i["process_instance_key"] == key]
    assert [i["error_type"] for i in incidents] == ["EXTRACT_VALUE_ERROR"]
    assert "more than 5,000,000 items" in incidents[0]["error_message"]


def test_an_overlong_expression_refuses_the_deployment(stub) -> None:
    import grpc

    from . import bpmn_models as m
    from .helpers import deploy, rpc_error

    long_condition = "= " + " or ".join(["x = 1"] * 20_000)
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw" default="f2"/><bpmn:endEvent id="a"/>'
            '<bpmn:endEvent id="b"/>' + m.flow("f0", "start", "gw") + m.flow("f1", "gw", "a", long_condition)
            + m.flow("f2", "gw", "b"))
    details = rpc_error(lambda: deploy(stub, "p.bpmn", m.process("p", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "longer than 100,000 characters" in details and len(details) < 2000
