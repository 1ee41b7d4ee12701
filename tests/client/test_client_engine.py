"""Every ZeebeClient call against a real EmbeddedZeebe over real gRPC."""
from __future__ import annotations

import uuid

import pytest

from tests.client import processes
from tests.support.net import wait_until
from zeebe_affinity_sync.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    JobNotFoundError,
    NotFoundError,
    ProcessNotFoundError,
    ZeebeTimeoutError,
)
from zeebe_affinity_sync.zeebe import Job, ZeebeClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def one_job(client: ZeebeClient, job_type: str, **kwargs) -> Job:
    jobs = client.activate_jobs(job_type, request_timeout=10.0, max_jobs_to_activate=1, **kwargs)
    assert len(jobs) == 1, jobs
    return jobs[0]


def test_topology(client: ZeebeClient, engine) -> None:
    topology = client.topology()
    assert topology.partitions_count == 1 and topology.cluster_size == 1
    assert topology.brokers[0].port == engine.port


def test_deploy_from_path_and_bytes(client: ZeebeClient, tmp_path) -> None:
    path = tmp_path / "single.bpmn"
    pid_a, pid_b = unique("from-path"), unique("from-bytes")
    path.write_bytes(processes.single_task(pid_a, "x"))
    deployment = client.deploy_resource(str(path), ("b.bpmn", processes.single_task(pid_b, "x")))
    assert [(p.bpmn_process_id, p.version, p.resource_name) for p in deployment.processes] == [
        (pid_a, 1, "single.bpmn"), (pid_b, 1, "b.bpmn")
    ]
    assert all(p.process_definition_key > 2**51 for p in deployment.processes)


def test_deploy_refuses_broken_and_unsupported_bpmn(client: ZeebeClient) -> None:
    with pytest.raises(InvalidArgumentError):
        client.deploy_resource(("broken.bpmn", b"<bpmn:definitions"))
    with pytest.raises(FileNotFoundError, match="cannot read resource"):
        client.deploy_resource("/nonexistent/x.bpmn")
    with pytest.raises(TypeError, match="path or a"):
        client.deploy_resource(b"<xml/>")  # type: ignore[arg-type]


def test_unknown_process(client: ZeebeClient) -> None:
    with pytest.raises(ProcessNotFoundError):
        client.create_process_instance(unique("nope"))
    with pytest.raises(ProcessNotFoundError):
        client.create_process_instance_with_result(unique("nope"), timeout=2)


def test_create_then_jobs_complete_it(client: ZeebeClient, engine) -> None:
    pid = unique("demo")
    client.deploy_resource(("demo.bpmn", processes.demo(pid)))
    instance = client.create_process_instance(pid, {"text": "hello"})
    assert instance.bpmn_process_id == pid and instance.version == 1
    job = one_job(client, "transform", worker="tester", timeout=30)
    assert (job.process_instance_key, job.element_id, job.worker) == (instance.process_instance_key, "transform", "tester")
    assert job.variables == {"text": "hello"} and job.retries == 3 and job.deadline > 0
    client.complete_job(job.key, {"upper": "HELLO"})
    with pytest.raises(JobNotFoundError):
        client.complete_job(job.key)  # already completed
    job2 = one_job(client, "publish-outcome", fetch_variables=["upper"])
    assert job2.variables == {"upper": "HELLO"}
    client.complete_job(job2.key)
    assert engine.process_instance(instance.process_instance_key)["state"] == "COMPLETED"


def test_create_with_result_and_timeout(client: ZeebeClient) -> None:
    pid = unique("nobody-works")
    client.deploy_resource(("p.bpmn", processes.single_task(pid, unique("unworked"))))
    with pytest.raises(ZeebeTimeoutError):
        client.create_process_instance_with_result(pid, {"a": 1}, timeout=0.3)


def test_create_with_result_returns_fetched_variables(client: ZeebeClient) -> None:
    # a process with no job: the message is buffered first, so the instance completes on its own
    pid, name = unique("no-tasks"), unique("msg")
    client.deploy_resource(("m.bpmn", processes.message_wait(pid, name)))
    client.publish_message(name, "o-1", {"paid": True}, time_to_live=30)
    result = client.create_process_instance_with_result(
        pid, {"orderId": "o-1", "extra": 1}, timeout=10, fetch_variables=["paid", "orderId"]
    )
    assert result.variables == {"paid": True, "orderId": "o-1"}
    assert (result.bpmn_process_id, result.version) == (pid, 1)


def test_publish_message_correlates_and_ids_are_unique(client: ZeebeClient, engine) -> None:
    pid, name = unique("wait"), unique("go")
    client.deploy_resource(("w.bpmn", processes.message_wait(pid, name)))
    instance = client.create_process_instance(pid, {"orderId": "42"})
    message = client.publish_message(name, "42", {"answer": 1}, message_id="m-1")
    assert message.key > 0
    wait_until(lambda: engine.process_instance(instance.process_instance_key)["state"] == "COMPLETED")
    assert engine.variables(instance.process_instance_key)["answer"] == 1
    client.publish_message(name, "43", message_id="m-2", time_to_live=30)
    with pytest.raises(AlreadyExistsError):
        client.publish_message(name, "43", message_id="m-2", time_to_live=30)


def test_cancel_and_set_variables(client: ZeebeClient, engine) -> None:
    pid, job_type = unique("cancel"), unique("work")
    client.deploy_resource(("c.bpmn", processes.single_task(pid, job_type)))
    instance = client.create_process_instance(pid, {"a": 1})
    key = client.set_variables(instance.process_instance_key, {"b": 2})
    assert key > 0
    assert one_job(client, job_type).variables == {"a": 1, "b": 2}
    client.cancel_process_instance(instance.process_instance_key)
    with pytest.raises(ProcessNotFoundError):
        client.cancel_process_instance(instance.process_instance_key)
    with pytest.raises(NotFoundError):
        client.set_variables(instance.process_instance_key, {"c": 3})


def test_fail_incident_retries_and_resolve(client: ZeebeClient, engine) -> None:
    pid, job_type = unique("fail"), unique("flaky")
    client.deploy_resource(("f.bpmn", processes.single_task(pid, job_type, retries=2)))
    instance = client.create_process_instance(pid)
    job = one_job(client, job_type)
    client.fail_job(job.key, job.retries - 1, "first try", retry_backoff=0.0)
    job = one_job(client, job_type)
    assert job.retries == 1
    client.update_job_timeout(job.key, 60.0)
    client.fail_job(job.key, 0, "out of retries")
    (incident,) = [i for i in engine.incidents() if i["process_instance_key"] == instance.process_instance_key]
    assert incident["error_message"] == "out of retries" and incident["job_key"] == job.key
    client.update_job_retries(job.key, 1)
    client.resolve_incident(incident["key"])
    job = one_job(client, job_type)
    client.complete_job(job.key)
    assert engine.process_instance(instance.process_instance_key)["state"] == "COMPLETED"
    with pytest.raises(NotFoundError):
        client.resolve_incident(incident["key"])


def test_throw_error_is_caught_by_the_boundary_event(client: ZeebeClient, engine) -> None:
    pid, job_type = unique("err"), unique("risky")
    client.deploy_resource(("e.bpmn", processes.with_error_boundary(pid, job_type, "E42")))
    instance = client.create_process_instance(pid)
    job = one_job(client, job_type)
    client.throw_error(job.key, "E42", "no stock", {"reason": "stock"})
    wait_until(lambda: engine.process_instance(instance.process_instance_key)["state"] == "COMPLETED")
    assert engine.variables(instance.process_instance_key)["reason"] == "stock"


def test_unknown_job_keys(client: ZeebeClient) -> None:
    for call in (
        lambda: client.complete_job(2**51 + 10**9),
        lambda: client.fail_job(2**51 + 10**9, 1),
        lambda: client.throw_error(2**51 + 10**9, "E"),
        lambda: client.update_job_retries(2**51 + 10**9, 1),
        lambda: client.update_job_timeout(2**51 + 10**9, 1.0),
    ):
        with pytest.raises(JobNotFoundError):
            call()


def test_activate_without_jobs_answers_at_once(client: ZeebeClient) -> None:
    assert client.activate_jobs(unique("none")) == []
    with pytest.raises(ValueError, match="max_jobs_to_activate"):
        client.activate_jobs("x", max_jobs_to_activate=0)
