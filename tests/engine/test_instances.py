"""Process instances over real gRPC: create, with result, cancel, variables, start instructions."""
from __future__ import annotations

import json

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from tests.support.net import wait_until

from . import bpmn_models as m
from .helpers import activate_one, complete, create, create_with_result, deploy, rpc_error, state_of


@pytest.fixture
def one_task(stub):
    deploy(stub, "one.bpmn", m.tasks_process("one", ["work"]))
    return "one"


def test_create_returns_definition_data(stub, one_task):
    response = stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1))
    assert response.bpmnProcessId == "one" and response.version == 1 and response.tenantId == "<default>"
    by_key = stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        processDefinitionKey=response.processDefinitionKey, version=-1))
    assert by_key.processInstanceKey != response.processInstanceKey


def test_create_specific_version(stub, one_task):
    deploy(stub, "one.bpmn", m.tasks_process("one", ["work", "more"]))
    assert stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=1)).version == 1
    assert stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1)).version == 2
    details = rpc_error(lambda: stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId="one", version=7)), grpc.StatusCode.NOT_FOUND)
    assert "with process ID 'one' and version '7', but none found" in details


def test_unknown_process(stub):
    details = rpc_error(lambda: create(stub, "nope"), grpc.StatusCode.NOT_FOUND)
    assert "Expected to find process definition with process ID 'nope', but none found" in details
    details = rpc_error(lambda: stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        processDefinitionKey=-1, version=-1)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "at least a bpmnProcessId or a key" in details


@pytest.mark.parametrize("variables, text", [
    ("[1]", "but was 'ARRAY'"), ("42", "but was 'NUMBER'"), ("null", "but was 'NIL'"), ("{", "Invalid JSON value"),
    ('{"x": NaN}', "NaN is not a JSON value"), ('{"x": -Infinity}', "-Infinity is not a JSON value"),
])
def test_variables_must_be_a_json_object(stub, one_task, variables, text):
    details = rpc_error(lambda: stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId="one", version=-1, variables=variables)), grpc.StatusCode.INVALID_ARGUMENT)
    assert text in details


def test_blank_variables_mean_none(zeebe, stub, one_task):
    key = stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId="one", version=-1, variables="  ")).processInstanceKey
    assert zeebe.variables(key) == {}


def test_with_result_of_a_process_that_ends_at_once(stub):
    deploy(stub, "empty.bpmn", m.process("empty", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + m.chain("s", "e")))
    response = create_with_result(stub, "empty", {"a": 1})
    assert json.loads(response.variables) == {"a": 1}


def test_cancel(zeebe, stub, one_task):
    key = create(stub, "one")
    job = activate_one(stub, "work")
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=key))
    assert state_of(zeebe, key) == "CANCELED"
    rpc_error(lambda: complete(stub, job.key), grpc.StatusCode.NOT_FOUND)
    details = rpc_error(lambda: stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=key)),
                        grpc.StatusCode.NOT_FOUND)
    assert f"Expected to cancel a process instance with key '{key}', but no such process was found" in details
    assert zeebe.jobs() == []


def test_set_variables_local_and_propagated(zeebe, stub):
    task = m.service_task("task", "work", inputs=[("=1", "bar")])
    deploy(stub, "sv.bpmn", m.process("sv", '<bpmn:startEvent id="s"/>' + task + '<bpmn:endEvent id="e"/>'
                                      + m.chain("s", "task", "e")))
    key = create(stub, "sv", {"foo": 2})
    job = activate_one(stub, "work")
    scope = job.elementInstanceKey
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=scope, variables='{"foo": 5}', local=True))
    assert zeebe.variables(key) == {"foo": 2}
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=scope, variables='{"bar": 9, "baz": 1}'))
    assert zeebe.variables(key) == {"foo": 2, "baz": 1}  # bar exists on the task scope: updated there
    response = stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"foo": 7}'))
    assert response.key >> 51 == 1
    assert zeebe.variables(key)["foo"] == 7
    details = rpc_error(lambda: stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=job.key, variables="{}")),
                        grpc.StatusCode.NOT_FOUND)
    assert "no such element was found" in details


def test_start_instructions(stub):
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("a", "type-a") + m.service_task("b", "type-b")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "a", "b", "e"))
    deploy(stub, "si.bpmn", m.process("si", body))
    stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId="si", version=-1, startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId="b")]))
    assert activate_one(stub, "type-b").elementId == "b"
    details = rpc_error(lambda: stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId="si", version=-1, startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId="zz")])),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert "'zz'" in details


def test_finished_instances_are_bounded(stub):
    from zeebe_affinity_sync.engine import EmbeddedZeebe
    from .helpers import Stub

    with EmbeddedZeebe(history_size=3) as small:
        ch = grpc.insecure_channel(small.address)
        try:
            s: Stub = Stub(ch)
            deploy(s, "empty.bpmn", m.process("empty", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
                                              + m.chain("s", "e")))
            keys = [create(s, "empty") for _ in range(5)]
            assert [i["process_instance_key"] for i in small.process_instances()] == keys[2:]
        finally:
            small.stop()
            ch.close()


def test_with_result_caller_that_goes_away_leaves_nothing_behind(zeebe, stub, one_task):
    future = stub.CreateProcessInstanceWithResult.future(pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1), requestTimeout=60_000), timeout=30)
    wait_until(lambda: zeebe.stats()["result_waiters"] == 1)
    future.cancel()
    wait_until(lambda: zeebe.stats()["result_waiters"] == 0)
    assert zeebe.stats()["process_instances"] == 1  # the instance itself keeps running
