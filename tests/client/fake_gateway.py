"""A small recording ``GatewayServicer`` on a real in-process gRPC server, for unit tests that
need to see what the client sent or make the gateway fail on purpose. The behaviour tests run
against the real ``EmbeddedZeebe`` (see conftest.py); this fake only sits beside them.
"""
from __future__ import annotations

import collections
import json
import threading
from concurrent import futures
from typing import Any, Deque, Dict, List, Optional, Tuple

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc as pb_grpc


class FakeGateway(pb_grpc.GatewayServicer):
    """Records every call; ``fail(rpc, code, times)`` makes the next calls of an RPC fail."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.calls: List[Tuple[str, Any, Dict[str, str]]] = []  # (rpc, request, metadata); under lock
        self.failures: Dict[str, Deque[grpc.StatusCode]] = collections.defaultdict(collections.deque)
        self.jobs: Dict[str, Deque[int]] = collections.defaultdict(collections.deque)  # type -> job keys
        self.next_key = 2251799813685249
        self.cancelled_polls = 0
        self.finished: List[Tuple[str, int]] = []  # ("complete"/"fail"/"throw", job key)
        self.active_polls = 0

    # ---------------------------------------------------------------- test controls

    def fail(self, rpc: str, code: grpc.StatusCode, times: int = 1) -> None:
        with self.lock:
            self.failures[rpc].extend([code] * times)

    def add_jobs(self, task_type: str, count: int) -> List[int]:
        with self.lock:
            keys = []
            for _ in range(count):
                self.next_key += 1
                keys.append(self.next_key)
                self.jobs[task_type].append(self.next_key)
            self.lock.notify_all()
            return keys

    def calls_of(self, rpc: str) -> List[Any]:
        with self.lock:
            return [req for name, req, _ in self.calls if name == rpc]

    def metadata_of(self, rpc: str) -> List[Dict[str, str]]:
        with self.lock:
            return [md for name, _, md in self.calls if name == rpc]

    # ---------------------------------------------------------------- plumbing

    def _record(self, rpc: str, request: Any, context: grpc.ServicerContext) -> None:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        with self.lock:
            self.calls.append((rpc, request, metadata))
            pending = self.failures.get(rpc)
            code = pending.popleft() if pending else None
        if code is not None:
            context.abort(code, f"injected {code.name} for {rpc}")

    def Topology(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("Topology", request, context)
        partition = pb.Partition(partitionId=1, role=pb.Partition.LEADER, health=pb.Partition.HEALTHY)
        broker = pb.BrokerInfo(nodeId=0, host="fake", port=26501, partitions=[partition], version="8.4.13")
        return pb.TopologyResponse(
            brokers=[broker], clusterSize=1, partitionsCount=1, replicationFactor=1, gatewayVersion="8.4.13"
        )

    def CreateProcessInstance(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("CreateProcessInstance", request, context)
        return pb.CreateProcessInstanceResponse(
            processDefinitionKey=1, bpmnProcessId=request.bpmnProcessId, version=1, processInstanceKey=7
        )

    def CreateProcessInstanceWithResult(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("CreateProcessInstanceWithResult", request, context)
        return pb.CreateProcessInstanceWithResultResponse(
            processDefinitionKey=1, bpmnProcessId=request.request.bpmnProcessId, version=1, processInstanceKey=7,
            variables="{}",
        )

    def PublishMessage(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("PublishMessage", request, context)
        return pb.PublishMessageResponse(key=99)

    def ActivateJobs(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("ActivateJobs", request, context)
        cancelled = threading.Event()

        def on_done() -> None:
            if not context.is_active():
                cancelled.set()
                with self.lock:
                    self.lock.notify_all()

        context.add_callback(on_done)
        wait = request.requestTimeout / 1000.0 if request.requestTimeout > 0 else 10.0
        with self.lock:
            self.active_polls += 1
            try:
                queue = self.jobs[request.type]
                if request.requestTimeout >= 0:
                    self.lock.wait_for(lambda: queue or cancelled.is_set(), timeout=wait)
                if cancelled.is_set() or not context.is_active():
                    self.cancelled_polls += 1
                    return
                keys = [queue.popleft() for _ in range(min(len(queue), request.maxJobsToActivate))]
            finally:
                self.active_polls -= 1
        if keys:
            yield pb.ActivateJobsResponse(
                jobs=[
                    pb.ActivatedJob(
                        key=k, type=request.type, processInstanceKey=k + 1000, bpmnProcessId="fake",
                        processDefinitionVersion=1, processDefinitionKey=1, elementId="task",
                        elementInstanceKey=k + 2000, customHeaders='{"h": "v"}', worker=request.worker,
                        retries=3, deadline=1_700_000_000_000, variables=json.dumps({"n": k}),
                        tenantId="<default>",
                    )
                    for k in keys
                ]
            )

    def _job_done(self, kind: str, rpc: str, request: Any, context: grpc.ServicerContext, reply: Any) -> Any:
        self._record(rpc, request, context)
        with self.lock:
            self.finished.append((kind, request.jobKey))
            self.lock.notify_all()
        return reply

    def CompleteJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._job_done("complete", "CompleteJob", request, context, pb.CompleteJobResponse())

    def FailJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._job_done("fail", "FailJob", request, context, pb.FailJobResponse())

    def ThrowError(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._job_done("throw", "ThrowError", request, context, pb.ThrowErrorResponse())


class FakeServer:
    """Serve a :class:`FakeGateway` on 127.0.0.1:<free port> (plaintext or TLS)."""

    def __init__(self, gateway: Optional[FakeGateway] = None, *, tls: Optional[Tuple[bytes, bytes]] = None) -> None:
        self.gateway = gateway or FakeGateway()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        pb_grpc.add_GatewayServicer_to_server(self.gateway, self.server)
        if tls is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            key, cert = tls
            creds = grpc.ssl_server_credentials([(key, cert)])
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self) -> "FakeServer":
        self.server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop(grace=None).wait(5)
