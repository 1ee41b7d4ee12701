"""Our own gateway stubs: the 8.8 protocol surface, the private descriptor pool, freshness.

The clash with other libraries is checked here without installing them: a subprocess first
(or last) registers a ``gateway_protocol`` file in protobuf's default pool, as zeebe-grpc,
pyzeebe and pytest-zeebe do, and imports ours beside it, on both protobuf backends. The real
libraries are installed in fresh virtualenvs by ``tests/compat``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from google.protobuf import descriptor_pool

from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc


def test_messages_live_in_a_private_pool():
    assert pb.POOL is not descriptor_pool.Default()
    assert pb.DESCRIPTOR.pool is pb.POOL
    assert pb.ActivateJobsRequest.DESCRIPTOR.file is pb.DESCRIPTOR
    assert pb.DESCRIPTOR.package == "gateway_protocol"
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindFileByName(pb.DESCRIPTOR.name)


def test_the_service_has_every_88_rpc():
    service = pb.DESCRIPTOR.services_by_name["Gateway"]
    assert sorted(m.name for m in service.methods) == sorted([
        "ActivateJobs", "StreamActivatedJobs", "CancelProcessInstance", "CompleteJob",
        "CreateProcessInstance", "CreateProcessInstanceWithResult", "EvaluateDecision",
        "DeployProcess", "DeployResource", "FailJob", "ThrowError", "PublishMessage",
        "ResolveIncident", "SetVariables", "Topology", "UpdateJobRetries",
        "ModifyProcessInstance", "MigrateProcessInstance", "UpdateJobTimeout",
        "DeleteResource", "BroadcastSignal",
    ])
    streaming = {m.name for m in service.methods if m.output_type.name in ("ActivatedJob", "ActivateJobsResponse")}
    assert streaming == {"ActivateJobs", "StreamActivatedJobs"}
    stub_methods = {"ActivateJobs", "StreamActivatedJobs", "UpdateJobTimeout", "BroadcastSignal"}
    assert stub_methods <= set(vars(gateway_pb2_grpc.GatewayServicer))


@pytest.mark.parametrize("message, field, number", [
    ("ActivateJobsRequest", "tenantIds", 7),
    ("StreamActivatedJobsRequest", "tenantIds", 6),
    ("ActivatedJob", "tenantId", 14),
    ("ActivatedJob", "kind", 16),
    ("ActivatedJob", "listenerEventType", 17),
    ("ActivatedJob", "tags", 18),
    ("CreateProcessInstanceRequest", "tags", 9),
    ("CreateProcessInstanceRequest", "operationReference", 7),
    ("CreateProcessInstanceWithResultResponse", "tags", 7),
    ("UpdateJobTimeoutRequest", "timeout", 2),
    ("BroadcastSignalRequest", "tenantId", 3),
    ("EvaluateDecisionResponse", "decisionEvaluationKey", 13),
    ("PublishMessageRequest", "tenantId", 6),
    ("DeployResourceRequest", "tenantId", 2),
])
def test_88_fields_have_their_wire_numbers(message, field, number):
    assert getattr(pb, message).DESCRIPTOR.fields_by_name[field].number == number


def test_optional_operation_reference_and_enums():
    request = pb.CancelProcessInstanceRequest(processInstanceKey=1)
    assert not request.HasField("operationReference")
    request.operationReference = 2**63  # uint64: beyond int64
    assert pb.CancelProcessInstanceRequest.FromString(request.SerializeToString()).operationReference == 2**63
    job = pb.ActivatedJob(kind=pb.ActivatedJob.AD_HOC_SUB_PROCESS,
                          listenerEventType=pb.ActivatedJob.UNSPECIFIED, tags=["a"])
    again = pb.ActivatedJob.FromString(job.SerializeToString())
    assert pb.ActivatedJob.JobKind.Name(again.kind) == "AD_HOC_SUB_PROCESS"
    assert again.listenerEventType == 6 and list(again.tags) == ["a"]
    assert pb.Partition.LEADER == 0 and pb.Partition.PartitionBrokerHealth.Name(2) == "DEAD"
    nested = pb.ModifyProcessInstanceRequest.ActivateInstruction(elementId="x")
    assert type(nested).__qualname__ == "ModifyProcessInstanceRequest.ActivateInstruction"


# A stand-in for zeebe-grpc: a different file that declares the same gateway_protocol names,
# registered in the default pool the way protoc's own output does.
_OTHER_LIBRARY = """
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.internal import builder
f = descriptor_pb2.FileDescriptorProto(name="gateway.proto", package="gateway_protocol", syntax="proto3")
m = f.message_type.add(name="ActivateJobsRequest")
m.field.add(name="type", number=1, type=9, label=1)
m.field.add(name="worker", number=2, type=9, label=1)
desc = descriptor_pool.Default().AddSerializedFile(f.SerializeToString())
other = {}
builder.BuildMessageAndEnumDescriptors(desc, other)
builder.BuildTopDescriptorsAndMessages(desc, "other_pb2", other)
OtherRequest = other["ActivateJobsRequest"]
"""

_OURS = """
from zeebe_affinity_sync.gateway import gateway_pb2 as pb, gateway_pb2_grpc
assert gateway_pb2_grpc.GatewayStub
"""

_CHECK = """
wire = OtherRequest(type="t", worker="w").SerializeToString()
ours = pb.ActivateJobsRequest.FromString(wire)
assert (ours.type, ours.worker) == ("t", "w"), ours
assert OtherRequest.FromString(pb.ActivateJobsRequest(type="u").SerializeToString()).type == "u"
from google.protobuf import descriptor_pool
from google.protobuf.internal import api_implementation
assert descriptor_pool.Default().FindMessageTypeByName("gateway_protocol.ActivateJobsRequest").file.name == "gateway.proto"
print("ok", api_implementation.Type())
"""


@pytest.mark.parametrize("backend", ["python", "upb"])
@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-first", "other-first"])
def test_coexists_with_another_gateway_protocol_in_the_default_pool(backend, ours_first):
    code = (_OURS + _OTHER_LIBRARY) if ours_first else (_OTHER_LIBRARY + _OURS)
    env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=backend)
    done = subprocess.run([sys.executable, "-W", "error", "-c", textwrap.dedent(code + _CHECK)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", backend]


def test_committed_modules_match_the_proto():
    pytest.importorskip("grpc_tools", reason="grpcio-tools not installed: cannot regenerate to compare")
    from zeebe_affinity_sync.gateway import regenerate

    assert regenerate.stale(regenerate.generate()) == []
