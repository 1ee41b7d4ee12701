"""Raw speed of the embedded engine over real gRPC, without the client library.

Measures, with the raw ``GatewayStub`` only (so the figures are the engine's + gRPC's own cost):

1. **Throughput**: ``--instances`` instances of start -> ``transform`` -> ``publish-outcome`` ->
   end, created from ``--starters`` threads while ``--pollers`` threads per task type long-poll
   ActivateJobs (batches of ``--batch``) and complete each job; prints instances/s.
2. **Wake-up latency**: a long poll is parked, an instance is created, and the time from the
   CreateProcessInstance answer to the poll's answer is taken, ``--wakeups`` times; prints
   p50 / p99 / max in ms.
3. **Engine alone** (embedded only): the same process through the Python engine API, no gRPC,
   with the record log at its default size and with it off (``record_log_size=0``), so its
   cost shows.

Everything shares one Python process (and its GIL) with the engine unless ``--address`` is given.

Usage::

    python benchmarks/engine_grpc.py
    python benchmarks/engine_grpc.py --instances 5000 --pollers 4
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import List, Optional

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from zeebe_affinity_sync.engine import EmbeddedZeebe

# the same demo process and percentile as benchmarks/engine.py (run as a script: its folder is on sys.path)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine import DEMO_BPMN, percentile  # noqa: E402

BPMN = DEMO_BPMN.format(pid="bench-raw", prefix="raw-")


def throughput(stub: gateway_pb2_grpc.GatewayStub, instances: int, starters: int, pollers: int, batch: int) -> float:
    done = threading.Semaphore(0)
    stop = threading.Event()

    def poll(job_type: str, last: bool) -> None:
        request = pb.ActivateJobsRequest(type=job_type, worker="bench", timeout=60_000, maxJobsToActivate=batch,
                                         requestTimeout=1_000)
        while not stop.is_set():
            for response in stub.ActivateJobs(request, timeout=10):
                for job in response.jobs:
                    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables='{"ok":true}'), timeout=10)
                    if last:
                        done.release()

    threads = [threading.Thread(target=poll, args=(t, last), daemon=True)
               for t, last in (("raw-transform", False), ("raw-publish-outcome", True)) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    per_starter = instances // starters
    request = pb.CreateProcessInstanceRequest(bpmnProcessId="bench-raw", version=-1, variables='{"n":1}')

    def start() -> None:
        for _ in range(per_starter):
            stub.CreateProcessInstance(request, timeout=10)

    began = time.perf_counter()
    starter_threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in starter_threads:
        thread.start()
    for thread in starter_threads:
        thread.join()
    for _ in range(per_starter * starters):
        done.acquire()
    elapsed = time.perf_counter() - began
    stop.set()
    for thread in threads:
        thread.join(15)
    return per_starter * starters / elapsed


def wakeups(stub: gateway_pb2_grpc.GatewayStub, count: int, zeebe: Optional[EmbeddedZeebe]) -> List[float]:
    samples = []
    for _ in range(count):
        answered: List[float] = []
        request = pb.ActivateJobsRequest(type="raw-transform", worker="wake", timeout=60_000, maxJobsToActivate=1,
                                         requestTimeout=10_000)

        def poll() -> None:
            jobs = [j for r in stub.ActivateJobs(request, timeout=30) for j in r.jobs]
            answered.append(time.perf_counter())
            for job in jobs:
                stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key), timeout=10)

        thread = threading.Thread(target=poll)
        thread.start()
        if zeebe is not None:  # wait until the poll is parked inside the engine
            while not zeebe.stats()["parked_polls"]:
                time.sleep(0.001)
        else:
            time.sleep(0.05)
        stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="bench-raw", version=-1), timeout=10)
        created = time.perf_counter()
        thread.join(30)
        samples.append((answered[0] - created) * 1000)
    return samples


def engine_only(instances: int, record_log_size: Optional[int] = None) -> float:
    """The same process driven through the Python engine API: the engine's own cost
    (``record_log_size`` None: the engine's default record log)."""
    from zeebe_affinity_sync.engine.runtime import Engine
    from zeebe_affinity_sync.engine.state import JobRequest

    engine = Engine(history_size=100) if record_log_size is None else Engine(history_size=100,
                                                                             record_log_size=record_log_size)
    engine.start()
    try:
        engine.deploy([("bench-raw.bpmn", BPMN.encode())])
        began = time.perf_counter()
        for n in range(instances):
            engine.create_instance("bench-raw", variables={"n": n})
        for job_type in ("raw-transform", "raw-publish-outcome"):
            while True:
                jobs = engine.activate_jobs(JobRequest(job_type, "bench", 60_000, 32, []), None)
                if not jobs:
                    break
                for job in jobs:
                    engine.complete_job(job.key, {"ok": True})
        assert engine.stats()["process_instances"] == 0
        return instances / (time.perf_counter() - began)
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", help="gateway to use (default: start an EmbeddedZeebe)")
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--starters", type=int, default=4)
    parser.add_argument("--pollers", type=int, default=2, help="long-polling threads per task type")
    parser.add_argument("--batch", type=int, default=32, help="maxJobsToActivate")
    parser.add_argument("--wakeups", type=int, default=200)
    args = parser.parse_args()
    zeebe = None if args.address else EmbeddedZeebe().start()
    address = args.address or zeebe.address
    channel = grpc.insecure_channel(address)
    stub = gateway_pb2_grpc.GatewayStub(channel)
    try:
        stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="bench-raw.bpmn",
                                                                            content=BPMN.encode())]))
        rate = throughput(stub, args.instances, args.starters, args.pollers, args.batch)
        print(f"throughput: {rate:.0f} instances/s ({args.instances} instances, 2 jobs each, "
              f"{args.starters} starters, {args.pollers} pollers per type, batch {args.batch})")
        samples = wakeups(stub, args.wakeups, zeebe)
        print(f"long-poll wake-up after CreateProcessInstance: p50 {statistics.median(samples):.2f} ms, "
              f"p99 {percentile(sorted(samples), 0.99):.2f} ms, max {max(samples):.2f} ms ({len(samples)} samples)")
        if zeebe is not None:
            print(f"engine alone (no gRPC, one thread): {engine_only(args.instances):.0f} instances/s; "
                  f"record log off: {engine_only(args.instances, 0):.0f} instances/s")
    finally:
        if zeebe is not None:
            zeebe.stop()
        channel.close()


if __name__ == "__main__":
    main()
