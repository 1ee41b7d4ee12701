"""DeployResource / DeployProcess over real gRPC: versioning, duplicates, and every refusal."""
from __future__ import annotations

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import deploy, rpc_error

SIMPLE = m.tasks_process("simple", ["work"])


def test_deploy_returns_process_metadata(stub):
    response = deploy(stub, "simple.bpmn", SIMPLE)
    [deployment] = response.deployments
    meta = deployment.process
    assert meta.bpmnProcessId == "simple" and meta.version == 1 and meta.resourceName == "simple.bpmn"
    assert meta.tenantId == "<default>" and response.tenantId == "<default>"
    assert meta.processDefinitionKey >> 51 == 1 and response.key != meta.processDefinitionKey


def test_identical_redeploy_is_a_duplicate_and_a_change_is_a_new_version(stub):
    first = deploy(stub, "simple.bpmn", SIMPLE).deployments[0].process
    again = deploy(stub, "simple.bpmn", SIMPLE).deployments[0].process
    assert (again.version, again.processDefinitionKey) == (1, first.processDefinitionKey)
    changed = deploy(stub, "simple.bpmn", m.tasks_process("simple", ["work", "more"])).deployments[0].process
    assert changed.version == 2 and changed.processDefinitionKey != first.processDefinitionKey
    renamed = deploy(stub, "other-name.bpmn", m.tasks_process("simple", ["work", "more"])).deployments[0].process
    assert renamed.version == 3


def test_deprecated_deploy_process(stub):
    response = stub.DeployProcess(pb.DeployProcessRequest(processes=[
        pb.ProcessRequestObject(name="simple.bpmn", definition=SIMPLE)]))
    assert [p.bpmnProcessId for p in response.processes] == ["simple"]


def test_deploy_with_default_namespace_and_no_prefix(stub):
    xml = (b'<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           b'xmlns:z="http://camunda.org/schema/zeebe/1.0"><process id="plain" isExecutable="true">'
           b'<startEvent id="s"/><serviceTask id="t"><extensionElements><z:taskDefinition type="x"/>'
           b'</extensionElements></serviceTask><endEvent id="e"/>'
           b'<sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
           b'</process></definitions>')
    assert deploy(stub, "plain.xml", xml).deployments[0].process.bpmnProcessId == "plain"


def refused(stub, name: str, content: bytes) -> str:
    return rpc_error(lambda: deploy(stub, name, content), grpc.StatusCode.INVALID_ARGUMENT)


def test_broken_xml_is_refused(stub):
    details = refused(stub, "broken.bpmn", b"<bpmn:definitions><oops")
    assert "Expected to deploy new resources" in details and "'broken.bpmn'" in details
    assert "failed to parse XML" in details


def test_xml_entity_bomb_is_refused_without_expansion(stub):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" isExecutable="true">'
            b'<startEvent id="s" name="&lol3;"/></process></definitions>')
    details = refused(stub, "bomb.bpmn", bomb)
    assert "refused unsafe XML" in details and "entity" in details


def test_unsupported_element_is_named_with_its_type(stub):
    body = ('<bpmn:startEvent id="start"/><bpmn:complexGateway id="approve"/><bpmn:endEvent id="end"/>'
            + m.chain("start", "approve", "end"))
    details = refused(stub, "user.bpmn", m.process("user", body))
    assert "Element 'approve' of type 'complexGateway' is not supported" in details


def test_unsupported_event_definition_is_refused(stub):
    body = ('<bpmn:startEvent id="start"><bpmn:conditionalEventDefinition/></bpmn:startEvent>'
            '<bpmn:endEvent id="end"/>' + m.chain("start", "end"))
    assert "conditionalEventDefinition" in refused(stub, "cond.bpmn", m.process("cond", body))


def test_no_executable_process(stub):
    details = refused(stub, "draft.bpmn", m.process("draft", '<bpmn:startEvent id="s"/>', executable=False))
    assert "Must contain at least one executable process" in details


def test_missing_start_event_and_task_definition(stub):
    body = '<bpmn:serviceTask id="t"/><bpmn:endEvent id="end"/>' + m.chain("t", "end")
    details = refused(stub, "bad.bpmn", m.process("bad", body))
    assert "Must have at least one start event" in details
    assert "Must have exactly one 'zeebe:taskDefinition' extension element" in details


def test_exclusive_gateway_flows_need_conditions(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>'
            + m.flow("f0", "s", "gw") + m.flow("fa", "gw", "a", "= x > 1") + m.flow("fb", "gw", "b"))
    details = refused(stub, "gw.bpmn", m.process("gw", body))
    assert "Sequence flow 'fb': Must have a condition expression" in details


def test_feel_syntax_error_is_refused_at_deploy(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="fb"/><bpmn:endEvent id="a"/>'
            '<bpmn:endEvent id="b"/>' + m.flow("f0", "s", "gw") + m.flow("fa", "gw", "a", "= x >")
            + m.flow("fb", "gw", "b"))
    details = refused(stub, "feel.bpmn", m.process("feel", body))
    assert "Sequence flow 'fa'" in details and "Failed to parse expression" in details


def test_resources_are_all_or_nothing(stub, zeebe):
    request = pb.DeployResourceRequest(resources=[
        pb.Resource(name="good.bpmn", content=SIMPLE),
        pb.Resource(name="notes.txt", content=b"hello"),
    ])
    details = rpc_error(lambda: stub.DeployResource(request), grpc.StatusCode.INVALID_ARGUMENT)
    assert "'notes.txt'" in details
    assert zeebe.definitions() == []


def test_duplicate_process_id_across_resources(stub):
    request = pb.DeployResourceRequest(resources=[
        pb.Resource(name="p2.bpmn", content=SIMPLE), pb.Resource(name="p3.bpmn", content=SIMPLE)])
    details = rpc_error(lambda: stub.DeployResource(request), grpc.StatusCode.INVALID_ARGUMENT)
    assert "Duplicated process id in resources 'p2.bpmn' and 'p3.bpmn'" in details


def test_no_resources_and_foreign_tenant(stub):
    rpc_error(lambda: stub.DeployResource(pb.DeployResourceRequest()), grpc.StatusCode.INVALID_ARGUMENT)
    details = rpc_error(lambda: stub.DeployResource(pb.DeployResourceRequest(
        resources=[pb.Resource(name="s.bpmn", content=SIMPLE)], tenantId="acme")), grpc.StatusCode.INVALID_ARGUMENT)
    assert "tenant" in details


@pytest.mark.parametrize("snippet, text", [
    ('<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1S</bpmn:timeCycle>'
     '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', "a timer 'timeCycle' is not allowed here"),
    ('<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>soon</bpmn:timeDuration>'
     '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', "Invalid timer duration expression"),
    ('<bpmn:receiveTask id="w" messageRef="nowhere"/>', "messageRef 'nowhere' not found"),
    ('<bpmn:callActivity id="w"/>', "zeebe:calledElement"),
    ('<bpmn:subProcess id="w"/>', "Element 'w' of type 'subProcess': Must have exactly one start event, found 0"),
    ('<bpmn:intermediateThrowEvent id="w"><bpmn:messageEventDefinition/></bpmn:intermediateThrowEvent>',
     "Must have exactly one 'zeebe:taskDefinition'"),
    ('<bpmn:sendTask id="w"/>', "Must have exactly one 'zeebe:taskDefinition'"),
    ('<bpmn:scriptTask id="w"/>', "Must have exactly one 'zeebe:taskDefinition'"),
    ('<bpmn:scriptTask id="w"><bpmn:extensionElements><zeebe:script expression="=1"/></bpmn:extensionElements>'
     '</bpmn:scriptTask>', "'resultVariable' of 'zeebe:script' must be present"),
    ('<bpmn:userTask id="w"><bpmn:extensionElements><zeebe:userTask/><zeebe:priorityDefinition priority="101"/>'
     '</bpmn:extensionElements></bpmn:userTask>', "priority of a user task must be an integer from 0 to 100"),
])
def test_invalid_element_configuration(stub, snippet, text):
    body = '<bpmn:startEvent id="s"/>' + snippet + '<bpmn:endEvent id="e"/>' + m.chain("s", "w", "e")
    assert text in refused(stub, "x.bpmn", m.process("x", body))



def test_non_interrupting_error_boundary_is_refused(stub):
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("t", "x") + '<bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false"><bpmn:errorEventDefinition/>'
            '</bpmn:boundaryEvent>' + m.chain("s", "t", "e"))
    details = refused(stub, "b.bpmn", m.process("b", body))
    assert "Element 'b' of type 'boundaryEvent': an error boundary event is always interrupting" in details


def test_boundary_event_on_a_gateway_is_refused(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:parallelGateway id="g"/><bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="b" attachedToRef="g"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1S'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>' + m.chain("s", "g", "e"))
    assert "not on 'parallelGateway'" in refused(stub, "g.bpmn", m.process("g", body))


@pytest.mark.parametrize("characteristics, text", [
    ('<zeebe:loopCharacteristics inputCollection="items" inputElement="item"/>',
     "'inputCollection' must be a FEEL expression starting with '='"),
    ('<zeebe:loopCharacteristics inputElement="item"/>', "Attribute 'inputCollection'"),
    ('<zeebe:loopCharacteristics inputCollection="=items" outputCollection="out"/>',
     "'outputCollection' and 'outputElement'"),
    ('', "exactly one 'zeebe:loopCharacteristics'"),
])
def test_multi_instance_marker_refusals(stub, characteristics, text):
    body = ('<bpmn:startEvent id="s"/><bpmn:serviceTask id="each"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="t"/></bpmn:extensionElements>'
            '<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>' + characteristics +
            '</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>'
            '<bpmn:endEvent id="e"/>' + m.chain("s", "each", "e"))
    details = rpc_error(lambda: deploy(stub, "mi.bpmn", m.process("mi", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "'each'" in details and text in details


def test_standard_loop_is_refused_not_ignored(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:task id="again"><bpmn:standardLoopCharacteristics/></bpmn:task>'
            '<bpmn:endEvent id="e"/>' + m.chain("s", "again", "e"))
    details = rpc_error(lambda: deploy(stub, "loop.bpmn", m.process("loop", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "'again'" in details and "standardLoopCharacteristics" in details
