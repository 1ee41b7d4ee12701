"""Thin wrappers over the raw gRPC stub so the engine tests read like the scenario they check."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

Stub = gateway_pb2_grpc.GatewayStub


def deploy(stub: Stub, name: str, content: bytes) -> pb.DeployResourceResponse:
    return stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name=name, content=content)]),
                               timeout=10)


def create(stub: Stub, process_id: str, variables: Optional[Dict[str, Any]] = None) -> int:
    response = stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
        bpmnProcessId=process_id, version=-1, variables=json.dumps(variables or {})), timeout=10)
    return response.processInstanceKey


def create_with_result(stub: Stub, process_id: str, variables: Optional[Dict[str, Any]] = None, *,
                       request_timeout_ms: int = 10_000, fetch: List[str] = ()) -> pb.CreateProcessInstanceWithResultResponse:
    return stub.CreateProcessInstanceWithResult(pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId=process_id, version=-1,
                                                variables=json.dumps(variables or {})),
        requestTimeout=request_timeout_ms, fetchVariables=list(fetch)), timeout=30)


def activate(stub: Stub, job_type: str, *, max_jobs: int = 10, request_timeout_ms: int = -1,
             timeout_ms: int = 60_000, worker: str = "test-worker", fetch: List[str] = (),
             deadline: float = 30.0) -> List[pb.ActivatedJob]:
    request = pb.ActivateJobsRequest(type=job_type, worker=worker, timeout=timeout_ms, maxJobsToActivate=max_jobs,
                                     requestTimeout=request_timeout_ms, fetchVariable=list(fetch))
    return [job for response in stub.ActivateJobs(request, timeout=deadline) for job in response.jobs]


def activate_one(stub: Stub, job_type: str, **kwargs: Any) -> pb.ActivatedJob:
    """Long-poll until one job of the type is there (the long poll answers as soon as it is)."""
    kwargs.setdefault("request_timeout_ms", 20_000)
    jobs = activate(stub, job_type, max_jobs=1, **kwargs)
    assert len(jobs) == 1, f"expected one '{job_type}' job, got {len(jobs)}"
    return jobs[0]


def complete(stub: Stub, job_key: int, variables: Optional[Dict[str, Any]] = None) -> None:
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job_key, variables=json.dumps(variables or {})), timeout=10)


def publish(stub: Stub, name: str, key: str, variables: Optional[Dict[str, Any]] = None, *, ttl_ms: int = 0,
            message_id: str = "") -> int:
    return stub.PublishMessage(pb.PublishMessageRequest(
        name=name, correlationKey=key, timeToLive=ttl_ms, messageId=message_id,
        variables=json.dumps(variables or {})), timeout=10).key


def rpc_error(call: Any, code: grpc.StatusCode) -> str:
    """Run ``call()``; assert it fails with ``code``; return the status details."""
    with pytest.raises(grpc.RpcError) as info:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, (bytes, str)):
            list(result)
    assert info.value.code() == code, f"{info.value.code()}: {info.value.details()}"
    return info.value.details()


def state_of(zeebe: Any, key: int) -> str:
    view = zeebe.process_instance(key)
    assert view is not None, f"instance {key} unknown"
    return view["state"]
