"""Multi-instance activities over real gRPC, parallel and sequential, written from Zeebe 8.8's
documented behaviour: one inner instance per item, loopCounter / inputElement locals, the output
collection in input order, the completion condition, boundary events on the body."""
from __future__ import annotations

import json

import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, state_of


def mi(*, sequential: bool = False, output: bool = True, condition: str = "") -> str:
    seq = ' isSequential="true"' if sequential else ""
    out = ' outputCollection="results" outputElement="= result"' if output else ""
    cond = f"<bpmn:completionCondition>{condition}</bpmn:completionCondition>" if condition else ""
    return (f'<bpmn:multiInstanceLoopCharacteristics{seq}><bpmn:extensionElements>'
            f'<zeebe:loopCharacteristics inputCollection="= items" inputElement="item"{out}/>'
            f'</bpmn:extensionElements>{cond}</bpmn:multiInstanceLoopCharacteristics>')


def mi_task(task_id: str = "each", job_type: str = "work", **kwargs) -> str:
    return (f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/>'
            f'</bpmn:extensionElements>{mi(**kwargs)}</bpmn:serviceTask>')


def process_with(activity: str, extra_body: str = "", extra: str = "") -> bytes:
    body = ('<bpmn:startEvent id="s"/>' + activity + '<bpmn:endEvent id="e"/>' + m.chain("s", "each", "e")
            + extra_body)
    return m.process("mi", body, extra=extra)


def test_parallel_multi_instance_collects_outputs_in_input_order(zeebe, stub):
    deploy(stub, "mi.bpmn", process_with(mi_task()))
    key = create(stub, "mi", {"items": ["a", "b", "c"]})
    jobs = activate(stub, "work", request_timeout_ms=5000)
    assert len(jobs) == 3  # all at once
    seen = {json.loads(j.variables)["item"]: j for j in jobs}
    assert {item: json.loads(job.variables)["loopCounter"] for item, job in seen.items()} == {"a": 1, "b": 2, "c": 3}
    assert json.loads(seen["a"].variables)["result"] is None  # the output element is a local of each instance
    for item in ("c", "a", "b"):  # completion order does not matter
        complete(stub, seen[item].key, {"result": item.upper()})
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.variables(key) == {"items": ["a", "b", "c"], "results": ["A", "B", "C"]}  # no item/loopCounter/result
    records = zeebe.records(process_instance_key=key, element_id="each", intent="ELEMENT_ACTIVATED")
    [body] = [r for r in records if r["bpmn_element_type"] == "MULTI_INSTANCE_BODY"]
    inner = [r for r in records if r["bpmn_element_type"] == "SERVICE_TASK"]
    assert len(inner) == 3 and {r["flow_scope_key"] for r in inner} == {body["element_instance_key"]}
    assert body["flow_scope_key"] == key


def test_sequential_multi_instance_runs_one_at_a_time(zeebe, stub):
    deploy(stub, "mi.bpmn", process_with(mi_task(sequential=True)))
    key = create(stub, "mi", {"items": [10, 20, 30]})
    counters = []
    for expected in (10, 20, 30):
        jobs = activate(stub, "work", request_timeout_ms=5000)
        assert len(jobs) == 1
        variables = json.loads(jobs[0].variables)
        assert variables["item"] == expected
        counters.append(variables["loopCounter"])
        complete(stub, jobs[0].key, {"result": expected * 2})
    assert counters == [1, 2, 3]
    assert zeebe.variables(key)["results"] == [20, 40, 60]


def test_empty_collection_skips_the_activity(zeebe, stub):
    deploy(stub, "mi.bpmn", process_with(mi_task()))
    key = create(stub, "mi", {"items": []})
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.variables(key)["results"] == []
    assert activate(stub, "work") == []


def test_input_collection_that_is_not_a_list_raises_an_incident_on_the_body(zeebe, stub):
    deploy(stub, "mi.bpmn", process_with(mi_task()))
    key = create(stub, "mi", {"items": "abc"})
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "EXTRACT_VALUE_ERROR" and incident["element_id"] == "each"
    assert "to be 'ARRAY', but was 'STRING'" in incident["error_message"]
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"items": ["x"]}'), timeout=10)
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]), timeout=10)
    complete(stub, activate_one(stub, "work").key, {"result": 1})
    assert zeebe.variables(key)["results"] == [1]


def test_completion_condition_terminates_the_remaining_instances(zeebe, stub):
    deploy(stub, "mi.bpmn", process_with(mi_task(condition="= numberOfCompletedInstances >= 2")))
    key = create(stub, "mi", {"items": ["a", "b", "c"]})
    jobs = {json.loads(j.variables)["item"]: j for j in activate(stub, "work", request_timeout_ms=5000)}
    complete(stub, jobs["b"].key, {"result": "B"})
    assert state_of(zeebe, key) == "ACTIVE"
    complete(stub, jobs["c"].key, {"result": "C"})
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.jobs() == []
    assert zeebe.variables(key)["results"] == [None, "B", "C"]
    terminated = zeebe.records(process_instance_key=key, element_id="each", intent="ELEMENT_TERMINATED")
    assert len(terminated) == 1 and terminated[0]["bpmn_element_type"] == "SERVICE_TASK"


def test_completion_condition_sees_the_instance_counts_in_a_sequential_loop(zeebe, stub):
    condition = "= numberOfInstances = 3 and numberOfActiveInstances = 0 and numberOfCompletedInstances = 1"
    deploy(stub, "mi.bpmn", process_with(mi_task(sequential=True, condition=condition)))
    key = create(stub, "mi", {"items": [1, 2, 3]})
    complete(stub, activate_one(stub, "work").key, {"result": "first"})
    assert state_of(zeebe, key) == "COMPLETED"  # the other two never started
    assert zeebe.variables(key)["results"] == ["first", None, None]


def test_completion_condition_that_is_not_boolean_is_an_incident(zeebe, stub):
    deploy(stub, "mi.bpmn", process_with(mi_task(condition="= done")))
    create(stub, "mi", {"items": [1]})
    complete(stub, activate_one(stub, "work").key, {"result": 1})
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "EXTRACT_VALUE_ERROR" and "to be 'BOOLEAN'" in incident["error_message"]


def test_interrupting_timer_on_the_body_terminates_every_instance_without_output(zeebe, stub):
    boundary = ('<bpmn:boundaryEvent id="late" attachedToRef="each"><bpmn:timerEventDefinition>'
                '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                + m.service_task("chase", "chase") + m.chain("late", "chase"))
    deploy(stub, "mi.bpmn", process_with(mi_task(), boundary))
    key = create(stub, "mi", {"items": [1, 2]})
    jobs = activate(stub, "work", request_timeout_ms=5000)
    complete(stub, jobs[0].key, {"result": "one"})
    assert len(zeebe.records(value_type="TIMER", intent="CREATED")) == 1  # one timer: on the body
    zeebe.increase_time(3600)
    assert [j["type"] for j in zeebe.jobs()] == ["chase"]
    complete(stub, activate_one(stub, "chase").key)
    assert state_of(zeebe, key) == "COMPLETED" and "results" not in zeebe.variables(key)


def test_error_from_one_instance_is_caught_by_the_boundary_on_the_body(zeebe, stub):
    boundary = ('<bpmn:boundaryEvent id="failed" attachedToRef="each"><bpmn:errorEventDefinition/>'
                '</bpmn:boundaryEvent><bpmn:endEvent id="e2"/>' + m.chain("failed", "e2"))
    deploy(stub, "mi.bpmn", process_with(mi_task(), boundary))
    key = create(stub, "mi", {"items": [1, 2, 3]})
    jobs = activate(stub, "work", request_timeout_ms=5000)
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=jobs[1].key, errorCode="NOPE"), timeout=10)
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.jobs() == []
    assert zeebe.records(element_id="e2", intent="ELEMENT_COMPLETED")


def test_multi_instance_subprocess_gives_each_instance_its_item(zeebe, stub):
    subprocess = ('<bpmn:subProcess id="each">' + mi(output=False) + '<bpmn:startEvent id="in_s"/>'
                  + m.service_task("inner", "inner") + '<bpmn:endEvent id="in_e"/>' + m.chain("in_s", "inner", "in_e")
                  + '</bpmn:subProcess>')
    deploy(stub, "mi.bpmn", process_with(subprocess))
    key = create(stub, "mi", {"items": ["x", "y"]})
    jobs = activate(stub, "inner", request_timeout_ms=5000)
    assert sorted(json.loads(j.variables)["item"] for j in jobs) == ["x", "y"]
    for job in jobs:
        complete(stub, job.key)
    assert state_of(zeebe, key) == "COMPLETED"


def test_multi_instance_call_activity_with_an_output_mapping(zeebe, stub):
    child = ('<bpmn:startEvent id="cs"/>' + m.service_task("calc", "calc") + '<bpmn:endEvent id="ce"/>'
             + m.chain("cs", "calc", "ce"))
    deploy(stub, "child.bpmn", m.process("child", child))
    call = ('<bpmn:callActivity id="each"><bpmn:extensionElements><zeebe:calledElement processId="child"/>'
            + m.io_mapping(outputs=[("= x", "result")]) + '</bpmn:extensionElements>' + mi() + '</bpmn:callActivity>')
    deploy(stub, "mi.bpmn", process_with(call))
    key = create(stub, "mi", {"items": [3, 4]})
    for job in activate(stub, "calc", request_timeout_ms=5000):
        complete(stub, job.key, {"x": json.loads(job.variables)["item"] * 100})
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.variables(key)["results"] == [300, 400]


def test_multi_instance_camunda_user_tasks(zeebe, stub):
    task = ('<bpmn:userTask id="each"><bpmn:extensionElements><zeebe:userTask/>'
            '<zeebe:assignmentDefinition assignee="= item"/></bpmn:extensionElements>' + mi(output=False)
            + '</bpmn:userTask>')
    deploy(stub, "mi.bpmn", process_with(task))
    key = create(stub, "mi", {"items": ["ann", "bob"]})
    tasks = zeebe.user_tasks()
    assert sorted(t["assignee"] for t in tasks) == ["ann", "bob"]
    for t in tasks:
        zeebe.complete_user_task(t["key"])
    assert state_of(zeebe, key) == "COMPLETED"


@pytest.mark.parametrize("sequential", [False, True])
def test_input_mappings_see_the_loop_variables(zeebe, stub, sequential):
    task = ('<bpmn:serviceTask id="each"><bpmn:extensionElements><zeebe:taskDefinition type="work"/>'
            + m.io_mapping(inputs=[("= item.name + \"#\" + string(loopCounter)", "label")])
            + '</bpmn:extensionElements>' + mi(sequential=sequential, output=False) + '</bpmn:serviceTask>')
    deploy(stub, "mi.bpmn", process_with(task))
    create(stub, "mi", {"items": [{"name": "a"}, {"name": "b"}]})
    labels = []
    for _ in range(2):
        job = activate_one(stub, "work")
        labels.append(json.loads(job.variables)["label"])
        complete(stub, job.key)
    assert sorted(labels) == ["a#1", "b#2"]
