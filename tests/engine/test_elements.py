"""Each BPMN element of the supported subset, run over real gRPC."""
from __future__ import annotations

import json
import threading

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from tests.support.net import wait_until

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, create_with_result, deploy, publish, rpc_error, state_of


def gateway_process(default: bool = True) -> bytes:
    body = ('<bpmn:startEvent id="s"/>'
            f'<bpmn:exclusiveGateway id="gw"{" default=" + chr(34) + "small" + chr(34) if default else ""}/>'
            + m.service_task("insured", "ship-insured") + m.service_task("plain", "ship-plain")
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
            + m.flow("f0", "s", "gw") + m.flow("big", "gw", "insured", "= totalPrice > 100")
            + (m.flow("small", "gw", "plain") if default else m.flow("small", "gw", "plain", "= totalPrice <= 10"))
            + m.chain("insured", "e1") + m.chain("plain", "e2"))
    return m.process("gw", body)


def test_exclusive_gateway_condition_and_default(stub):
    deploy(stub, "gw.bpmn", gateway_process())
    create(stub, "gw", {"totalPrice": 150})
    create(stub, "gw", {"totalPrice": 50})
    assert activate_one(stub, "ship-insured").elementId == "insured"
    assert activate_one(stub, "ship-plain").elementId == "plain"


def test_exclusive_gateway_without_match_raises_incident_until_fixed(zeebe, stub):
    deploy(stub, "gw.bpmn", gateway_process(default=False))
    key = create(stub, "gw", {"totalPrice": 50})
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "CONDITION_ERROR" and incident["element_id"] == "gw"
    assert "Expected at least one condition to evaluate to true" in incident["error_message"]
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"totalPrice": 500}'))
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
    assert activate_one(stub, "ship-insured").processInstanceKey == key


def test_condition_that_is_not_boolean_raises_extract_value_incident(zeebe, stub):
    deploy(stub, "gw.bpmn", gateway_process())
    create(stub, "gw", {"totalPrice": "lots"})
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "EXTRACT_VALUE_ERROR"
    assert "to be 'BOOLEAN', but was 'NULL'" in incident["error_message"]


def test_parallel_fork_and_join(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>'
            + m.service_task("a", "branch-a") + m.service_task("b", "branch-b") + m.service_task("after", "after")
            + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "fork") + m.flow("fa", "fork", "a") + m.flow("fb", "fork", "b")
            + m.flow("ja", "a", "join") + m.flow("jb", "b", "join") + m.chain("join", "after", "e"))
    deploy(stub, "par.bpmn", m.process("par", body))
    key = create(stub, "par")
    complete(stub, activate_one(stub, "branch-a").key, {"a": 1})
    assert activate(stub, "after") == []  # the join waits for branch b
    complete(stub, activate_one(stub, "branch-b").key, {"b": 2})
    job = activate_one(stub, "after")
    assert json.loads(job.variables) == {"a": 1, "b": 2}
    complete(stub, job.key)
    assert state_of(zeebe, key) == "COMPLETED"


def test_timer_catch_event(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>=delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            + m.service_task("t", "after-timer") + '<bpmn:endEvent id="e"/>' + m.chain("s", "pause", "t", "e"))
    deploy(stub, "timer.bpmn", m.process("timer", body))
    key = create(stub, "timer", {"delay": "PT0.2S"})
    [view] = zeebe.process_instances()
    assert [e["element_id"] for e in view["elements"]] == ["pause"]
    job = activate_one(stub, "after-timer")  # parked until the timer fires
    assert job.processInstanceKey == key


def test_io_mappings(zeebe, stub):
    task = m.service_task("t", "io", inputs=[("=customer.name", "sender"), ("=sender + \"!\"", "shout")],
                          outputs=[("=status", "paymentStatus"), ("=status", "result.detail.status")])
    deploy(stub, "io.bpmn", m.process("io", '<bpmn:startEvent id="s"/>' + task + '<bpmn:endEvent id="e"/>'
                                      + m.chain("s", "t", "e")))
    key = create(stub, "io", {"customer": {"name": "Ada"}, "result": {"kept": True}})
    job = activate_one(stub, "io")
    variables = json.loads(job.variables)
    assert variables["sender"] == "Ada" and variables["shout"] == "Ada!"
    complete(stub, job.key, {"status": "paid", "noise": 1})
    assert zeebe.variables(key) == {"customer": {"name": "Ada"}, "paymentStatus": "paid",
                                    "result": {"kept": True, "detail": {"status": "paid"}}}


def test_io_mapping_of_a_missing_variable_gives_null(zeebe, stub):
    task = m.service_task("t", "io", inputs=[("=x.y.z", "y")])
    deploy(stub, "io.bpmn", m.process("io", '<bpmn:startEvent id="s"/>' + task + '<bpmn:endEvent id="e"/>'
                                      + m.chain("s", "t", "e")))
    create(stub, "io", {"other": 1})
    assert json.loads(activate_one(stub, "io").variables) == {"other": 1, "y": None}


def error_boundary_process() -> bytes:
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("pay", "payment")
            + '<bpmn:boundaryEvent id="bad-card" attachedToRef="pay"><bpmn:errorEventDefinition errorRef="err_cc"/>'
            '</bpmn:boundaryEvent>'
            '<bpmn:boundaryEvent id="any" attachedToRef="pay"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>'
            + m.service_task("fix", "fix-card") + m.service_task("other", "other-error")
            + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>'
            + m.chain("s", "pay", "e") + m.chain("bad-card", "fix", "e2") + m.chain("any", "other", "e3"))
    return m.process("pay", body, extra=m.error("err_cc", "Invalid Credit Card"))


def test_error_boundary_event_catches_thrown_error(zeebe, stub):
    deploy(stub, "pay.bpmn", error_boundary_process())
    key = create(stub, "pay")
    job = activate_one(stub, "payment")
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="Invalid Credit Card", variables='{"why": "expired"}'))
    fix = activate_one(stub, "fix-card")
    assert json.loads(fix.variables) == {"why": "expired"}
    rpc_error(lambda: complete(stub, job.key), grpc.StatusCode.NOT_FOUND)
    complete(stub, fix.key)
    assert state_of(zeebe, key) == "COMPLETED"
    create(stub, "pay")
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=activate_one(stub, "payment").key, errorCode="Other"))
    assert activate_one(stub, "other-error").elementId == "other"  # the catch-all


def test_error_boundary_with_duplicate_codes_is_refused(stub):
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("pay", "payment")
            + '<bpmn:boundaryEvent id="b1" attachedToRef="pay"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>'
            '<bpmn:boundaryEvent id="b2" attachedToRef="pay"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>'
            '<bpmn:endEvent id="e"/>' + m.chain("s", "pay", "e"))
    details = rpc_error(lambda: deploy(stub, "d.bpmn", m.process("d", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "more than one catch-all" in details


def call_processes(stub) -> None:
    child = ('<bpmn:startEvent id="cs"/>' + m.service_task("ct", "child-work") + '<bpmn:endEvent id="ce"/>'
             + m.chain("cs", "ct", "ce"))
    deploy(stub, "child.bpmn", m.process("child", child))
    parent = ('<bpmn:startEvent id="s"/><bpmn:callActivity id="call"><bpmn:extensionElements>'
              '<zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>'
              + m.service_task("after", "parent-after") + '<bpmn:endEvent id="e"/>'
              '<bpmn:boundaryEvent id="failed" attachedToRef="call"><bpmn:errorEventDefinition errorRef="boom"/>'
              '</bpmn:boundaryEvent>' + m.service_task("recover", "recover") + '<bpmn:endEvent id="e2"/>'
              + m.chain("s", "call", "after", "e") + m.chain("failed", "recover", "e2"))
    deploy(stub, "parent.bpmn", m.process("parent", parent, extra=m.error("boom", "BOOM")))


def test_call_activity_copies_variables_in_and_back(zeebe, stub):
    call_processes(stub)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", create_with_result(stub, "parent", {"order": 7})))
    thread.start()
    job = activate_one(stub, "child-work")
    assert json.loads(job.variables) == {"order": 7} and job.bpmnProcessId == "child"
    child_key = job.processInstanceKey
    details = rpc_error(lambda: stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(
        processInstanceKey=child_key)), grpc.StatusCode.FAILED_PRECONDITION)
    assert "created by a parent process instance" in details
    complete(stub, job.key, {"shipped": True})
    after = activate_one(stub, "parent-after")
    assert json.loads(after.variables) == {"order": 7, "shipped": True}
    complete(stub, after.key)
    thread.join(30)
    assert json.loads(result["r"].variables) == {"order": 7, "shipped": True}
    assert zeebe.process_instance(child_key)["parent_process_instance_key"] == result["r"].processInstanceKey


def test_error_in_child_is_caught_by_call_activity_boundary(zeebe, stub):
    call_processes(stub)
    key = create(stub, "parent")
    job = activate_one(stub, "child-work")
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="BOOM"))
    assert activate_one(stub, "recover").processInstanceKey == key
    assert state_of(zeebe, job.processInstanceKey) == "TERMINATED"


def test_cancel_parent_cancels_child(zeebe, stub):
    call_processes(stub)
    key = create(stub, "parent")
    job = activate_one(stub, "child-work")
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=key))
    assert state_of(zeebe, job.processInstanceKey) == "TERMINATED"
    assert zeebe.jobs() == []


def test_call_activity_of_undeployed_process_raises_incident(zeebe, stub):
    parent = ('<bpmn:startEvent id="s"/><bpmn:callActivity id="call"><bpmn:extensionElements>'
              '<zeebe:calledElement processId="later"/></bpmn:extensionElements></bpmn:callActivity>'
              '<bpmn:endEvent id="e"/>' + m.chain("s", "call", "e"))
    deploy(stub, "p.bpmn", m.process("p", parent))
    create(stub, "p")
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "CALLED_ELEMENT_ERROR" and "'later'" in incident["error_message"]
    deploy(stub, "later.bpmn", m.tasks_process("later", ["later-work"]))
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
    assert activate_one(stub, "later-work").bpmnProcessId == "later"


def test_error_end_event_in_child_is_caught_by_parent(zeebe, stub):
    child = ('<bpmn:startEvent id="cs"/><bpmn:endEvent id="ce"><bpmn:errorEventDefinition errorRef="boom"/>'
             '</bpmn:endEvent>' + m.chain("cs", "ce"))
    deploy(stub, "child.bpmn", m.process("child", child, extra=m.error("boom", "BOOM")))
    call_processes(stub)  # redeploys "child" with a task: deploy the error child again after it
    deploy(stub, "child.bpmn", m.process("child", child, extra=m.error("boom", "BOOM")))
    key = create(stub, "parent")
    assert activate_one(stub, "recover").processInstanceKey == key


def test_uncaught_error_end_event_raises_incident(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:endEvent id="ee"><bpmn:errorEventDefinition errorRef="boom"/>'
            '</bpmn:endEvent>' + m.chain("s", "ee"))
    deploy(stub, "ee.bpmn", m.process("ee", body, extra=m.error("boom", "BOOM")))
    create(stub, "ee")
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "UNHANDLED_ERROR_EVENT" and "'BOOM'" in incident["error_message"]


def test_intermediate_none_throw_event_passes_through(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="milestone"/>' + m.service_task("t", "after")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "milestone", "t", "e"))
    deploy(stub, "ms.bpmn", m.process("ms", body))
    key = create(stub, "ms")
    assert activate_one(stub, "after").processInstanceKey == key


def test_a_loop_without_wait_state_does_not_freeze_the_engine(zeebe, stub):
    # start -> gw --(default)--> spin -> gw ... forever: the engine must stay responsive (the flow
    # gives up the lock after each step budget and lets waiting commands in: tests/engine/test_lock.py)
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="again"/>'
            '<bpmn:intermediateThrowEvent id="spin"/><bpmn:endEvent id="e"/>'
            + m.flow("f0", "s", "gw") + m.flow("out", "gw", "e", "= stop = true") + m.flow("again", "gw", "spin")
            + m.flow("back", "spin", "gw"))
    deploy(stub, "loop.bpmn", m.process("loop", body))
    deploy(stub, "demo.bpmn", m.tasks_process("demo", ["work"]))
    looping = create(stub, "loop")
    other = create(stub, "demo")  # answered while the loop spins
    assert activate_one(stub, "work").processInstanceKey == other
    assert state_of(zeebe, looping) == "ACTIVE" and zeebe.stats()["token_flow_yields"] >= 1
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=looping, variables='{"stop": true}'))
    wait_until(lambda: state_of(zeebe, looping) == "COMPLETED")


def boundary_process(definition: str, *, interrupting: bool = True) -> bytes:
    flag = "" if interrupting else ' cancelActivity="false"'
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("work", "work") + '<bpmn:endEvent id="e"/>'
            f'<bpmn:boundaryEvent id="b" attachedToRef="work"{flag}>{definition}</bpmn:boundaryEvent>'
            + m.service_task("side", "side") + '<bpmn:endEvent id="e2"/>'
            + m.chain("s", "work", "e") + m.chain("b", "side", "e2"))
    return m.process("boundary", body, extra=m.message("ping", "ping", "=orderId"))


TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>{}</bpmn:timeDuration></bpmn:timerEventDefinition>'
MESSAGE = '<bpmn:messageEventDefinition messageRef="ping"/>'


def test_interrupting_timer_boundary_event(zeebe, stub):
    deploy(stub, "b.bpmn", boundary_process(TIMER.format("PT0.1S")))
    key = create(stub, "boundary")
    job = activate_one(stub, "work")
    side = activate_one(stub, "side")  # parked until the timer fires
    assert side.processInstanceKey == key
    rpc_error(lambda: complete(stub, job.key), grpc.StatusCode.NOT_FOUND)  # the task was interrupted
    complete(stub, side.key)
    assert state_of(zeebe, key) == "COMPLETED"


def test_non_interrupting_message_boundary_event(zeebe, stub):
    deploy(stub, "b.bpmn", boundary_process(MESSAGE, interrupting=False))
    key = create(stub, "boundary", {"orderId": "o-1"})
    job = activate_one(stub, "work")
    publish(stub, "ping", "o-1", {"pinged": 1})
    side = activate_one(stub, "side")
    assert json.loads(side.variables) == {"orderId": "o-1", "pinged": 1}
    publish(stub, "ping", "o-1", {"pinged": 2})  # still subscribed: a second token
    second = activate_one(stub, "side")
    complete(stub, side.key)
    complete(stub, second.key)
    assert state_of(zeebe, key) == "ACTIVE"
    complete(stub, job.key)  # the task kept running
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.stats()["subscriptions"] == 0  # closed with its task


def test_interrupting_message_boundary_takes_a_buffered_message(zeebe, stub):
    deploy(stub, "b.bpmn", boundary_process(MESSAGE))
    publish(stub, "ping", "o-2", ttl_ms=60_000)
    key = create(stub, "boundary", {"orderId": "o-2"})
    assert activate_one(stub, "side").processInstanceKey == key
    assert activate(stub, "work") == []


def test_boundary_timer_is_cancelled_when_the_task_completes(zeebe, stub):
    deploy(stub, "b.bpmn", boundary_process(TIMER.format("PT1H")))
    key = create(stub, "boundary")
    assert zeebe.stats()["scheduled"] == 1
    complete(stub, activate_one(stub, "work").key)
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.stats()["scheduled"] == 0
