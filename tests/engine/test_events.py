"""Gateways and events over real gRPC, as Zeebe documents them: event-based and inclusive gateways,
links, signals (with BroadcastSignal), escalations, and timer dates and cycles."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, publish, rpc_error


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def jobs_of(zeebe, job_type: str):
    return [j for j in zeebe.jobs() if j["type"] == job_type]


def task(task_id: str) -> str:
    return m.service_task(task_id, task_id)


def signal(signal_id: str, name: str) -> str:
    return f'<bpmn:signal id="{signal_id}" name="{name}"/>'


def escalation(escalation_id: str, code: str) -> str:
    return f'<bpmn:escalation id="{escalation_id}" escalationCode="{code}"/>'


def timer(kind: str, value: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>"


def broadcast(stub, name: str, variables=None) -> int:
    return stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName=name, variables=json.dumps(variables or {})),
                                timeout=10).key


def instance_state(zeebe, key: int) -> str:
    view = zeebe.process_instance(key)
    return view["state"] if view else "GONE"


def iso_in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------------------------------- event-based gateway
def event_gateway_process(timer_value: str = "PT10S") -> bytes:
    body = ('<bpmn:startEvent id="s"/><bpmn:eventBasedGateway id="gw"/>'
            '<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="msg"/>'
            '</bpmn:intermediateCatchEvent>'
            f'<bpmn:intermediateCatchEvent id="late">{timer("timeDuration", timer_value)}</bpmn:intermediateCatchEvent>'
            '<bpmn:intermediateCatchEvent id="stop"><bpmn:signalEventDefinition signalRef="sig"/>'
            '</bpmn:intermediateCatchEvent>'
            + task("after_paid") + task("after_late") + task("after_stop")
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>'
            + m.flow("f0", "s", "gw") + m.flow("f1", "gw", "paid") + m.flow("f2", "gw", "late")
            + m.flow("f3", "gw", "stop") + m.chain("paid", "after_paid", "e1") + m.chain("late", "after_late", "e2")
            + m.chain("stop", "after_stop", "e3"))
    return m.process("ebg", body, extra=m.message("msg", "paid", "=orderId") + signal("sig", "stop-all"))


def test_event_based_gateway_message_wins_and_closes_the_others(stub, zeebe):
    deploy(stub, "ebg.bpmn", event_gateway_process())
    key = create(stub, "ebg", {"orderId": "o-1"})
    wait_until(lambda: zeebe.stats()["subscriptions"] == 2)
    publish(stub, "paid", "o-1", {"amount": 12})
    job = activate_one(stub, "after_paid")
    assert json.loads(job.variables)["amount"] == 12  # the message's variables reach the scope
    assert zeebe.stats()["subscriptions"] == 0  # the signal subscription was closed with the timer
    broadcast(stub, "stop-all")
    complete(stub, job.key)
    wait_until(lambda: instance_state(zeebe, key) == "COMPLETED")
    assert jobs_of(zeebe, "after_late") == [] and jobs_of(zeebe, "after_stop") == []


def test_event_based_gateway_timer_wins(stub, zeebe):
    deploy(stub, "ebg.bpmn", event_gateway_process("PT0.2S"))
    create(stub, "ebg", {"orderId": "o-2"})
    job = activate_one(stub, "after_late", request_timeout_ms=5000)
    assert job.elementId == "after_late"
    publish(stub, "paid", "o-2")  # too late: nobody listens any more
    assert zeebe.stats()["subscriptions"] == 0 and jobs_of(zeebe, "after_paid") == []


def test_event_based_gateway_signal_wins(stub, zeebe):
    deploy(stub, "ebg.bpmn", event_gateway_process())
    create(stub, "ebg", {"orderId": "o-3"})
    wait_until(lambda: zeebe.stats()["subscriptions"] == 2)
    broadcast(stub, "stop-all", {"reason": "shutdown"})
    job = activate_one(stub, "after_stop")
    assert json.loads(job.variables)["reason"] == "shutdown"
    assert zeebe.stats()["subscriptions"] == 0


def test_event_based_gateway_targets_are_checked_at_deploy(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:eventBasedGateway id="gw"/>' + task("t") + '<bpmn:endEvent id="e"/>'
            + m.flow("f0", "s", "gw") + m.flow("f1", "gw", "t") + m.chain("t", "e"))
    details = rpc_error(lambda: deploy(stub, "x.bpmn", m.process("x", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "Event-based gateway must have at least 2 outgoing sequence flows" in details
    assert "must not have an outgoing sequence flow to other elements" in details


# ---------------------------------------------------------------------------------------- inclusive gateway
def inclusive_process(default: bool = True) -> bytes:
    body = ('<bpmn:startEvent id="s"/>'
            + ('<bpmn:inclusiveGateway id="fork" default="fd"/>' if default else '<bpmn:inclusiveGateway id="fork"/>')
            + task("a") + task("b") + task("d") + '<bpmn:inclusiveGateway id="join"/>' + task("after")
            + '<bpmn:endEvent id="e"/>'
            + m.flow("f0", "s", "fork") + m.flow("fa", "fork", "a", "= x > 1") + m.flow("fb", "fork", "b", "= y > 1")
            + (m.flow("fd", "fork", "d") if default else "")
            + m.flow("ja", "a", "join") + m.flow("jb", "b", "join") + (m.flow("jd", "d", "join") if default else "")
            + m.chain("join", "after", "e"))
    return m.process("incl", body)


def test_inclusive_fork_takes_every_true_flow_and_the_join_waits_for_them(stub, zeebe):
    deploy(stub, "incl.bpmn", inclusive_process())
    key = create(stub, "incl", {"x": 2, "y": 5})
    a, b = activate_one(stub, "a"), activate_one(stub, "b")
    assert jobs_of(zeebe, "d") == []  # the default flow is not taken when a condition holds
    complete(stub, a.key)
    time.sleep(0.1)
    assert jobs_of(zeebe, "after") == []  # b can still reach the join: it waits
    complete(stub, b.key)
    after = activate(stub, "after")
    assert len(after) == 1  # joined once
    complete(stub, after[0].key)
    wait_until(lambda: instance_state(zeebe, key) == "COMPLETED")


def test_inclusive_join_does_not_wait_for_flows_that_were_not_taken(stub, zeebe):
    deploy(stub, "incl.bpmn", inclusive_process())
    create(stub, "incl", {"x": 2, "y": 0})
    complete(stub, activate_one(stub, "a").key)
    assert len(activate(stub, "after", request_timeout_ms=3000)) == 1
    assert jobs_of(zeebe, "b") == [] and jobs_of(zeebe, "d") == []


def test_inclusive_fork_takes_the_default_when_nothing_holds(stub, zeebe):
    deploy(stub, "incl.bpmn", inclusive_process())
    create(stub, "incl", {"x": 0, "y": 0})
    complete(stub, activate_one(stub, "d").key)
    assert len(activate(stub, "after", request_timeout_ms=3000)) == 1


def test_inclusive_fork_without_match_or_default_is_an_incident(stub, zeebe):
    deploy(stub, "incl.bpmn", inclusive_process(default=False))
    key = create(stub, "incl", {"x": 0, "y": 0})
    wait_until(lambda: zeebe.incidents())
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "CONDITION_ERROR" and incident["process_instance_key"] == key
    assert "inclusive gateway 'fork'" in incident["error_message"]


# ---------------------------------------------------------------------------------------- links
def test_link_throw_continues_at_its_catch(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="B"/>'
            '</bpmn:intermediateThrowEvent><bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="B"/>'
            '</bpmn:intermediateCatchEvent>' + task("there") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "go") + m.chain("land", "there", "e"))
    deploy(stub, "link.bpmn", m.process("link", body))
    key = create(stub, "link")
    complete(stub, activate_one(stub, "there").key)
    wait_until(lambda: instance_state(zeebe, key) == "COMPLETED")


def test_link_throw_without_catch_is_refused(stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="B"/>'
            '</bpmn:intermediateThrowEvent>' + m.chain("s", "go"))
    details = rpc_error(lambda: deploy(stub, "x.bpmn", m.process("x", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "Can't find a catch link event for the throw link event with the name 'B'" in details


# ---------------------------------------------------------------------------------------- signals
def test_signal_start_event_creates_an_instance_with_the_signal_variables(stub, zeebe):
    body = ('<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>' + task("work")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "work", "e"))
    deploy(stub, "sig.bpmn", m.process("sigstart", body, extra=signal("sig", "go")))
    assert broadcast(stub, "go", {"n": 1}) >> 51 == 1
    job = activate_one(stub, "work")
    assert json.loads(job.variables) == {"n": 1} and job.bpmnProcessId == "sigstart"
    broadcast(stub, "unrelated")
    assert jobs_of(zeebe, "work") != [] and len(zeebe.process_instances(include_finished=False)) == 1


def test_signal_catch_waits_and_is_not_buffered(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + task("first")
            + '<bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="sig"/>'
              '</bpmn:intermediateCatchEvent>' + task("second") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "first", "wait", "second", "e"))
    deploy(stub, "sig.bpmn", m.process("sigcatch", body, extra=signal("sig", "resume")))
    create(stub, "sigcatch")
    broadcast(stub, "resume")  # before anyone listens: lost, as in Zeebe
    complete(stub, activate_one(stub, "first").key)
    wait_until(lambda: zeebe.stats()["subscriptions"] == 1)
    assert jobs_of(zeebe, "second") == []
    broadcast(stub, "resume", {"ok": True})
    assert json.loads(activate_one(stub, "second").variables)["ok"] is True


@pytest.mark.parametrize("interrupting", [True, False])
def test_signal_boundary_event(stub, zeebe, interrupting):
    cancel = "true" if interrupting else "false"
    body = ('<bpmn:startEvent id="s"/>' + task("work")
            + f'<bpmn:boundaryEvent id="b" attachedToRef="work" cancelActivity="{cancel}">'
              '<bpmn:signalEventDefinition signalRef="sig"/></bpmn:boundaryEvent>'
            + task("handle") + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
            + m.chain("s", "work", "e") + m.chain("b", "handle", "e2"))
    deploy(stub, "sig.bpmn", m.process("sigb", body, extra=signal("sig", "alarm")))
    create(stub, "sigb")
    wait_until(lambda: jobs_of(zeebe, "work"))
    broadcast(stub, "alarm")
    activate_one(stub, "handle")
    assert (jobs_of(zeebe, "work") == []) is interrupting


def test_signal_throw_and_end_events_reach_other_instances(stub, zeebe):
    waiting = ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition '
               'signalRef="sig"/></bpmn:intermediateCatchEvent>' + task("woken") + '<bpmn:endEvent id="e"/>'
               + m.chain("s", "wait", "woken", "e"))
    deploy(stub, "waiting.bpmn", m.process("waiting", waiting, extra=signal("sig", "wake")))
    thrower = ('<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t"><bpmn:extensionElements>'
               '<zeebe:ioMapping><zeebe:input source="=&quot;from thrower&quot;" target="note"/></zeebe:ioMapping>'
               '</bpmn:extensionElements><bpmn:signalEventDefinition signalRef="sig"/></bpmn:intermediateThrowEvent>'
               '<bpmn:endEvent id="e"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:endEvent>'
               + m.chain("s", "t", "e"))
    deploy(stub, "thrower.bpmn", m.process("thrower", thrower, extra=signal("sig", "wake")))
    create(stub, "waiting")
    create(stub, "waiting")
    wait_until(lambda: zeebe.stats()["subscriptions"] == 2)
    key = create(stub, "thrower")
    jobs = activate(stub, "woken")
    assert len(jobs) == 2  # the throw event woke both; the end event found nobody left
    assert all(json.loads(j.variables)["note"] == "from thrower" for j in jobs)
    wait_until(lambda: instance_state(zeebe, key) == "COMPLETED")


def test_broadcast_signal_validates_its_request(stub):
    rpc_error(lambda: stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="")),
              grpc.StatusCode.INVALID_ARGUMENT)
    rpc_error(lambda: stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="s", variables="[1]")),
              grpc.StatusCode.INVALID_ARGUMENT)
    rpc_error(lambda: stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="s", tenantId="acme")),
              grpc.StatusCode.INVALID_ARGUMENT)


# ---------------------------------------------------------------------------------------- escalations
def escalation_processes(stub, interrupting: bool, code: str = "late") -> None:
    child = ('<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition '
             'escalationRef="esc"/></bpmn:intermediateThrowEvent>' + task("child_goes_on") + '<bpmn:endEvent id="e"/>'
             + m.chain("s", "raise", "child_goes_on", "e"))
    deploy(stub, "child.bpmn", m.process("child", child, extra=escalation("esc", code)))
    cancel = "true" if interrupting else "false"
    parent = ('<bpmn:startEvent id="s"/><bpmn:callActivity id="call"><bpmn:extensionElements>'
              '<zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>'
              f'<bpmn:boundaryEvent id="caught" attachedToRef="call" cancelActivity="{cancel}">'
              '<bpmn:escalationEventDefinition escalationRef="esc_late"/></bpmn:boundaryEvent>'
              + task("on_escalation") + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
              + m.chain("s", "call", "e") + m.chain("caught", "on_escalation", "e2"))
    deploy(stub, "parent.bpmn", m.process("parent", parent, extra=escalation("esc_late", "late")))


def test_non_interrupting_escalation_boundary_on_a_call_activity(stub, zeebe):
    escalation_processes(stub, interrupting=False)
    create(stub, "parent")
    activate_one(stub, "on_escalation")
    activate_one(stub, "child_goes_on")  # the throwing process carried on


def test_interrupting_escalation_boundary_terminates_the_called_process(stub, zeebe):
    escalation_processes(stub, interrupting=True)
    create(stub, "parent")
    activate_one(stub, "on_escalation")
    assert jobs_of(zeebe, "child_goes_on") == []
    assert all(p["bpmn_process_id"] != "child" for p in zeebe.process_instances(include_finished=False))


def test_uncaught_escalation_is_not_an_incident(stub, zeebe):
    escalation_processes(stub, interrupting=True, code="other")
    create(stub, "parent")
    activate_one(stub, "child_goes_on")
    assert zeebe.incidents() == [] and jobs_of(zeebe, "on_escalation") == []


# ---------------------------------------------------------------------------------------- timers
def test_timer_date_catch_event(stub, zeebe):
    body = (f'<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="at">{timer("timeDate", "=due")}'
            '</bpmn:intermediateCatchEvent>' + task("then") + '<bpmn:endEvent id="e"/>' + m.chain("s", "at", "then", "e"))
    deploy(stub, "date.bpmn", m.process("date", body))
    create(stub, "date", {"due": iso_in(0.3)})
    assert jobs_of(zeebe, "then") == []
    activate_one(stub, "then", request_timeout_ms=5000)
    create(stub, "date", {"due": "2020-01-01T00:00:00Z"})  # in the past: due at once
    activate_one(stub, "then", request_timeout_ms=5000)


def test_timer_date_of_the_wrong_type_is_an_incident(stub, zeebe):
    body = (f'<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="at">{timer("timeDate", "=due")}'
            '</bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>' + m.chain("s", "at", "e"))
    deploy(stub, "date.bpmn", m.process("date", body))
    create(stub, "date", {"due": 42})
    wait_until(lambda: zeebe.incidents())
    assert zeebe.incidents()[0]["error_type"] == "EXTRACT_VALUE_ERROR"


def test_timer_start_event_cycle_creates_one_instance_per_repetition(stub, zeebe):
    body = (f'<bpmn:startEvent id="s">{timer("timeCycle", "R2/PT0.2S")}</bpmn:startEvent>' + task("tick")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "tick", "e"))
    deploy(stub, "cycle.bpmn", m.process("cycle", body))
    wait_until(lambda: len(jobs_of(zeebe, "tick")) == 2)
    time.sleep(0.5)
    assert len(jobs_of(zeebe, "tick")) == 2  # R2: two repetitions, then no more


def test_redeploying_moves_timer_start_events_to_the_new_version(stub, zeebe):
    body = (f'<bpmn:startEvent id="s">{timer("timeCycle", "R/PT0.2S")}</bpmn:startEvent>' + task("tick")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "tick", "e"))
    deploy(stub, "cycle.bpmn", m.process("cycle", body))
    wait_until(lambda: len(jobs_of(zeebe, "tick")) >= 1)
    deploy(stub, "cycle.bpmn", m.tasks_process("cycle", ["manual"]))  # v2: a none start event only
    count = len(jobs_of(zeebe, "tick"))
    time.sleep(0.5)
    assert len(jobs_of(zeebe, "tick")) == count


def test_timer_start_event_date(stub, zeebe):
    body = (f'<bpmn:startEvent id="s">{timer("timeDate", iso_in(0.2))}</bpmn:startEvent>' + task("once")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "once", "e"))
    deploy(stub, "date.bpmn", m.process("datestart", body))
    activate_one(stub, "once", request_timeout_ms=5000)
    rpc_error(lambda: create(stub, "datestart"), grpc.StatusCode.FAILED_PRECONDITION)  # no none start event


def test_non_interrupting_cycle_boundary_repeats_while_the_task_runs(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + task("work")
            + f'<bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">'
              f'{timer("timeCycle", "R3/PT0.1S")}</bpmn:boundaryEvent>'
            + task("reminder") + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
            + m.chain("s", "work", "e") + m.chain("remind", "reminder", "e2"))
    deploy(stub, "remind.bpmn", m.process("remind", body))
    create(stub, "remind")
    wait_until(lambda: len(jobs_of(zeebe, "reminder")) == 3)
    time.sleep(0.3)
    assert len(jobs_of(zeebe, "reminder")) == 3 and len(jobs_of(zeebe, "work")) == 1


def test_cycle_boundary_stops_when_the_task_is_left(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + task("work")
            + f'<bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">'
              f'{timer("timeCycle", "R/PT0.2S")}</bpmn:boundaryEvent>'
            + task("reminder") + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
            + m.chain("s", "work", "e") + m.chain("remind", "reminder", "e2"))
    deploy(stub, "remind.bpmn", m.process("remind", body))
    create(stub, "remind")
    wait_until(lambda: len(jobs_of(zeebe, "reminder")) >= 1)
    complete(stub, activate_one(stub, "work").key)
    count = len(jobs_of(zeebe, "reminder"))
    time.sleep(0.5)
    assert len(jobs_of(zeebe, "reminder")) == count


def test_interrupting_timer_date_boundary(stub, zeebe):
    body = ('<bpmn:startEvent id="s"/>' + task("work")
            + f'<bpmn:boundaryEvent id="deadline" attachedToRef="work">{timer("timeDate", iso_in(0.2))}'
              '</bpmn:boundaryEvent>' + task("escalate") + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
            + m.chain("s", "work", "e") + m.chain("deadline", "escalate", "e2"))
    deploy(stub, "deadline.bpmn", m.process("deadline", body))
    create(stub, "deadline")
    activate_one(stub, "escalate", request_timeout_ms=5000)
    assert jobs_of(zeebe, "work") == []


@pytest.mark.parametrize("snippet, text", [
    (f'<bpmn:startEvent id="s">{timer("timeDuration", "PT1S")}</bpmn:startEvent>',
     "a timer 'timeDuration' is not allowed here"),
    (f'<bpmn:boundaryEvent id="b" attachedToRef="t">{timer("timeCycle", "R/PT1S")}</bpmn:boundaryEvent>',
     "a timer 'timeCycle' is not allowed here"),
    ('<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>',
     "must be associated with a compensation handler"),
])
def test_timer_and_compensation_refusals(stub, snippet, text):
    start = "" if snippet.startswith("<bpmn:startEvent") else '<bpmn:startEvent id="s"/>'
    body = start + snippet + task("t") + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "e")
    details = rpc_error(lambda: deploy(stub, "x.bpmn", m.process("x", body)), grpc.StatusCode.INVALID_ARGUMENT)
    assert text in details


# ---------------------------------------------------------------------------------------- engine clock
def test_timers_follow_the_engine_clock(stub, zeebe):
    body = (f'<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="hour">{timer("timeDuration", "PT1H")}'
            '</bpmn:intermediateCatchEvent>' + task("later") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "hour", "later", "e"))
    deploy(stub, "hour.bpmn", m.process("hour", body))
    cron = (f'<bpmn:startEvent id="s">{timer("timeCycle", "0 0 * * * *")}</bpmn:startEvent>' + task("hourly")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "hourly", "e"))
    deploy(stub, "cron.bpmn", m.process("cron", cron))
    create(stub, "hour")
    zeebe.engine.increase_time(3601)
    assert len(jobs_of(zeebe, "later")) == 1
    assert len(jobs_of(zeebe, "hourly")) == 1  # the cron start fired once in that hour
    records = zeebe.engine.records(value_type="TIMER", intent="TRIGGERED")
    assert records and all(r["value_type"] == "TIMER" for r in records)


def test_reset_forgets_timer_starts_signal_starts_and_buffered_messages(stub, zeebe):
    cycle = (f'<bpmn:startEvent id="s">{timer("timeCycle", "R/PT0.2S")}</bpmn:startEvent>' + task("tick")
             + '<bpmn:endEvent id="e"/>' + m.chain("s", "tick", "e"))
    deploy(stub, "cycle.bpmn", m.process("cycle", cycle))
    sig = ('<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>' + task("work")
           + '<bpmn:endEvent id="e"/>' + m.chain("s", "work", "e"))
    deploy(stub, "sig.bpmn", m.process("sigstart", sig, extra=signal("sig", "go")))
    publish(stub, "m", "k", ttl_ms=60_000)
    zeebe.engine.reset()
    broadcast(stub, "go")
    time.sleep(0.5)
    assert zeebe.jobs() == [] and zeebe.stats()["buffered_messages"] == 0
    assert zeebe.engine._buffered_count == 0


def test_signals_and_escalations_are_recorded(stub, zeebe):
    escalation_processes(stub, interrupting=False)
    create(stub, "parent")
    activate_one(stub, "on_escalation")
    [escalated] = zeebe.engine.records(value_type="ESCALATION")
    assert escalated["intent"] == "ESCALATED" and escalated["escalation_code"] == "late"
    broadcast(stub, "hello", {"a": 1})
    [signalled] = zeebe.engine.records(value_type="SIGNAL")
    assert signalled["intent"] == "BROADCASTED" and signalled["signal_name"] == "hello"


# ---------------------------------------------------------------------------------------- call activity bindings
def child_process(job_type: str, version_tag: str = "") -> bytes:
    extra = (f'<bpmn:extensionElements><zeebe:versionTag value="{version_tag}"/></bpmn:extensionElements>'
             if version_tag else "")
    body = extra + '<bpmn:startEvent id="s"/>' + task(job_type) + '<bpmn:endEvent id="e"/>' + m.chain("s", job_type, "e")
    return m.process("child", body)


def caller_process(binding: str) -> bytes:
    body = ('<bpmn:startEvent id="s"/><bpmn:callActivity id="call"><bpmn:extensionElements>'
            f'<zeebe:calledElement processId="child" {binding}/></bpmn:extensionElements></bpmn:callActivity>'
            '<bpmn:endEvent id="e"/>' + m.chain("s", "call", "e"))
    return m.process("caller", body)


def test_binding_deployment_calls_the_version_deployed_with_the_caller(stub, zeebe):
    stub.DeployResource(pb.DeployResourceRequest(resources=[
        pb.Resource(name="caller.bpmn", content=caller_process('bindingType="deployment"')),
        pb.Resource(name="child.bpmn", content=child_process("child_v1"))]))
    deploy(stub, "child.bpmn", child_process("child_v2"))  # a newer child, in another deployment
    create(stub, "caller")
    activate_one(stub, "child_v1")
    assert jobs_of(zeebe, "child_v2") == []


def test_binding_version_tag_calls_the_tagged_version(stub, zeebe):
    deploy(stub, "child.bpmn", child_process("child_v1", "1.0"))
    deploy(stub, "child.bpmn", child_process("child_v2", "2.0"))
    deploy(stub, "child.bpmn", child_process("child_v3"))
    deploy(stub, "caller.bpmn", caller_process('bindingType="versionTag" versionTag="1.0"'))
    create(stub, "caller")
    activate_one(stub, "child_v1")


def test_binding_without_a_match_is_a_called_element_incident(stub, zeebe):
    deploy(stub, "child.bpmn", child_process("child_v1", "1.0"))
    deploy(stub, "caller.bpmn", caller_process('bindingType="versionTag" versionTag="9.9"'))
    create(stub, "caller")
    wait_until(lambda: zeebe.incidents())
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "CALLED_ELEMENT_ERROR" and "version tag '9.9'" in incident["error_message"]
