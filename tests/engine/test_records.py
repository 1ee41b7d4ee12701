"""Contract C2 over real gRPC: the record log, idleness, the engine clock and reset."""
from __future__ import annotations

import time
from datetime import timedelta

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.errors import EngineBusyError

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, publish, rpc_error, state_of


def timer_process(duration: str = "PT1H") -> bytes:
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
            f'<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>'
            '</bpmn:intermediateCatchEvent>' + m.service_task("after", "after-timer") + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "wait", "after", "e"))
    return m.process("timed", body)


def test_element_lifecycle_records_in_order(zeebe, stub):
    deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    key = create(stub, "two", {"n": 1})
    complete(stub, activate_one(stub, "a", worker="w1").key, {"done": True})
    records = zeebe.records(process_instance_key=key, value_type="PROCESS_INSTANCE")
    assert [(r["element_id"], r["intent"]) for r in records] == [
        ("two", "ELEMENT_ACTIVATING"), ("two", "ELEMENT_ACTIVATED"),
        ("start", "ELEMENT_ACTIVATING"), ("start", "ELEMENT_ACTIVATED"),
        ("start", "ELEMENT_COMPLETING"), ("start", "ELEMENT_COMPLETED"),
        ("task_0", "ELEMENT_ACTIVATING"), ("task_0", "ELEMENT_ACTIVATED"),
        ("task_0", "ELEMENT_COMPLETING"), ("task_0", "ELEMENT_COMPLETED"),
        ("end", "ELEMENT_ACTIVATING"), ("end", "ELEMENT_ACTIVATED"),
        ("end", "ELEMENT_COMPLETING"), ("end", "ELEMENT_COMPLETED"),
        ("two", "ELEMENT_COMPLETING"), ("two", "ELEMENT_COMPLETED"),
    ]
    completed = [r["element_id"] for r in zeebe.records(process_instance_key=key, intent="ELEMENT_COMPLETED")]
    assert completed == ["start", "task_0", "end", "two"]
    by_id = {r["element_id"]: r for r in records}
    assert by_id["two"]["bpmn_element_type"] == "PROCESS" and by_id["two"]["flow_scope_key"] == -1
    assert by_id["start"]["bpmn_element_type"] == "START_EVENT" and by_id["start"]["bpmn_event_type"] == "NONE"
    assert by_id["task_0"]["bpmn_element_type"] == "SERVICE_TASK"
    assert by_id["task_0"]["bpmn_event_type"] == "UNSPECIFIED"
    assert by_id["end"]["flow_scope_key"] == key and by_id["end"]["parent_process_instance_key"] == -1
    assert by_id["two"]["key"] == key and by_id["two"]["tenant_id"] == "<default>"
    positions = [r["position"] for r in zeebe.records()]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    jobs = zeebe.records(value_type="JOB", process_instance_key=key)
    assert [j["intent"] for j in jobs] == ["CREATED", "ACTIVATED", "COMPLETED"]
    assert jobs[1]["worker"] == "w1" and jobs[0]["worker"] == "" and jobs[1]["type"] == "a"
    assert jobs[0]["element_id"] == "task_0" and jobs[0]["retries"] == 3
    assert jobs[1]["deadline"] > 0


def test_variable_records_created_then_updated_with_scope(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/>'
            + m.service_task("t", "calc", inputs=[("=n + 1", "local")]) + '<bpmn:endEvent id="e"/>'
            + m.chain("s", "t", "e"))
    deploy(stub, "vars.bpmn", m.process("vars", body))
    key = create(stub, "vars", {"n": 1})
    job = activate_one(stub, "calc")
    complete(stub, job.key, {"n": 5, "local": 9, "new": "x"})
    variables = [(r["intent"], r["name"], r["value"], r["scope_key"]) for r in
                 zeebe.records(value_type="VARIABLE", process_instance_key=key)]
    assert variables == [
        ("CREATED", "n", 1, key),
        ("CREATED", "local", 2, job.elementInstanceKey),  # an input mapping: local to the task
        ("UPDATED", "n", 5, key),                          # propagated to where it exists
        ("UPDATED", "local", 9, job.elementInstanceKey),
        ("CREATED", "new", "x", key),                      # new names land at the root
    ]


def test_record_log_is_bounded():
    with EmbeddedZeebe(record_log_size=12) as zeebe:
        zeebe.deploy(("two.bpmn", m.tasks_process("two", ["a", "b"])))
        for _ in range(3):
            zeebe.engine.create_instance("two")
        records = zeebe.records()
        assert len(records) == 12
        assert records[-1]["position"] > 12  # positions keep counting past dropped records
        assert zeebe.records(since_position=records[-1]["position"]) == []
        assert zeebe.last_position() == records[-1]["position"]


def test_a_wrapped_log_keeps_each_records_command_time():
    # many commands, each stamped when the lock is let go, through a log that has dropped its
    # oldest records: every record kept still has its own command's time, in order
    with EmbeddedZeebe(record_log_size=50) as zeebe:
        zeebe.deploy(("two.bpmn", m.tasks_process("two", ["a", "b"])))
        keys = []
        for n in range(40):
            keys.append(zeebe.engine.create_instance("two")[0]["process_instance_key"])
            if n == 37:
                jump_ms = int(zeebe.now().timestamp() * 1000) + 3_600_000
                zeebe.increase_time(3600)  # the last two instances are an hour later
        records = zeebe.records()
        assert len(records) == 50
        assert [r["position"] for r in records] == list(range(records[0]["position"], zeebe.last_position() + 1))
        stamps = [r["timestamp"] for r in records]
        assert stamps == sorted(stamps)
        early = [r for r in records if r.get("process_instance_key") in keys[:38]]
        late = [r for r in records if r.get("process_instance_key") in keys[38:]]
        assert early and late
        assert all(r["timestamp"] < jump_ms for r in early)
        assert all(r["timestamp"] >= jump_ms for r in late)


def test_incident_created_and_resolved_records(zeebe, stub):
    deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    key = create(stub, "two")
    job = activate_one(stub, "a")
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0, errorMessage="boom"), timeout=10)
    [incident] = zeebe.incidents()
    stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=1), timeout=10)
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]), timeout=10)
    incidents = zeebe.records(value_type="INCIDENT", process_instance_key=key)
    assert [(r["intent"], r["error_type"], r["job_key"], r["key"]) for r in incidents] == [
        ("CREATED", "JOB_NO_RETRIES", job.key, incident["key"]),
        ("RESOLVED", "JOB_NO_RETRIES", job.key, incident["key"])]
    assert incidents[0]["error_message"] == "boom"
    intents = [r["intent"] for r in zeebe.records(value_type="JOB", process_instance_key=key)]
    assert intents == ["CREATED", "ACTIVATED", "FAILED", "RETRIES_UPDATED"]


def test_message_and_subscription_records(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:receiveTask id="wait" messageRef="paid"/><bpmn:endEvent id="e"/>'
            + m.chain("s", "wait", "e"))
    deploy(stub, "msg.bpmn", m.process("msg", body, extra=m.message("paid", "payment", "=orderId")))
    key = create(stub, "msg", {"orderId": "o-1"})
    message_key = publish(stub, "payment", "o-1", {"amount": 3}, message_id="m-1")
    assert state_of(zeebe, key) == "COMPLETED"
    [published] = zeebe.records(value_type="MESSAGE")
    assert (published["intent"], published["name"], published["correlation_key"], published["message_id"],
            published["key"]) == ("PUBLISHED", "payment", "o-1", "m-1", message_key)
    subscriptions = zeebe.records(value_type="MESSAGE_SUBSCRIPTION")
    assert [(r["intent"], r["message_name"], r["correlation_key"], r["element_id"], r["process_instance_key"])
            for r in subscriptions] == [("CREATED", "payment", "o-1", "wait", key),
                                        ("CORRELATED", "payment", "o-1", "wait", key)]
    assert subscriptions[1]["message_key"] == message_key


def test_deployment_and_process_records(zeebe, stub):
    response = deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    [process] = zeebe.records(value_type="PROCESS")
    assert (process["intent"], process["bpmn_process_id"], process["version"], process["key"]) == (
        "CREATED", "two", 1, response.deployments[0].process.processDefinitionKey)
    [deployment] = zeebe.records(value_type="DEPLOYMENT")
    assert deployment["key"] == response.key and deployment["resources"] == ["two.bpmn"]


def test_increase_time_fires_a_timer_before_returning(zeebe, stub):
    deploy(stub, "timed.bpmn", timer_process("PT1H"))
    key = create(stub, "timed")
    before = zeebe.now()
    assert activate(stub, "after-timer") == []
    [created] = zeebe.records(value_type="TIMER")
    assert created["intent"] == "CREATED" and created["element_id"] == "wait"
    assert abs(created["due_date"] - (before.timestamp() + 3600) * 1000) < 5_000
    zeebe.increase_time(timedelta(hours=1))
    assert [r["intent"] for r in zeebe.records(value_type="TIMER")] == ["CREATED", "TRIGGERED"]
    assert (zeebe.now() - before) >= timedelta(hours=1)
    assert activate(stub, "after-timer")[0].processInstanceKey == key  # no wait: already there
    triggered = zeebe.records(value_type="TIMER", intent="TRIGGERED")[0]
    assert triggered["timestamp"] >= created["due_date"]


def test_increase_time_times_out_jobs_and_expires_messages(zeebe, stub):
    deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    create(stub, "two")
    job = activate_one(stub, "a", timeout_ms=600_000)
    assert job.deadline > zeebe.now().timestamp() * 1000
    publish(stub, "nobody", "k", ttl_ms=60_000)
    assert len(zeebe.messages()) == 1
    zeebe.increase_time(601)
    assert zeebe.messages() == []
    assert [r["intent"] for r in zeebe.records(value_type="MESSAGE")] == ["PUBLISHED", "EXPIRED"]
    assert zeebe.records(value_type="JOB")[-1]["intent"] == "TIMED_OUT"
    again = activate_one(stub, "a")
    assert again.key == job.key
    # the deadline of a job activated now is on the engine clock, ahead of real time
    assert again.deadline > (time.time() + 600) * 1000


def test_increase_time_refuses_going_back(zeebe):
    with pytest.raises(ValueError):
        zeebe.increase_time(-1)
    with pytest.raises(ValueError):
        zeebe.increase_time(float("nan"))
    with pytest.raises(ValueError, match="1000 years"):
        zeebe.increase_time(timedelta(days=400_000))


def test_idle_with_waiting_jobs_and_busy_with_an_endless_loop():
    loop = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw"/><bpmn:intermediateThrowEvent id="again"/>'
            + m.flow("f1", "s", "gw") + m.flow("f2", "gw", "again", "= true") + m.flow("f3", "again", "gw"))
    with EmbeddedZeebe(step_budget=50, record_log_size=1000) as zeebe:
        zeebe.deploy(("two.bpmn", m.tasks_process("two", ["a"])), ("loop.bpmn", m.process("loop", loop)))
        zeebe.engine.create_instance("two")
        zeebe.wait_for_idle(timeout=5)  # a job waiting for a worker is idle
        assert zeebe.is_idle()
        zeebe.engine.create_instance("loop")
        with pytest.raises(EngineBusyError) as info:
            zeebe.wait_for_idle(timeout=0.3)
        assert isinstance(info.value, TimeoutError) and info.value.busy
        assert "busy after 0.3 s" in str(info.value)
        zeebe.reset()  # also stops the endless flow
        zeebe.wait_for_idle(timeout=5)
        assert zeebe.process_instances() == []


def test_reset_forgets_everything_and_keeps_serving(zeebe, stub):
    deploy(stub, "timed.bpmn", timer_process("PT1H"))
    deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    old = create(stub, "timed")
    create(stub, "two")
    publish(stub, "x", "y", ttl_ms=60_000)
    zeebe.increase_time(10)
    zeebe.reset()
    assert zeebe.definitions() == [] and zeebe.process_instances() == [] and zeebe.jobs() == []
    assert zeebe.messages() == [] and zeebe.records() == [] and zeebe.incidents() == []
    assert zeebe.stats()["scheduled"] == 0
    assert abs(zeebe.now().timestamp() - time.time()) < 5
    rpc_error(lambda: create(stub, "two"), grpc.StatusCode.NOT_FOUND)
    rpc_error(lambda: stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=old),
                                                 timeout=10), grpc.StatusCode.NOT_FOUND)
    deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    new = create(stub, "two")
    assert new > old  # keys keep counting up
    complete(stub, activate_one(stub, "a").key)
    assert state_of(zeebe, new) == "COMPLETED"


def test_element_ids_of_a_definition_in_document_order(zeebe, stub):
    body = ('<bpmn:startEvent id="s"/><bpmn:subProcess id="sub"><bpmn:startEvent id="in_s"/><bpmn:endEvent id="in_e"/>'
            + m.chain("in_s", "in_e") + '</bpmn:subProcess><bpmn:endEvent id="e"/>' + m.chain("s", "sub", "e"))
    response = deploy(stub, "ids.bpmn", m.process("ids", body))
    key = response.deployments[0].process.processDefinitionKey
    assert zeebe.element_ids(key) == ["s", "sub", "in_s", "in_e", "e"]
    with pytest.raises(LookupError):
        zeebe.element_ids(key + 12345)


def test_a_job_timeout_of_2_to_the_62_ms_does_not_stop_the_scheduler(zeebe, stub):
    deploy(stub, "two.bpmn", m.tasks_process("two", ["a"]))
    deploy(stub, "timed.bpmn", timer_process("PT0.1S"))
    create(stub, "two")
    activate_one(stub, "a", timeout_ms=2 ** 62)
    create(stub, "timed")
    # the scheduler thread is still alive: the 0.1 s timer fires on real time
    assert activate_one(stub, "after-timer").elementId == "after"


def test_job_records_keep_any_text_of_worker_and_error_message():
    # non-ASCII and even a lone surrogate come back as given
    with EmbeddedZeebe() as zeebe:
        zeebe.deploy(("one.bpmn", m.tasks_process("one", ["a"])))
        zeebe.engine.create_instance("one")
        from zeebe_affinity_sync.engine.state import JobRequest
        job = zeebe.engine.activate_jobs(JobRequest("a", "wörker ✓", 60_000, 1, []), None)[0]
        zeebe.engine.fail_job(job.key, 2, "kaputt: \ud800 ünd ✗")
        failed = zeebe.records(value_type="JOB", intent="FAILED")
        assert [(r["error_message"], r["retries"]) for r in failed] == [("kaputt: \ud800 ünd ✗", 2)]
        assert [r["worker"] for r in zeebe.records(value_type="JOB", intent="ACTIVATED")] == ["wörker ✓"]


def test_a_record_shows_the_job_and_the_variable_as_they_were_at_its_event():
    # the log keeps references and builds the dicts when read: what changed later must not show
    from zeebe_affinity_sync.engine.state import JobRequest
    with EmbeddedZeebe() as zeebe:
        zeebe.deploy(("one.bpmn", m.tasks_process("one", ["a"])))
        key = zeebe.engine.create_instance("one", variables={"n": 1})[0]["process_instance_key"]
        job = zeebe.engine.activate_jobs(JobRequest("a", "first", 60_000, 1, []), None)[0]
        zeebe.engine.fail_job(job.key, 2, "boom")
        zeebe.engine.update_job_retries(job.key, 5)
        job = zeebe.engine.activate_jobs(JobRequest("a", "second", 60_000, 1, []), None)[0]
        zeebe.engine.set_variables(key, {"n": 2})
        zeebe.engine.complete_job(job.key, {"n": 3})
        jobs = [(r["intent"], r["retries"], r["worker"], r["error_message"])
                for r in zeebe.records(value_type="JOB")]
        assert jobs == [("CREATED", 3, "", ""), ("ACTIVATED", 3, "first", ""), ("FAILED", 2, "", "boom"),
                        ("RETRIES_UPDATED", 5, "", "boom"), ("ACTIVATED", 5, "second", "boom"),
                        ("COMPLETED", 5, "second", "boom")]
        assert [(r["intent"], r["value"]) for r in zeebe.records(value_type="VARIABLE")] == [
            ("CREATED", 1), ("UPDATED", 2), ("UPDATED", 3)]


def test_a_bounded_log_read_from_any_position_is_the_tail_of_the_whole_log():
    # records of different widths (elements, jobs, variables, deployments) in a log that drops its
    # oldest ones: whatever position a read starts at, it sees what an unbounded log has there
    from zeebe_affinity_sync.engine.state import JobRequest

    def comparable(records):  # times differ between the two engines
        return [{k: v for k, v in r.items() if k not in ("timestamp", "deadline")} for r in records]

    for size in (1, 7, 100):
        with EmbeddedZeebe(record_log_size=size) as small, EmbeddedZeebe() as whole:
            for zeebe in (small, whole):
                zeebe.deploy(("two.bpmn", m.tasks_process("two", ["a", "b"])))
            for n in range(30):
                for zeebe in (small, whole):
                    zeebe.engine.create_instance("two", variables={"n": n})
                    for job in zeebe.engine.activate_jobs(JobRequest("a" if n % 2 else "b", "w", 60_000, 2, []), None):
                        zeebe.engine.complete_job(job.key, {"done": n})
                everything = comparable(whole.records())
                kept = comparable(small.records())
                assert len(kept) == min(size, len(everything)) and kept == everything[-len(kept):]
                last = small.last_position()
                for since in (0, last - size - 3, last - size // 2, last - 1, last):
                    assert comparable(small.records(since_position=since)) == [
                        r for r in kept if r["position"] > since]
                assert comparable(small.records(since_position=last - size, value_type="JOB", limit=2)) == [
                    r for r in kept if r["value_type"] == "JOB"][:2]


def test_feel_now_follows_the_engine_clock(zeebe, stub):
    # a start output mapping evaluates now() when the instance starts, under the engine lock
    body = ('<bpmn:startEvent id="s"><bpmn:extensionElements><zeebe:ioMapping>'
            '<zeebe:output source="=string(today())" target="day"/>'
            '<zeebe:output source="=string(now())" target="stamp"/>'
            '</zeebe:ioMapping></bpmn:extensionElements></bpmn:startEvent>'
            + m.service_task("after", "after-now") + '<bpmn:endEvent id="e"/>' + m.chain("s", "after", "e"))
    deploy(stub, "now.bpmn", m.process("stamped", body))
    zeebe.increase_time(timedelta(days=400))
    key = create(stub, "stamped")
    day = zeebe.variables(key)["day"]
    assert day == zeebe.now().date().isoformat()  # 400 days ahead of the real clock, not today
    assert day != time.strftime("%Y-%m-%d", time.gmtime())
    assert zeebe.variables(key)["stamp"].startswith(day)
