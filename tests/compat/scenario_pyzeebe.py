"""Run inside a fresh virtualenv: ours beside pyzeebe in one process, both talking to the engine.

Usage: python scenario_pyzeebe.py ours-first|theirs-first. Our client starts instances that a
pyzeebe worker completes, and pyzeebe's client starts instances that our worker completes.
Prints one JSON line of facts the test checks.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile

if sys.argv[1] == "theirs-first":
    import pyzeebe  # noqa: E402

from zeebe_affinity_sync import EmbeddedZeebe, JobWorker, ZeebeClient  # noqa: E402
from zeebe_affinity_sync.gateway import gateway_pb2 as pb  # noqa: E402

if sys.argv[1] == "ours-first":
    import pyzeebe  # noqa: E402,F811

import google.protobuf  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402


def bpmn(process_id: str, job_type: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://t">'
        f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="s"/>'
        f'<bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/>'
        '</bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/></bpmn:process></bpmn:definitions>'
    ).encode()


async def main(address: str, ours: ZeebeClient) -> dict:
    channel = pyzeebe.create_insecure_channel(grpc_address=address)
    their_client = pyzeebe.ZeebeClient(channel)
    topology = await their_client.topology()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "by-pyzeebe.bpmn")
        with open(path, "wb") as f:
            f.write(bpmn("by-pyzeebe", "ours-does-it"))
        await their_client.deploy_resource(path)

    their_worker = pyzeebe.ZeebeWorker(channel, poll_retry_delay=0)

    @their_worker.task(task_type="pyzeebe-does-it")
    async def triple(n: int) -> dict:
        return {"n": n * 3}

    working = asyncio.create_task(their_worker.work())
    try:
        # Our client's instances, completed by pyzeebe's worker (our call runs in a thread).
        by_ours = [
            (await asyncio.to_thread(ours.create_process_instance_with_result, "by-ours", {"n": i},
                                     timeout=20)).variables["n"]
            for i in range(5)
        ]
        # pyzeebe's instances, completed by our worker (running in its own threads).
        by_theirs = [
            (await their_client.run_process_with_result("by-pyzeebe", {"n": i}, timeout=20000)).variables["n"]
            for i in range(5)
        ]
    finally:
        await their_worker.stop()
        await asyncio.wait_for(working, 20)
        await channel.close()
    return {"by_ours": by_ours, "by_theirs": by_theirs, "brokers": len(topology.brokers)}


with EmbeddedZeebe() as engine:
    client = ZeebeClient(engine.address)
    client.deploy_resource(("by-ours.bpmn", bpmn("by-ours", "pyzeebe-does-it")))
    worker = JobWorker(client, name="ours")
    worker.register("ours-does-it", lambda variables: {"n": variables["n"] * 2})
    with worker:
        facts = asyncio.run(main(engine.address, client))
    client.close()

facts.update(protobuf=google.protobuf.__version__, backend=api_implementation.Type(),
             pyzeebe=pyzeebe.__name__, ours_pool_private=pb.POOL is not None)
print(json.dumps(facts))
