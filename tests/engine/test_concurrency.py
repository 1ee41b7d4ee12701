"""Many clients at once over real gRPC: every instance finishes and nothing is left behind."""
from __future__ import annotations

import json
import threading
from typing import List

from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import create, deploy, publish
from .test_messages import receive_process

INSTANCES_PER_STARTER = 40
STARTERS = 4


def test_concurrent_starts_workers_failures_messages_and_cancels(zeebe, stub):
    deploy(stub, "demo.bpmn", m.tasks_process("demo", ["transform", "publish-outcome"]))
    deploy(stub, "order.bpmn", receive_process())
    total = INSTANCES_PER_STARTER * STARTERS
    finished = threading.Semaphore(0)
    stop = threading.Event()
    errors: List[BaseException] = []

    def guarded(fn):
        def run(*args):
            try:
                fn(*args)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
        return run

    @guarded
    def worker(job_type: str) -> None:
        request = pb.ActivateJobsRequest(type=job_type, worker=f"w-{job_type}", timeout=30_000, maxJobsToActivate=8,
                                         requestTimeout=200)
        while not stop.is_set():
            for response in stub.ActivateJobs(request, timeout=30):
                for job in response.jobs:
                    variables = json.loads(job.variables)
                    if job_type == "transform" and variables["n"] % 5 == 0 and job.retries == 3:
                        stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=2, errorMessage="flaky"), timeout=10)
                        continue
                    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables=json.dumps({job_type: True})),
                                     timeout=10)
                    if job_type == "publish-outcome":
                        finished.release()

    @guarded
    def starter(offset: int) -> None:
        for i in range(INSTANCES_PER_STARTER):
            create(stub, "demo", {"n": offset + i})

    @guarded
    def orders() -> None:
        keys = [create(stub, "order", {"orderId": f"o-{i}"}) for i in range(20)]
        for i, key in enumerate(keys):
            if i % 2:
                publish(stub, "payment-received", f"o-{i}")
            else:
                stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=key), timeout=10)

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("transform", "publish-outcome") for _ in range(2)]
    threads += [threading.Thread(target=starter, args=(s * 1000,)) for s in range(STARTERS)]
    threads.append(threading.Thread(target=orders))
    for thread in threads:
        thread.start()
    try:
        for _ in range(total):
            assert finished.acquire(timeout=60), "not every instance finished"
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    # the ten correlated orders wait at their follow-up task; everything else is gone
    view = zeebe.process_instances(include_finished=False)
    assert len(view) == 10 and {i["bpmn_process_id"] for i in view} == {"order"}
    for order in view:
        assert [e["element_id"] for e in order["elements"]] == ["after"]
    stats = zeebe.stats()
    assert stats["jobs"] == 10 and stats["activatable_jobs"] == 10
    assert stats["element_instances"] == 20  # 10 roots + 10 tasks
    assert stats["parked_polls"] == 0 and stats["subscriptions"] == 0 and stats["result_waiters"] == 0
    assert stats["incidents"] == 0 and stats["buffered_messages"] == 0
    assert stats["scheduled"] == 0  # completed jobs left no deadline behind

