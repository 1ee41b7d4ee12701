"""Jobs over real gRPC: activation, long polling, completion, failure, retries, timeouts, errors."""
from __future__ import annotations

import json
import threading

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from tests.support.net import wait_until

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, create_with_result, deploy, rpc_error, state_of


@pytest.fixture
def two_tasks(stub):
    deploy(stub, "demo.bpmn", m.tasks_process("demo", ["transform", "publish-outcome"]))
    return "demo"


def test_seed_demo_process_runs_start_to_end(zeebe, stub, two_tasks):
    key = create(stub, "demo", {"input": "hello"})
    first = activate_one(stub, "transform")
    assert first.processInstanceKey == key
    assert first.bpmnProcessId == "demo" and first.elementId == "task_0"
    assert json.loads(first.variables) == {"input": "hello"}
    assert json.loads(first.customHeaders) == {}
    assert first.worker == "test-worker" and first.retries == 3 and first.tenantId == "<default>"
    complete(stub, first.key, {"output": "HELLO"})
    second = activate_one(stub, "publish-outcome")
    assert json.loads(second.variables) == {"input": "hello", "output": "HELLO"}
    complete(stub, second.key)
    assert state_of(zeebe, key) == "COMPLETED"
    assert zeebe.variables(key) == {"input": "hello", "output": "HELLO"}
    assert zeebe.jobs() == []


def test_keys_look_like_zeebe_partition_one_keys(stub, two_tasks):
    key = create(stub, "demo")
    assert key >> 51 == 1


def test_activate_without_long_poll_answers_empty_at_once(stub, two_tasks):
    assert activate(stub, "transform", request_timeout_ms=-1) == []


def test_long_poll_times_out_empty_without_error(stub, two_tasks):
    assert activate(stub, "transform", request_timeout_ms=200) == []


def test_long_poll_is_answered_when_a_job_appears(zeebe, stub, two_tasks):
    # the poll asks for 60 s but must come back with the job long before its 30 s gRPC deadline
    result = {}

    def poll() -> None:
        result["jobs"] = activate(stub, "transform", request_timeout_ms=60_000, deadline=30)

    thread = threading.Thread(target=poll)
    thread.start()
    wait_until(lambda: zeebe.stats()["parked_polls"] == 1)
    key = create(stub, "demo")
    thread.join(30)
    assert not thread.is_alive()
    assert [j.processInstanceKey for j in result["jobs"]] == [key]


def test_parked_polls_each_get_distinct_jobs(zeebe, stub, two_tasks):
    results = []
    lock = threading.Lock()

    def poll() -> None:
        jobs = activate(stub, "transform", max_jobs=1, request_timeout_ms=20_000)
        with lock:
            results.extend(j.key for j in jobs)

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until(lambda: zeebe.stats()["parked_polls"] == 3)
    for _ in range(3):
        create(stub, "demo")
    for t in threads:
        t.join(30)
    assert len(results) == 3 and len(set(results)) == 3


def test_max_jobs_and_fetch_variables(stub, two_tasks):
    for i in range(3):
        create(stub, "demo", {"i": i, "secret": "x"})
    jobs = activate(stub, "transform", max_jobs=2, fetch=["i", "missing"])
    assert len(jobs) == 2
    assert [json.loads(j.variables) for j in jobs] == [{"i": 0}, {"i": 1}]  # oldest first
    assert len(activate(stub, "transform", max_jobs=5)) == 1


@pytest.mark.parametrize("field, value, text", [
    ("maxJobsToActivate", 0, "max jobs to activate to be greater than zero"),
    ("timeout", 0, "timeout to be greater than zero"),
    ("type", " ", "type to be present"),
])
def test_activation_request_validation(stub, field, value, text):
    fields = dict(type="t", worker="w", timeout=1000, maxJobsToActivate=1, requestTimeout=-1)
    fields[field] = value
    details = rpc_error(lambda: list(stub.ActivateJobs(pb.ActivateJobsRequest(**fields), timeout=10)),
                        grpc.StatusCode.INVALID_ARGUMENT)
    assert text in details


def test_unknown_tenant_is_refused(stub):
    details = rpc_error(lambda: list(stub.ActivateJobs(pb.ActivateJobsRequest(
        type="t", worker="w", timeout=1000, maxJobsToActivate=1, requestTimeout=-1, tenantIds=["acme"]),
        timeout=10)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "acme" in details and "multi-tenancy" in details


def test_complete_unknown_and_already_completed_job(stub, two_tasks):
    details = rpc_error(lambda: complete(stub, 2251799813690000), grpc.StatusCode.NOT_FOUND)
    assert "Expected to complete job with key '2251799813690000', but no such job was found" in details
    create(stub, "demo")
    job = activate_one(stub, "transform")
    complete(stub, job.key)
    rpc_error(lambda: complete(stub, job.key), grpc.StatusCode.NOT_FOUND)


def test_complete_with_variables_that_are_not_an_object(stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform")
    details = rpc_error(lambda: stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="[1, 2]")),
                        grpc.StatusCode.INVALID_ARGUMENT)
    assert "Expected document to be a root level object, but was 'ARRAY'" in details
    details = rpc_error(lambda: stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{oops")),
                        grpc.StatusCode.INVALID_ARGUMENT)
    assert "Invalid JSON value" in details


def test_fail_with_retries_makes_the_job_activatable_again(stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform")
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=2, errorMessage="boom", variables='{"attempt": 1}'))
    again = activate_one(stub, "transform")
    assert again.key == job.key and again.retries == 2
    assert json.loads(again.variables) == {"attempt": 1}  # set locally on the task


def test_fail_with_backoff_waits_then_comes_back_to_a_parked_poll(zeebe, stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform")
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=1, retryBackOff=300))
    assert [j["state"] for j in zeebe.jobs()] == ["FAILED"]
    assert activate(stub, "transform", request_timeout_ms=-1) == []
    again = activate_one(stub, "transform")  # parked, woken when the backoff elapses
    assert again.key == job.key


def test_fail_without_retries_raises_incident_then_resolve(zeebe, stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform")
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0, errorMessage="no database"))
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "JOB_NO_RETRIES" and incident["error_message"] == "no database"
    assert incident["job_key"] == job.key
    details = rpc_error(lambda: complete(stub, job.key), grpc.StatusCode.FAILED_PRECONDITION)
    assert "is in state 'FAILED'" in details
    rpc_error(lambda: stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=1)), grpc.StatusCode.FAILED_PRECONDITION)
    details = rpc_error(lambda: stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=0)),
                        grpc.StatusCode.INVALID_ARGUMENT)
    assert "positive amount of retries" in details
    stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=3))
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
    assert zeebe.incidents() == []
    again = activate_one(stub, "transform")
    assert again.key == job.key and again.retries == 3
    details = rpc_error(lambda: stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"])),
                        grpc.StatusCode.NOT_FOUND)
    assert "Command 'RESOLVE' rejected with code 'NOT_FOUND'" in details


def test_job_timeout_makes_it_activatable_for_another_worker(stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform", timeout_ms=100, worker="slow")
    again = activate_one(stub, "transform", worker="fast")  # parked until the 100 ms lock ends
    assert again.key == job.key and again.worker == "fast"
    complete(stub, job.key)  # the first worker may still complete it (at least once)
    rpc_error(lambda: complete(stub, again.key), grpc.StatusCode.NOT_FOUND)


def test_update_job_timeout(zeebe, stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform", timeout_ms=60_000)
    stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=50))
    assert activate_one(stub, "transform").key == job.key
    rpc_error(lambda: stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=1, timeout=50)),
              grpc.StatusCode.NOT_FOUND)
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0))
    rpc_error(lambda: stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=50)),
              grpc.StatusCode.FAILED_PRECONDITION)


def test_custom_headers_and_expression_task_type(stub):
    body = ('<bpmn:startEvent id="start"/>'
            + m.service_task("task", '="kind-" + kind', retries="5", headers=[("method", "VISA")])
            + '<bpmn:endEvent id="end"/>' + m.chain("start", "task", "end"))
    deploy(stub, "h.bpmn", m.process("headers", body))
    create(stub, "headers", {"kind": "card"})
    job = activate_one(stub, "kind-card")
    assert json.loads(job.customHeaders) == {"method": "VISA"}
    assert job.retries == 5


def test_throw_error_without_catch_raises_incident(zeebe, stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform")
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="NOPE", errorMessage="bad card"))
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "UNHANDLED_ERROR_EVENT"
    assert "Expected to throw an error event with the code 'NOPE' with message 'bad card'" in incident["error_message"]
    assert [j["state"] for j in zeebe.jobs()] == ["ERROR_THROWN"]
    stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
    assert activate_one(stub, "transform").key == job.key


def test_client_that_went_away_gets_its_job_back(zeebe, stub, two_tasks):
    # a long poll cancelled by its client must not leave a job locked when it wakes
    call = stub.ActivateJobs(pb.ActivateJobsRequest(type="transform", worker="gone", timeout=60_000,
                                                    maxJobsToActivate=1, requestTimeout=20_000), timeout=30)
    call.cancel()
    create(stub, "demo")
    job = activate_one(stub, "transform", worker="present")
    assert job.worker == "present"


def test_stream_activated_jobs_pushes_new_jobs(zeebe, stub, two_tasks):
    waiting_before = create(stub, "demo", {"n": -1})  # jobs already waiting are not pushed
    stream = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(
        type="transform", worker="streamer", timeout=60_000, fetchVariable=["n"]), timeout=30)
    received = []

    def read() -> None:
        for job in stream:
            received.append(job)
            if len(received) == 2:
                return

    reader = threading.Thread(target=read)
    reader.start()
    wait_until(lambda: zeebe.stats()["job_streams"] == 1)
    created = [create(stub, "demo", {"n": n, "other": True}) for n in range(2)]
    reader.join(20)
    stream.cancel()
    assert [j.processInstanceKey for j in received] == created
    assert received[0].worker == "streamer" and json.loads(received[0].variables) == {"n": 0}
    for job in received:
        complete(stub, job.key)
    assert activate_one(stub, "transform").processInstanceKey == waiting_before


def test_with_result_returns_variables_when_done(stub, two_tasks):
    results = {}

    def call() -> None:
        results["r"] = create_with_result(stub, "demo", {"x": 1}, fetch=["y"])

    thread = threading.Thread(target=call)
    thread.start()
    complete(stub, activate_one(stub, "transform").key, {"y": 2, "z": 3})
    complete(stub, activate_one(stub, "publish-outcome").key)
    thread.join(30)
    response = results["r"]
    assert json.loads(response.variables) == {"y": 2}
    assert response.bpmnProcessId == "demo" and response.version == 1


def test_with_result_times_out_with_deadline_exceeded(zeebe, stub, two_tasks):
    details = rpc_error(lambda: create_with_result(stub, "demo", request_timeout_ms=100),
                        grpc.StatusCode.DEADLINE_EXCEEDED)
    assert "Time out between gateway and broker" in details
    # the instance keeps running
    assert [i["state"] for i in zeebe.process_instances()] == ["ACTIVE"]


def test_stream_request_validation(stub):
    details = rpc_error(lambda: list(stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(
        type="", worker="w", timeout=1000), timeout=10)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "type to be present" in details


def test_closed_stream_gives_its_pending_jobs_back(zeebe, stub, two_tasks):
    stream = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="transform", worker="s", timeout=60_000),
                                      timeout=30)
    wait_until(lambda: zeebe.stats()["job_streams"] == 1)
    stream.cancel()
    wait_until(lambda: zeebe.stats()["job_streams"] == 0)
    create(stub, "demo")
    assert activate_one(stub, "transform").worker == "test-worker"


def test_job_commands_on_unknown_keys(stub):
    for call in (
        lambda: stub.FailJob(pb.FailJobRequest(jobKey=5, retries=1)),
        lambda: stub.ThrowError(pb.ThrowErrorRequest(jobKey=5, errorCode="x")),
        lambda: stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=5, retries=1)),
    ):
        assert "no such job was found" in rpc_error(call, grpc.StatusCode.NOT_FOUND)


def test_throw_error_needs_a_code(stub, two_tasks):
    create(stub, "demo")
    job = activate_one(stub, "transform")
    details = rpc_error(lambda: stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode=" ")),
                        grpc.StatusCode.INVALID_ARGUMENT)
    assert "errorCode" in details


def test_large_batches_are_split_and_oversized_jobs_raise_incidents():
    from zeebe_affinity_sync.engine import EmbeddedZeebe
    from .helpers import Stub

    with EmbeddedZeebe(max_message_bytes=64 * 1024) as small:
        channel = grpc.insecure_channel(small.address)
        try:
            stub = Stub(channel)
            deploy(stub, "demo.bpmn", m.tasks_process("demo", ["transform"]))
            for _ in range(3):
                create(stub, "demo", {"blob": "x" * 25_000})
            request = pb.ActivateJobsRequest(type="transform", worker="w", timeout=60_000, maxJobsToActivate=10,
                                             requestTimeout=-1)
            responses = list(stub.ActivateJobs(request, timeout=10))
            assert [len(r.jobs) for r in responses] == [2, 1]
            key = create(stub, "demo", {"blob": "x" * 40_000})
            stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables=json.dumps({"more": "y" * 40_000})))
            assert list(stub.ActivateJobs(request, timeout=10)) == []
            [incident] = small.incidents()
            assert incident["error_type"] == "MESSAGE_SIZE_EXCEEDED" and incident["process_instance_key"] == key
            stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"more": null}'))
            stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
            [response] = list(stub.ActivateJobs(request, timeout=10))
            assert [j.processInstanceKey for j in response.jobs] == [key]
        finally:
            small.stop()
            channel.close()
