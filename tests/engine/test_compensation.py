"""Compensation over real gRPC: handlers of completed activities started by a compensation throw
or end event, once each, the throwing event waiting for them (Zeebe's documented behaviour)."""
from __future__ import annotations

import time

import grpc

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, rpc_error


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def compensable(task_id: str) -> str:
    """A service task with a compensation boundary event and its handler ``undo_<task_id>``."""
    handler = (f'<bpmn:serviceTask id="undo_{task_id}" isForCompensation="true"><bpmn:extensionElements>'
               f'<zeebe:taskDefinition type="undo_{task_id}"/></bpmn:extensionElements></bpmn:serviceTask>')
    return (m.service_task(task_id, task_id)
            + f'<bpmn:boundaryEvent id="comp_{task_id}" attachedToRef="{task_id}">'
              '<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>' + handler
            + f'<bpmn:association id="a_{task_id}" sourceRef="comp_{task_id}" targetRef="undo_{task_id}"/>')


def throw(event_id: str, activity: str = "") -> str:
    ref = f' activityRef="{activity}"' if activity else ""
    return (f'<bpmn:intermediateThrowEvent id="{event_id}"><bpmn:compensateEventDefinition{ref}/>'
            '</bpmn:intermediateThrowEvent>')


def test_throw_starts_the_handlers_of_completed_activities_and_waits(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + compensable("book") + compensable("pay") + throw("undo_all")
            + m.service_task("after", "after") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "book", "pay", "undo_all", "after", "e"))
    deploy(stub, "c.bpmn", m.process("comp", body))
    key = create(stub, "comp")
    complete(stub, activate_one(stub, "book").key)
    complete(stub, activate_one(stub, "pay").key)
    undo_pay, undo_book = activate_one(stub, "undo_pay"), activate_one(stub, "undo_book")
    complete(stub, undo_pay.key)
    assert activate(stub, "after") == []  # the throw event waits for every handler
    complete(stub, undo_book.key)
    complete(stub, activate_one(stub, "after").key)
    wait_until(lambda: zeebe.process_instance(key)["state"] == "COMPLETED")


def test_activity_ref_compensates_only_that_activity_and_only_once(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + compensable("book") + compensable("pay") + throw("undo_pay_only", "pay")
            + throw("again", "pay") + m.service_task("after", "after") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "book", "pay", "undo_pay_only", "again", "after", "e"))
    deploy(stub, "c.bpmn", m.process("comp", body))
    create(stub, "comp")
    complete(stub, activate_one(stub, "book").key)
    complete(stub, activate_one(stub, "pay").key)
    complete(stub, activate_one(stub, "undo_pay").key)
    activate_one(stub, "after")  # the second throw found nothing left to compensate
    assert activate(stub, "undo_book") == [] and activate(stub, "undo_pay") == []


def test_activities_not_completed_are_not_compensated(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + throw("nothing_yet") + compensable("book") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "nothing_yet", "book", "e"))
    deploy(stub, "c.bpmn", m.process("comp", body))
    create(stub, "comp")
    activate_one(stub, "book")
    assert activate(stub, "undo_book") == []


def test_compensation_end_event_inside_a_subprocess_compensates_its_completed_activities(stub, zeebe):
    inner = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/>' + compensable("reserve")
             + '<bpmn:endEvent id="se"><bpmn:compensateEventDefinition/></bpmn:endEvent>'
             + m.chain("ss", "reserve", "se") + '</bpmn:subProcess>')
    body = ('<bpmn:startEvent id="s"/>' + inner + m.service_task("after", "after") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "sub", "after", "e"))
    deploy(stub, "c.bpmn", m.process("comp", body))
    create(stub, "comp")
    complete(stub, activate_one(stub, "reserve").key)
    complete(stub, activate_one(stub, "undo_reserve").key)
    activate_one(stub, "after")


def test_outer_throw_compensates_inside_a_completed_subprocess(stub, zeebe):
    inner = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/>' + compensable("reserve")
             + '<bpmn:endEvent id="se"/>' + m.chain("ss", "reserve", "se") + '</bpmn:subProcess>')
    body = ('<bpmn:startEvent id="s"/>' + inner + throw("undo_sub", "sub") + m.service_task("after", "after")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "sub", "undo_sub", "after", "e"))
    deploy(stub, "c.bpmn", m.process("comp", body))
    create(stub, "comp")
    complete(stub, activate_one(stub, "reserve").key)
    complete(stub, activate_one(stub, "undo_reserve").key)
    activate_one(stub, "after")


def test_compensation_refusals(stub):
    lonely = ('<bpmn:startEvent id="s"/>' + m.service_task("t", "t")
              + '<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
              + '<bpmn:intermediateThrowEvent id="x"><bpmn:compensateEventDefinition waitForCompletion="false"/>'
                '</bpmn:intermediateThrowEvent><bpmn:endEvent id="e"/>' + m.chain("s", "t", "x", "e"))
    details = rpc_error(lambda: deploy(stub, "c.bpmn", m.process("comp", lonely)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "must be associated with a compensation handler" in details
    assert "waitForCompletion='false' is not supported" in details
