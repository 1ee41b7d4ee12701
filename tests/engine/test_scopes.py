"""Scopes over real gRPC: embedded subprocesses (variables, boundary events, nesting), event
subprocesses (message, timer and error starts; interrupting or not) and the terminate end event,
written from Zeebe 8.8's documented behaviour."""
from __future__ import annotations

import json

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, publish, rpc_error, state_of


def sub(sub_id: str, inner: str, *, attrs: str = "", extra: str = "", start: str = "") -> str:
    start = start or f'<bpmn:startEvent id="{sub_id}_s"/>'
    return f'<bpmn:subProcess id="{sub_id}"{attrs}>{extra}{start}{inner}</bpmn:subProcess>'


def message_start(start_id: str, message_ref: str, interrupting: bool = True) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return (f'<bpmn:startEvent id="{start_id}"{flag}><bpmn:messageEventDefinition messageRef="{message_ref}"/>'
            '</bpmn:startEvent>')


def timer_start(start_id: str, duration: str, interrupting: bool = True) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return (f'<bpmn:startEvent id="{start_id}"{flag}><bpmn:timerEventDefinition><bpmn:timeDuration>{duration}'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>')


def error_start(start_id: str, error_ref: str = "") -> str:
    ref = f' errorRef="{error_ref}"' if error_ref else ""
    return f'<bpmn:startEvent id="{start_id}"><bpmn:errorEventDefinition{ref}/></bpmn:startEvent>'


def event_sub(esp_id: str, start: str, job_type: str) -> str:
    start_id = start.split('id="', 1)[1].split('"', 1)[0]
    inner = (m.service_task(f"{esp_id}_t", job_type) + f'<bpmn:endEvent id="{esp_id}_e"/>'
             + m.chain(start_id, f"{esp_id}_t", f"{esp_id}_e"))
    return sub(esp_id, inner, attrs=' triggeredByEvent="true"', start=start)


def test_embedded_subprocess_has_its_own_variable_scope(zeebe, stub):
    inner = m.service_task("a", "inner") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "a", "sub_e")
    body = ('<bpmn:startEvent id="s"/>'
            + sub("sub", inner, extra="<bpmn:extensionElements>" + m.io_mapping(inputs=[("= n * 10", "local")])
                  + "</bpmn:extensionElements>")
            + m.service_task("b", "after") + '<bpmn:endEvent id="e"/>' + m.chain("s", "sub", "b", "e"))
    deploy(stub, "sub.bpmn", m.process("scoped", body))
    key = create(stub, "scoped", {"n": 2})
    job = activate_one(stub, "inner")
    assert json.loads(job.variables) == {"n": 2, "local": 20}
    complete(stub, job.key, {"local": 21, "fresh": "x"})  # local updates the subprocess's variable
    after = activate_one(stub, "after")
    assert json.loads(after.variables) == {"n": 2, "fresh": "x"}  # local stayed in the subprocess
    complete(stub, after.key)
    assert state_of(zeebe, key) == "COMPLETED"
    records = {r["element_id"]: r for r in zeebe.records(process_instance_key=key, intent="ELEMENT_ACTIVATED")}
    assert records["sub"]["bpmn_element_type"] == "SUB_PROCESS" and records["sub"]["flow_scope_key"] == key
    assert records["a"]["flow_scope_key"] == records["sub"]["element_instance_key"]
    assert records["sub_s"]["flow_scope_key"] == records["sub"]["element_instance_key"]
    completed = [r["element_id"] for r in zeebe.records(process_instance_key=key, intent="ELEMENT_COMPLETED")]
    assert completed == ["s", "sub_s", "a", "sub_e", "sub", "b", "e", "scoped"]


def test_subprocess_output_mapping_propagates_only_the_mapped_result(zeebe, stub):
    inner = m.service_task("a", "inner") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "a", "sub_e")
    mapping = "<bpmn:extensionElements>" + m.io_mapping(inputs=[("= 1", "tmp")], outputs=[("= tmp + 1", "out")]) + \
        "</bpmn:extensionElements>"
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner, extra=mapping) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "sub", "e"))
    deploy(stub, "sub.bpmn", m.process("mapped", body))
    key = create(stub, "mapped")
    complete(stub, activate_one(stub, "inner").key, {"tmp": 5})
    assert zeebe.variables(key) == {"out": 6}


def test_nested_subprocesses_and_an_error_caught_on_the_outer_one(zeebe, stub):
    innermost = m.service_task("deep", "deep") + '<bpmn:endEvent id="c_e"/>' + m.chain("c_s", "deep", "c_e")
    middle = sub("c", innermost) + '<bpmn:endEvent id="b_e"/>' + m.chain("b_s", "c", "b_e")
    outer = sub("b", middle) + '<bpmn:endEvent id="a_e"/>' + m.chain("a_s", "b", "a_e")
    body = ('<bpmn:startEvent id="s"/>' + sub("a", outer) + '<bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="failed" attachedToRef="a"><bpmn:errorEventDefinition errorRef="err"/>'
            '</bpmn:boundaryEvent>' + m.service_task("repair", "repair") + m.chain("s", "a", "e")
            + m.chain("failed", "repair"))
    deploy(stub, "deep.bpmn", m.process("deep", body, extra=m.error("err", "BROKEN")))
    key = create(stub, "deep")
    job = activate_one(stub, "deep")
    view = zeebe.process_instance(key)
    assert [e["element_id"] for e in view["elements"]] == ["a", "b", "c", "deep"]
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="BROKEN"), timeout=10)
    repair = activate_one(stub, "repair")
    assert [e["element_id"] for e in zeebe.process_instance(key)["elements"]] == ["repair"]
    terminated = [r["element_id"] for r in zeebe.records(process_instance_key=key, intent="ELEMENT_TERMINATED")]
    assert terminated == ["deep", "c", "b", "a"]  # inside out
    complete(stub, repair.key)
    assert state_of(zeebe, key) == "COMPLETED"


def test_timer_boundary_on_a_subprocess_interrupts_everything_inside(zeebe, stub):
    inner = m.service_task("a", "slow") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "a", "sub_e")
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + '<bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="late" attachedToRef="sub"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            + m.service_task("chase", "chase") + m.chain("s", "sub", "e") + m.chain("late", "chase"))
    deploy(stub, "late.bpmn", m.process("late", body))
    key = create(stub, "late")
    activate_one(stub, "slow")
    zeebe.increase_time(3600)
    assert [j["type"] for j in zeebe.jobs()] == ["chase"]  # the inner job was cancelled
    complete(stub, activate_one(stub, "chase").key)
    assert state_of(zeebe, key) == "COMPLETED"


def test_non_interrupting_message_boundary_on_a_subprocess(zeebe, stub):
    inner = m.service_task("a", "work") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "a", "sub_e")
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + '<bpmn:endEvent id="e"/>'
            '<bpmn:boundaryEvent id="ping" attachedToRef="sub" cancelActivity="false">'
            '<bpmn:messageEventDefinition messageRef="msg"/></bpmn:boundaryEvent>'
            + m.service_task("note", "note") + '<bpmn:endEvent id="e2"/>'
            + m.chain("s", "sub", "e") + m.chain("ping", "note", "e2"))
    deploy(stub, "ping.bpmn", m.process("ping", body, extra=m.message("msg", "status", "=orderId")))
    key = create(stub, "ping", {"orderId": "o1"})
    work = activate_one(stub, "work")
    publish(stub, "status", "o1", {"asked": True})
    complete(stub, activate_one(stub, "note").key)
    assert state_of(zeebe, key) == "ACTIVE"  # the subprocess still runs
    complete(stub, work.key)
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.variables(key)["asked"] is True


def test_interrupting_message_event_subprocess_at_process_level(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("main", "main") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "main", "e") + event_sub("cancel", message_start("cancel_s", "msg"), "undo"))
    deploy(stub, "esp.bpmn", m.process("esp", body, extra=m.message("msg", "cancel-order", "=orderId")))
    key = create(stub, "esp", {"orderId": "o1"})
    activate_one(stub, "main")
    other = create(stub, "esp", {"orderId": "o2"})
    publish(stub, "cancel-order", "o1", {"reason": "customer"})
    undo = activate_one(stub, "undo")
    assert undo.processInstanceKey == key and json.loads(undo.variables)["reason"] == "customer"
    assert [j["type"] for j in zeebe.jobs() if j["process_instance_key"] == key] == ["undo"]  # main terminated
    complete(stub, undo.key)
    assert state_of(zeebe, key) == "COMPLETED" and state_of(zeebe, other) == "ACTIVE"
    [esp] = zeebe.records(element_id="cancel", intent="ELEMENT_ACTIVATED")
    assert esp["bpmn_element_type"] == "EVENT_SUB_PROCESS" and esp["flow_scope_key"] == key
    assert zeebe.stats()["subscriptions"] == 1  # only o2's instance still listens


def test_non_interrupting_timer_event_subprocess_runs_beside_the_main_flow(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("main", "main") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "main", "e") + event_sub("remind", timer_start("remind_s", "PT10M", False), "remind"))
    deploy(stub, "esp.bpmn", m.process("esp", body))
    key = create(stub, "esp")
    main = activate_one(stub, "main")
    zeebe.increase_time(600)
    reminder = activate_one(stub, "remind")
    complete(stub, main.key)
    assert state_of(zeebe, key) == "ACTIVE"  # the event subprocess is still running
    complete(stub, reminder.key)
    assert state_of(zeebe, key) == "COMPLETED"


def test_event_subprocess_timer_is_closed_when_the_scope_completes(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/>' + m.service_task("main", "main") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "main", "e") + event_sub("remind", timer_start("remind_s", "PT10M", False), "remind"))
    deploy(stub, "esp.bpmn", m.process("esp", body))
    key = create(stub, "esp")
    complete(stub, activate_one(stub, "main").key)
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.stats()["scheduled"] == 0
    assert [r["intent"] for r in zeebe.records(value_type="TIMER")] == ["CREATED", "CANCELED"]


def test_error_event_subprocess_inside_a_subprocess(zeebe, stub):
    inner = (m.service_task("risky", "risky") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "risky", "sub_e")
             + event_sub("handler", error_start("handler_s", "err"), "handle"))
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + m.service_task("next", "next")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "sub", "next", "e"))
    deploy(stub, "err.bpmn", m.process("err", body, extra=m.error("err", "BAD")))
    key = create(stub, "err")
    job = activate_one(stub, "risky")
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="BAD", variables='{"why": "bad"}'), timeout=10)
    handle = activate_one(stub, "handle")
    assert json.loads(handle.variables)["why"] == "bad"
    complete(stub, handle.key)
    complete(stub, activate_one(stub, "next").key)  # the subprocess completed after its handler
    assert state_of(zeebe, key) == "COMPLETED"


def test_error_end_event_in_a_subprocess_caught_by_a_process_event_subprocess(zeebe, stub):
    inner = ('<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent>'
             + m.chain("sub_s", "fail"))
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + '<bpmn:endEvent id="e"/>' + m.chain("s", "sub", "e")
            + event_sub("catch_all", error_start("catch_all_s"), "handle"))
    deploy(stub, "err.bpmn", m.process("err", body, extra=m.error("err", "OOPS")))
    key = create(stub, "err")
    complete(stub, activate_one(stub, "handle").key)
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.records(element_id="e") == []  # the normal end was never reached


def test_terminate_end_event_ends_the_process(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/>' + m.service_task("slow", "slow")
            + '<bpmn:endEvent id="e"/><bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
            + m.service_task("quick", "quick") + m.chain("s", "fork") + m.flow("f1", "fork", "slow")
            + m.flow("f2", "fork", "quick") + m.chain("slow", "e") + m.chain("quick", "stop"))
    deploy(stub, "term.bpmn", m.process("term", body))
    key = create(stub, "term")
    complete(stub, activate_one(stub, "quick").key)
    assert state_of(zeebe, key) == "COMPLETED" and zeebe.jobs() == []
    assert zeebe.records(element_id="slow", intent="ELEMENT_TERMINATED")
    [stop] = zeebe.records(element_id="stop", intent="ELEMENT_COMPLETED")
    assert stop["bpmn_event_type"] == "TERMINATE"


def test_terminate_end_event_in_a_subprocess_ends_only_the_subprocess(zeebe, stub):
    inner = ('<bpmn:parallelGateway id="fork"/>' + m.service_task("waits", "waits") + '<bpmn:endEvent id="sub_e"/>'
             '<bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
             + m.chain("sub_s", "fork") + m.flow("f1", "fork", "waits") + m.flow("f2", "fork", "stop")
             + m.chain("waits", "sub_e"))
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + m.service_task("after", "after")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "sub", "after", "e"))
    deploy(stub, "term.bpmn", m.process("term", body))
    key = create(stub, "term")
    job = activate_one(stub, "after")
    assert job.processInstanceKey == key and [j["type"] for j in zeebe.jobs()] == ["after"]
    assert activate(stub, "waits") == []


@pytest.mark.parametrize("body, text", [
    (sub("sub", '<bpmn:endEvent id="x"/>' + m.chain("sub_s", "x"), start=message_start("sub_s", "msg")),
     "the start event of an embedded subprocess must be a none start event"),
    (event_sub("esp", '<bpmn:startEvent id="esp_s"/>', "t"), "the start event of an event subprocess must have"),
    (event_sub("esp", '<bpmn:startEvent id="esp_s" isInterrupting="false"><bpmn:errorEventDefinition/>'
               '</bpmn:startEvent>', "t"), "an error start event is always interrupting"),
    (sub("two", '<bpmn:startEvent id="two_s2"/><bpmn:endEvent id="x"/>' + m.chain("two_s", "x")),
     "Must have exactly one start event, found 2"),
    ('<bpmn:startEvent id="ts"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration>'
     '</bpmn:timerEventDefinition></bpmn:startEvent>', "a timer 'timeDuration' is not allowed here"),
])
def test_scope_refusals(stub, body, text):
    full = '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + m.chain("s", "e") + body
    details = rpc_error(lambda: deploy(stub, "bad.bpmn", m.process("bad", full, extra=m.message("msg", "m"))),
                        grpc.StatusCode.INVALID_ARGUMENT)
    assert text in details


def test_sequence_flow_across_scopes_is_refused(stub):
    inner = '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "sub_e")
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "sub", "e") + m.flow("across", "s", "sub_e"))
    details = rpc_error(lambda: deploy(stub, "x.bpmn", m.process("x", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "Sequence flow 'across'" in details and "not in the same (sub)process" in details


def test_non_interrupting_message_event_subprocess_inside_a_subprocess(zeebe, stub):
    inner = (m.service_task("work", "work") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "work", "sub_e")
             + event_sub("note", message_start("note_s", "msg", interrupting=False), "note"))
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner) + '<bpmn:endEvent id="e"/>' + m.chain("s", "sub", "e"))
    deploy(stub, "esp.bpmn", m.process("esp", body, extra=m.message("msg", "ping", "=orderId")))
    key = create(stub, "esp", {"orderId": "o9"})
    work = activate_one(stub, "work")
    publish(stub, "ping", "o9", {"n": 1})
    publish(stub, "ping", "o9", {"n": 2})  # still subscribed: non-interrupting
    notes = [activate_one(stub, "note"), activate_one(stub, "note")]
    for job in notes:
        complete(stub, job.key)
    complete(stub, work.key)
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.stats()["subscriptions"] == 0  # closed with the subprocess


def test_event_subprocess_inside_each_instance_of_a_multi_instance_subprocess(zeebe, stub):
    inner = (m.service_task("risky", "risky") + '<bpmn:endEvent id="sub_e"/>' + m.chain("sub_s", "risky", "sub_e")
             + event_sub("handler", error_start("handler_s"), "handle"))
    loop = ('<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>'
            '<zeebe:loopCharacteristics inputCollection="= items" inputElement="item"/></bpmn:extensionElements>'
            '</bpmn:multiInstanceLoopCharacteristics>')
    body = ('<bpmn:startEvent id="s"/>' + sub("sub", inner, extra=loop) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "sub", "e"))
    deploy(stub, "mi-esp.bpmn", m.process("miesp", body))
    key = create(stub, "miesp", {"items": [1, 2]})
    jobs = {json.loads(j.variables)["item"]: j for j in activate(stub, "risky", request_timeout_ms=5000)}
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=jobs[1].key, errorCode="X"), timeout=10)
    handle = activate_one(stub, "handle")
    assert json.loads(handle.variables)["item"] == 1  # handled inside the instance for item 1
    complete(stub, handle.key)
    assert state_of(zeebe, key) == "ACTIVE"  # the instance for item 2 still runs
    complete(stub, jobs[2].key)
    assert state_of(zeebe, key) == "COMPLETED"
