"""Run inside a fresh virtualenv: ours beside zeebe-grpc in one process, both talking to the engine.

Usage: python scenario_zeebe_grpc.py ours-first|theirs-first. Prints one JSON line of facts the
test checks; any failure exits non-zero with a traceback.
"""
from __future__ import annotations

import json
import sys

if sys.argv[1] == "theirs-first":
    from zeebe_grpc import gateway_pb2 as zpb, gateway_pb2_grpc as zgrpc  # noqa: E402

from zeebe_affinity_sync import EmbeddedZeebe, JobWorker, ZeebeClient  # noqa: E402
from zeebe_affinity_sync.gateway import gateway_pb2 as pb, gateway_pb2_grpc  # noqa: E402,F401

if sys.argv[1] == "ours-first":
    from zeebe_grpc import gateway_pb2 as zpb, gateway_pb2_grpc as zgrpc  # noqa: E402

import grpc  # noqa: E402
import google.protobuf  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402

BPMN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://t">'
    '<bpmn:process id="compat" isExecutable="true"><bpmn:startEvent id="s"/>'
    '<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="double"/>'
    '</bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/></bpmn:process></bpmn:definitions>'
).encode()

with EmbeddedZeebe() as engine:
    client = ZeebeClient(engine.address)
    client.deploy_resource(("compat.bpmn", BPMN))
    worker = JobWorker(client, name="compat")
    worker.register("double", lambda variables: {"n": variables["n"] * 2})
    with worker:
        ours = [client.create_process_instance_with_result("compat", {"n": i}, timeout=20).variables["n"]
                for i in range(10)]
        # zeebe-grpc's own stub and classes, on the same engine, in the same process.
        with grpc.insecure_channel(engine.address) as channel:
            stub = zgrpc.GatewayStub(channel)
            topology = stub.Topology(zpb.TopologyRequest(), timeout=10)
            theirs = stub.CreateProcessInstanceWithResult(zpb.CreateProcessInstanceWithResultRequest(
                request=zpb.CreateProcessInstanceRequest(bpmnProcessId="compat", version=-1,
                                                         variables='{"n": 21}'),
                requestTimeout=20000), timeout=30)
    client.close()

print(json.dumps({
    "ours": ours,
    "theirs": json.loads(theirs.variables)["n"],
    "brokers": len(topology.brokers),
    "distinct_classes": pb.TopologyRequest is not zpb.TopologyRequest,
    "protobuf": google.protobuf.__version__,
    "backend": api_implementation.Type(),
}))
