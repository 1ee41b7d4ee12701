"""Deploy-time checks over real gRPC: what Zeebe refuses, and what the engine does not implement.

Every refusal is INVALID_ARGUMENT with Zeebe's rejection text: ``Expected to deploy new
resources, but encountered the following errors:`` then ``'<resource>': - Element: <id>`` and
``    - ERROR: <message>`` lines, every problem of the file in one answer.
"""
from __future__ import annotations

import json

import grpc
import pytest

from . import bpmn_models as m
from .helpers import activate_one, create, deploy, rpc_error


def refused(stub, content: bytes, name: str = "x.bpmn") -> str:
    return rpc_error(lambda: deploy(stub, name, content), grpc.StatusCode.INVALID_ARGUMENT)


def one_task(task: str, extra: str = "") -> bytes:
    body = '<bpmn:startEvent id="s"/>' + task + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "e")
    return m.process("x", body, extra=extra)


def test_static_condition_is_refused_as_zeebe_does(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="fb"/><bpmn:endEvent id="a"/>'
            '<bpmn:endEvent id="b"/>' + m.flow("f0", "s", "gw") + m.flow("fa", "gw", "a", "${approved}")
            + m.flow("fb", "gw", "b"))
    details = refused(stub, m.process("x", body))
    assert details.startswith("Command 'CREATE' rejected with code 'INVALID_ARGUMENT': Expected to deploy new "
                              "resources, but encountered the following errors:\n'x.bpmn': - Element: fa")
    assert ("    - ERROR: Expected expression but found static value '${approved}'. An expression must start "
            "with '=' (e.g. '=${approved}').") in details
    assert "attribute 'conditionExpression'" in details


def test_static_correlation_key_is_refused(stub):
    task = '<bpmn:receiveTask id="t" messageRef="msg"/>'
    details = refused(stub, one_task(task, extra=m.message("msg", "paid", correlation_key="orderId")))
    assert "- Element: msg > extensionElements > subscription" in details
    assert "Expected expression but found static value 'orderId'" in details
    assert "attribute 'correlationKey'" in details


def test_output_source_must_be_an_expression_but_input_source_may_be_static(stub):
    static_input = m.service_task("t", "work", inputs=[("fixed text", "note")])
    deploy(stub, "ok.bpmn", one_task(static_input))
    static_output = m.service_task("t", "work", outputs=[("result", "total")])
    details = refused(stub, one_task(static_output))
    assert "- Element: t > extensionElements > ioMapping > output" in details
    assert "Expected expression but found static value 'result'" in details and "attribute 'source'" in details


def test_input_without_source_maps_null(stub):
    task = ('<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="nulls"/>'
            '<zeebe:ioMapping><zeebe:input target="absent"/></zeebe:ioMapping></bpmn:extensionElements>'
            '</bpmn:serviceTask>')
    deploy(stub, "ok.bpmn", one_task(task))
    create(stub, "x", {"absent": "outer value"})
    job = activate_one(stub, "nulls")
    assert json.loads(job.variables)["absent"] is None


@pytest.mark.parametrize("target, text", [
    ("$.foo", "Expected path expression '$.foo' but doesn't match the pattern"),
    ("null", "Expected path expression 'null' but is one of the reserved words"),
    ("a..b", "Expected path expression 'a..b' but doesn't match"),
])
def test_mapping_targets_must_be_variable_paths(stub, target, text):
    details = refused(stub, one_task(m.service_task("t", "work", inputs=[("=1", target)])))
    assert text in details and "attribute 'target'" in details


def test_task_listeners_are_refused_naming_the_element(stub):
    task = ('<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="work"/>'
            '<zeebe:taskListeners><zeebe:taskListener eventType="completing" type="audit"/>'
            '</zeebe:taskListeners></bpmn:extensionElements></bpmn:serviceTask>')
    details = refused(stub, one_task(task))
    assert "- Element: t > extensionElements > taskListeners" in details
    assert "task listeners ('zeebe:taskListeners') are not supported by the embedded engine" in details
    assert "in serviceTask" in details


def test_execution_listeners_the_engine_cannot_run_are_refused(stub):
    cancel = ('<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="work"/>'
              '<zeebe:executionListeners><zeebe:executionListener eventType="cancel" type="audit"/>'
              '</zeebe:executionListeners></bpmn:extensionElements></bpmn:serviceTask>')
    details = refused(stub, one_task(cancel))
    assert "Expected an execution listener of event type 'start' or 'end', but found 'cancel'" in details
    body = ('<bpmn:extensionElements><zeebe:executionListeners><zeebe:executionListener eventType="start" '
            'type="audit"/></zeebe:executionListeners></bpmn:extensionElements><bpmn:startEvent id="s"/>'
            + m.service_task("t", "work") + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "e"))
    details = refused(stub, m.process("x", body))
    assert "process-level execution listeners are not supported" in details


def test_unknown_zeebe_extension_is_refused(stub):
    task = ('<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="work"/>'
            '<zeebe:somethingNew mode="fast"/></bpmn:extensionElements></bpmn:serviceTask>')
    details = refused(stub, one_task(task))
    assert "Extension element 'zeebe:somethingNew' in serviceTask is not known to the embedded engine" in details


def test_called_element_binding_must_be_one_zeebe_knows(stub):
    task = ('<bpmn:callActivity id="t"><bpmn:extensionElements><zeebe:calledElement processId="child" '
            'bindingType="sometimes"/></bpmn:extensionElements></bpmn:callActivity>')
    details = refused(stub, one_task(task))
    assert "must be 'latest', 'deployment' or 'versionTag', but was 'sometimes'" in details
    tagless = ('<bpmn:callActivity id="t"><bpmn:extensionElements><zeebe:calledElement processId="child" '
               'bindingType="versionTag"/></bpmn:extensionElements></bpmn:callActivity>')
    assert "Attribute 'versionTag' of 'zeebe:calledElement' must be present" in refused(stub, one_task(tagless))


def test_task_headers_reserved_prefix_and_duplicates(stub):
    task = m.service_task("t", "work", headers=[("io.camunda.zeebe:assignee", "x"), ("a", "1"), ("a", "2")])
    details = refused(stub, one_task(task))
    assert "header keys starting with 'io.camunda.zeebe:' are reserved for internal use" in details
    assert "Headers contain duplicate entries for key 'a'" in details


def test_an_unknown_feel_function_deploys_and_is_null_as_in_zeebe(stub):
    # Zeebe only parses expressions at deploy; Camunda 8.8's FEEL answers null for a call of no
    # function (a suppressed failure), so the mapping writes null.
    task = m.service_task("t", "work", inputs=[("=frobnicate(x)", "y")])
    deploy(stub, "x.bpmn", one_task(task))
    create(stub, "x")
    job = activate_one(stub, "work")
    assert json.loads(job.variables)["y"] is None


@pytest.mark.parametrize("definition, text", [
    ("<bpmn:timeCycle>R/PTX</bpmn:timeCycle>", "Invalid timer cycle expression"),
    ("<bpmn:timeCycle>0 9 * * *</bpmn:timeCycle>", "Invalid timer cycle expression"),
    ("<bpmn:timeDate>tomorrow</bpmn:timeDate>", "Invalid timer date expression"),
    ("<bpmn:timeDuration>P99999999999Y</bpmn:timeDuration>", "Invalid timer duration expression"),
])
def test_invalid_static_timer_values_are_refused(stub, definition, text):
    task = (f'<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>{definition}'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    assert text in refused(stub, one_task(task))


def test_every_problem_of_a_file_is_reported_at_once_nested_ones_included(stub):
    nested = ('<bpmn:subProcess id="sub"><bpmn:serviceTask id="inner"><bpmn:extensionElements>'
              '<zeebe:taskDefinition type="work"/><zeebe:ioMapping><zeebe:output source="plain" target="$.x"/>'
              '</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask></bpmn:subProcess>')
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("t", "work", outputs=[("static", "o")]) + nested
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "sub", "e"))
    details = refused(stub, m.process("x", body, extra=m.message("msg", "paid", correlation_key="key")))
    # one element line per element, one ERROR line per problem
    for element in ("msg > extensionElements > subscription", "t > extensionElements > ioMapping > output",
                    "inner > extensionElements > ioMapping > output"):
        assert f"- Element: {element}\n" in details
    assert details.count("    - ERROR: ") >= 4
    assert "Expected path expression '$.x'" in details and "found static value 'plain'" in details


def test_non_executable_processes_beside_an_executable_one_are_not_checked(stub):
    draft = ('<bpmn:process id="draft" isExecutable="false"><bpmn:serviceTask id="d"><bpmn:extensionElements>'
             '<zeebe:ioMapping><zeebe:output source="static" target="o"/></zeebe:ioMapping>'
             '</bpmn:extensionElements></bpmn:serviceTask></bpmn:process>')
    deploy(stub, "ok.bpmn", one_task(m.service_task("t", "work"), extra=draft))


def test_form_definition_needs_exactly_one_reference(stub):
    body = ('<bpmn:startEvent id="s"><bpmn:extensionElements><zeebe:formDefinition/></bpmn:extensionElements>'
            '</bpmn:startEvent>' + m.service_task("t", "work") + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "e"))
    details = refused(stub, m.process("x", body))
    assert "Exactly one of the attributes 'formId', 'formKey' or 'externalReference'" in details


def test_task_definition_on_a_user_task_is_refused(stub):
    task = ('<bpmn:userTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="human"/>'
            '</bpmn:extensionElements></bpmn:userTask>')
    details = refused(stub, one_task(task))
    assert "Extension element 'zeebe:taskDefinition' is not allowed on a userTask" in details
