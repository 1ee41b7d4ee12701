"""Execution listeners over real gRPC: start listeners before the element, end listeners after it,
each a job done by a worker, in order, as Zeebe runs them."""
from __future__ import annotations

import json
import time

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy


def listeners(*pairs: tuple) -> str:
    body = "".join(f'<zeebe:executionListener eventType="{event}" type="{job_type}"'
                   + (f' retries="{retries}"' if retries else "") + "/>" for event, job_type, retries in pairs)
    return f"<zeebe:executionListeners>{body}</zeebe:executionListeners>"


def listened_task(task_id: str, job_type: str, extra: str) -> str:
    return (f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/>'
            f'{extra}</bpmn:extensionElements></bpmn:serviceTask>')


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_start_and_end_listeners_run_in_order_around_the_task(stub, zeebe):
    extra = listeners(("start", "before-1", None), ("start", "before-2", None), ("end", "after", None))
    body = ('<bpmn:startEvent id="s"/>' + listened_task("t", "work", extra) + m.service_task("next", "next")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "next", "e"))
    deploy(stub, "l.bpmn", m.process("listened", body))
    key = create(stub, "listened")
    first = activate_one(stub, "before-1")
    assert activate(stub, "before-2") == [] and activate(stub, "work") == []  # one after the other
    complete(stub, first.key, {"checked": True})
    second = activate_one(stub, "before-2")
    assert activate(stub, "work") == []
    complete(stub, second.key)
    work = activate_one(stub, "work")
    assert json.loads(work.variables)["checked"] is True  # a start listener's variables reach the element
    complete(stub, work.key, {"result": 7})
    assert activate(stub, "next") == []  # the end listener runs before the token leaves
    after = activate_one(stub, "after")
    assert json.loads(after.variables)["result"] == 7
    complete(stub, after.key, {"audited": "yes"})
    nxt = activate_one(stub, "next")
    assert json.loads(nxt.variables)["audited"] == "yes"
    complete(stub, nxt.key)
    wait_until(lambda: zeebe.process_instance(key)["state"] == "COMPLETED")
    start_variables = zeebe.variables(key)
    assert "checked" not in start_variables  # local to the task
    assert start_variables["audited"] == "yes" and start_variables["result"] == 7


def test_end_listener_on_a_start_event(stub, zeebe):
    body = (f'<bpmn:startEvent id="s"><bpmn:extensionElements>{listeners(("end", "migrator", None))}'
            '</bpmn:extensionElements></bpmn:startEvent>' + m.service_task("t", "work") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "t", "e"))
    deploy(stub, "l.bpmn", m.process("started", body))
    create(stub, "started")
    assert activate(stub, "work") == []
    complete(stub, activate_one(stub, "migrator").key)
    activate_one(stub, "work")


def test_a_failing_listener_raises_an_incident_and_resumes_after_resolution(stub, zeebe):
    extra = listeners(("start", "fragile", "1"))
    body = ('<bpmn:startEvent id="s"/>' + listened_task("t", "work", extra) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "t", "e"))
    deploy(stub, "l.bpmn", m.process("fragile", body))
    create(stub, "fragile")
    job = activate_one(stub, "fragile")
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0, errorMessage="listener broke"))
    wait_until(lambda: zeebe.incidents())
    [incident] = zeebe.incidents()
    assert incident["element_id"] == "t" and incident["job_key"] == job.key
    stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=1))
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
    complete(stub, activate_one(stub, "fragile").key)
    activate_one(stub, "work")


def test_cancelling_during_a_listener_drops_its_job(stub, zeebe):
    extra = listeners(("start", "slow-listener", None))
    body = ('<bpmn:startEvent id="s"/>' + listened_task("t", "work", extra) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "t", "e"))
    deploy(stub, "l.bpmn", m.process("cancelled", body))
    key = create(stub, "cancelled")
    job = activate_one(stub, "slow-listener")
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=key))
    assert zeebe.jobs() == []
    try:
        complete(stub, job.key)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
    else:
        raise AssertionError("completing a dropped listener job must fail")


def test_a_listener_whose_type_cannot_be_evaluated_is_an_incident_and_resumes(stub, zeebe):
    extra = listeners(("start", "=listenerType", None))
    body = ('<bpmn:startEvent id="s"/>' + listened_task("t", "work", extra) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "t", "e"))
    deploy(stub, "l.bpmn", m.process("typed", body))
    key = create(stub, "typed")
    wait_until(lambda: zeebe.incidents())
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "EXTRACT_VALUE_ERROR" and incident["element_id"] == "t"
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"listenerType": "late-bound"}'))
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
    complete(stub, activate_one(stub, "late-bound").key)
    activate_one(stub, "work")
