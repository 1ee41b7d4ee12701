"""Tasks over real gRPC: user tasks (job-worker and Camunda), send, script, undefined and manual
tasks, and message throw / end events as jobs — written from Zeebe 8.8's documented behaviour."""
from __future__ import annotations

import json

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from zeebe_affinity_sync.errors import InvalidArgumentError, NotFoundError

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, state_of

USER_TASK_JOB = "io.camunda.zeebe:userTask"


def ext(body: str) -> str:
    return f"<bpmn:extensionElements>{body}</bpmn:extensionElements>"


def one_task(process_id: str, task: str) -> bytes:
    body = '<bpmn:startEvent id="s"/>' + task + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "e")
    return m.process(process_id, body)


def test_job_worker_user_task_headers_as_zeebe_sets_them(zeebe, stub):
    task = ('<bpmn:userTask id="t">' + ext(
        '<zeebe:assignmentDefinition assignee="= owner" candidateGroups="sales, operations" '
        'candidateUsers="= reviewers"/>'
        '<zeebe:taskSchedule dueDate="2026-12-24T18:00:00+01:00" followUpDate="= followUp"/>'
        '<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>'
        '<zeebe:taskHeaders><zeebe:header key="kind" value="review"/></zeebe:taskHeaders>') + '</bpmn:userTask>')
    deploy(stub, "ut.bpmn", one_task("ut", task))
    key = create(stub, "ut", {"owner": "ann", "reviewers": ["bob", "cy"], "followUp": "2026-12-20T09:00:00Z"})
    job = activate_one(stub, USER_TASK_JOB)
    assert job.elementId == "t" and job.processInstanceKey == key and job.retries == 3
    assert json.loads(job.customHeaders) == {
        "kind": "review",
        "io.camunda.zeebe:assignee": "ann",
        "io.camunda.zeebe:candidateGroups": '["sales","operations"]',
        "io.camunda.zeebe:candidateUsers": '["bob","cy"]',
        "io.camunda.zeebe:dueDate": "2026-12-24T18:00:00+01:00",
        "io.camunda.zeebe:followUpDate": "2026-12-20T09:00:00Z",
        "io.camunda.zeebe:formKey": "camunda-forms:bpmn:form_1",
    }
    assert zeebe.user_tasks() == []  # a job-worker user task is a job, not a Camunda user task
    complete(stub, job.key, {"approved": True})
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.variables(key)["approved"] is True


def test_job_worker_user_task_without_assignment_has_only_its_own_headers(stub):
    deploy(stub, "ut.bpmn", one_task("ut", '<bpmn:userTask id="t"/>'))
    create(stub, "ut")
    assert json.loads(activate_one(stub, USER_TASK_JOB).customHeaders) == {}


def test_user_task_expression_of_the_wrong_type_raises_an_incident_until_fixed(zeebe, stub):
    task = '<bpmn:userTask id="t">' + ext('<zeebe:assignmentDefinition candidateGroups="= groups"/>') + '</bpmn:userTask>'
    deploy(stub, "ut.bpmn", one_task("ut", task))
    key = create(stub, "ut", {"groups": "sales"})
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "EXTRACT_VALUE_ERROR" and incident["element_id"] == "t"
    assert "'ARRAY' of 'STRING'" in incident["error_message"]
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"groups": ["sales"]}'), timeout=10)
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]), timeout=10)
    job = activate_one(stub, USER_TASK_JOB)
    assert json.loads(job.customHeaders)["io.camunda.zeebe:candidateGroups"] == '["sales"]'


def camunda_task(extra: str = "") -> str:
    return ('<bpmn:userTask id="t">' + ext('<zeebe:userTask/>' + extra) + '</bpmn:userTask>')


def test_camunda_user_task_waits_is_listed_and_completed_through_the_api(zeebe, stub):
    extra = ('<zeebe:assignmentDefinition assignee="ann" candidateGroups="= [&quot;a&quot;, &quot;b&quot;]"/>'
             '<zeebe:priorityDefinition priority="= urgency"/><zeebe:formDefinition formId="invoice-form"/>'
             '<zeebe:taskHeaders><zeebe:header key="kind" value="approve"/></zeebe:taskHeaders>')
    deploy(stub, "ut.bpmn", one_task("ut", camunda_task(extra)))
    key = create(stub, "ut", {"urgency": 80, "amount": 12})
    assert activate(stub, USER_TASK_JOB) == []  # not a job
    [task] = zeebe.user_tasks()
    assert (task["element_id"], task["process_instance_key"], task["assignee"], task["candidate_groups"],
            task["candidate_users"], task["priority"], task["form_id"], task["custom_headers"]) == (
        "t", key, "ann", ["a", "b"], [], 80, "invoice-form", {"kind": "approve"})
    assert task["variables"] == {"urgency": 80, "amount": 12} and task["state"] == "CREATED"
    assert zeebe.user_tasks(process_instance_key=key + 1000) == []
    zeebe.complete_user_task("t", {"approved": True})
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.variables(key)["approved"] is True
    intents = [(r["intent"], r["user_task_key"]) for r in zeebe.records(value_type="USER_TASK")]
    assert intents == [("CREATING", task["key"]), ("CREATED", task["key"]), ("COMPLETING", task["key"]),
                       ("COMPLETED", task["key"])]
    assert zeebe.records(value_type="USER_TASK", intent="COMPLETED")[0]["variables"] == {"approved": True}
    [element] = zeebe.records(element_id="t", intent="ELEMENT_COMPLETED")
    assert element["bpmn_element_type"] == "USER_TASK"


def test_camunda_user_task_defaults_and_completion_by_key(zeebe, stub):
    deploy(stub, "ut.bpmn", one_task("ut", camunda_task()))
    first, second = create(stub, "ut"), create(stub, "ut")
    tasks = zeebe.user_tasks()
    assert [t["process_instance_key"] for t in tasks] == [first, second]
    assert tasks[0]["priority"] == 50 and tasks[0]["assignee"] is None and tasks[0]["candidate_groups"] == []
    with pytest.raises(InvalidArgumentError, match="2 open user tasks"):
        zeebe.complete_user_task("t")
    zeebe.complete_user_task("t", process_instance_key=second)
    zeebe.complete_user_task(tasks[0]["key"])
    assert state_of(zeebe, first) == "COMPLETED" and state_of(zeebe, second) == "COMPLETED"
    with pytest.raises(NotFoundError):
        zeebe.complete_user_task(tasks[0]["key"])
    with pytest.raises(NotFoundError):
        zeebe.complete_user_task("t")
    with pytest.raises(TypeError):
        zeebe.complete_user_task("t", ["not", "a", "dict"])


def test_camunda_user_task_output_mapping_and_cancel(zeebe, stub):
    task = camunda_task(m.io_mapping(outputs=[("= decision", "result")]))
    deploy(stub, "ut.bpmn", one_task("ut", task))
    done, cancelled = create(stub, "ut"), create(stub, "ut")
    zeebe.complete_user_task("t", {"decision": "yes"}, process_instance_key=done)
    assert zeebe.variables(done) == {"result": "yes"}  # only the mapped result propagates
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=cancelled), timeout=10)
    assert zeebe.user_tasks() == []
    assert [r["intent"] for r in zeebe.records(value_type="USER_TASK", process_instance_key=cancelled)] == [
        "CREATING", "CREATED", "CANCELING", "CANCELED"]


def test_timer_boundary_interrupts_a_camunda_user_task(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/>' + camunda_task() + '<bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="late" attachedToRef="t"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            + m.service_task("escalate", "escalate") + m.chain("s", "t", "e") + m.chain("late", "escalate"))
    deploy(stub, "ut.bpmn", m.process("ut", body))
    key = create(stub, "ut")
    assert len(zeebe.user_tasks()) == 1
    zeebe.increase_time(86_400)
    assert zeebe.user_tasks() == []
    assert activate_one(stub, "escalate").processInstanceKey == key


@pytest.mark.parametrize("element, element_type", [
    ('<bpmn:sendTask id="t">' + ext('<zeebe:taskDefinition type="send-mail"/>') + '</bpmn:sendTask>', "SEND_TASK"),
    ('<bpmn:intermediateThrowEvent id="t"><bpmn:extensionElements><zeebe:taskDefinition type="send-mail"/>'
     '</bpmn:extensionElements><bpmn:messageEventDefinition/></bpmn:intermediateThrowEvent>',
     "INTERMEDIATE_THROW_EVENT"),
    ('<bpmn:scriptTask id="t">' + ext('<zeebe:taskDefinition type="send-mail"/>') + '</bpmn:scriptTask>',
     "SCRIPT_TASK"),
])
def test_job_based_tasks_and_message_throw_events(zeebe, stub, element, element_type):
    deploy(stub, "job.bpmn", one_task("job", element))
    key = create(stub, "job")
    job = activate_one(stub, "send-mail")
    assert job.elementId == "t"
    complete(stub, job.key, {"sent": 1})
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.variables(key) == {"sent": 1}
    [record] = zeebe.records(element_id="t", intent="ELEMENT_ACTIVATED")
    assert record["bpmn_element_type"] == element_type


def test_message_end_event_is_a_job(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:endEvent id="notify"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="notify"/></bpmn:extensionElements><bpmn:messageEventDefinition/>'
            '</bpmn:endEvent>' + m.chain("s", "notify"))
    deploy(stub, "end.bpmn", m.process("end", body))
    key = create(stub, "end")
    assert state_of(zeebe, key) == "ACTIVE"
    complete(stub, activate_one(stub, "notify").key)
    assert state_of(zeebe, key) == "COMPLETED"
    [record] = zeebe.records(element_id="notify", intent="ELEMENT_COMPLETED")
    assert (record["bpmn_element_type"], record["bpmn_event_type"]) == ("END_EVENT", "MESSAGE")


def test_script_task_with_feel_sets_its_result_variable(zeebe, stub):
    script = ('<bpmn:scriptTask id="t">' + ext('<zeebe:script expression="= a + b" resultVariable="sum"/>')
              + '</bpmn:scriptTask>')
    deploy(stub, "script.bpmn", one_task("script", script))
    key = create(stub, "script", {"a": 2, "b": 3})
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.variables(key) == {"a": 2, "b": 3, "sum": 5}


def test_script_result_through_an_output_mapping(zeebe, stub):
    script = ('<bpmn:scriptTask id="t">' + ext('<zeebe:script expression="= upper case(name)" resultVariable="x"/>'
                                              + m.io_mapping(outputs=[("= x", "shout")])) + '</bpmn:scriptTask>')
    deploy(stub, "script.bpmn", one_task("script", script))
    key = create(stub, "script", {"name": "ann"})
    assert zeebe.variables(key) == {"name": "ann", "shout": "ANN"}


def test_undefined_and_manual_tasks_pass_through(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:task id="plain"/><bpmn:manualTask id="by-hand"/><bpmn:endEvent id="e"/>'
            + m.chain("s", "plain", "by-hand", "e"))
    deploy(stub, "pass.bpmn", m.process("pass", body))
    key = create(stub, "pass")
    assert state_of(zeebe, key) == "COMPLETED"
    completed = [(r["element_id"], r["bpmn_element_type"]) for r in
                 zeebe.records(process_instance_key=key, intent="ELEMENT_COMPLETED")]
    assert completed == [("s", "START_EVENT"), ("plain", "TASK"), ("by-hand", "MANUAL_TASK"), ("e", "END_EVENT"),
                         ("pass", "PROCESS")]


def test_user_task_refusals(stub):
    bad = camunda_task('<zeebe:formDefinition formKey="a" formId="b"/>')
    details = pytest.raises(grpc.RpcError, deploy, stub, "ut.bpmn", one_task("ut", bad)).value.details()
    assert "only one of formKey, formId, externalReference" in details
