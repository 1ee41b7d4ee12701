"""Throughput and latency of the sync Zeebe client and job workers on the seed's demo process.

The process is the seed demo's shape: start -> service task ``transform`` -> service task
``publish-outcome`` -> end. The script measures, in this order:

1. **Worker drain**: ``--instances`` instances are started first; then ``--workers``
   :class:`JobWorker` s (each serving both task types, ``--max-running-jobs`` handler threads
   each) start and work the backlog off; prints instances/s and jobs/s (the workers' own rate).
2. **Throughput**: ``--instances`` more instances are started with ``create_process_instance``
   from ``--starters`` threads while the workers run; prints instances/s from the first start to
   the last completed job (often bounded by how fast instances can be started).
3. **Latency, sequential**: ``--calls`` calls of ``create_process_instance_with_result`` one after
   the other; prints p50 / p99 / max in milliseconds.
4. **Latency, concurrent**: the same number of calls from ``--threads`` threads at once; prints
   p50 / p99 / max and the calls/s achieved.

Everything runs in one process (the embedded engine, the workers and the callers share the GIL
unless ``--address`` points at a gateway elsewhere), so the figures are a floor for the library,
not a property of Zeebe. Handlers do no work, so the figures are the library's own overhead plus
the engine's.

To see the library without the engine sharing its GIL, run the engine in its own process::

    zeebe-affinity engine --port 26500 &
    python benchmarks/engine.py --address 127.0.0.1:26500

Usage::

    python benchmarks/engine.py                       # starts an EmbeddedZeebe on a free port
    python benchmarks/engine.py --address localhost:26500 --instances 5000
    python benchmarks/engine.py --instances 500 --calls 200 --threads 20   # quicker

Exit status 0 when every instance completed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional, Sequence

from zeebe_affinity_sync.zeebe import JobWorker, ZeebeClient

DEMO_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench" targetNamespace="http://example.test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="transform"><bpmn:extensionElements>
      <zeebe:taskDefinition type="{prefix}transform"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="publish"><bpmn:extensionElements>
      <zeebe:taskDefinition type="{prefix}publish-outcome"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="transform"/>
    <bpmn:sequenceFlow id="f2" sourceRef="transform" targetRef="publish"/>
    <bpmn:sequenceFlow id="f3" sourceRef="publish" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * (len(sorted_values) - 1)))))
    return sorted_values[index]


def report_latencies(label: str, seconds: List[float], wall: float) -> None:
    ms = sorted(s * 1000.0 for s in seconds)
    print(
        f"{label}: {len(ms)} calls in {wall:.2f}s ({len(ms) / wall:.0f} calls/s); "
        f"p50 {percentile(ms, 0.50):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, max {ms[-1]:.2f} ms"
    )


def build_workers(args: argparse.Namespace, prefix: str) -> List[JobWorker]:
    workers = []
    for i in range(args.workers):
        worker = JobWorker(
            gateway_address=args.address, name=f"bench-{i}", max_running_jobs=args.max_running_jobs,
            poll_request_timeout=5.0,
        )
        worker.register(f"{prefix}transform", lambda variables: {"upper": str(variables.get("text", "")).upper()})
        worker.register(f"{prefix}publish-outcome", lambda variables: {"published": True})
        workers.append(worker)
    return workers


def completed_jobs(workers: List[JobWorker]) -> int:
    return sum(w.stats["completed"] for w in workers)


def throughput(client: ZeebeClient, workers: List[JobWorker], pid: str, args: argparse.Namespace) -> bool:
    base = completed_jobs(workers)
    target = base + 2 * args.instances  # two jobs per instance
    started = time.perf_counter()
    with ThreadPoolExecutor(args.starters) as pool:
        list(pool.map(lambda i: client.create_process_instance(pid, {"text": f"req-{i}"}), range(args.instances)))
    created = time.perf_counter()
    deadline = created + args.drain_timeout
    done = threading.Event()
    while completed_jobs(workers) < target and time.perf_counter() < deadline:
        done.wait(0.005)  # measuring only: the workers themselves never sleep
    finished = time.perf_counter()
    count = (completed_jobs(workers) - base) // 2
    wall = finished - started
    print(
        f"throughput: {count}/{args.instances} instances completed in {wall:.2f}s = "
        f"{count / wall:.0f} instances/s ({args.workers} workers x {args.max_running_jobs} handler threads; "
        f"starting them alone took {created - started:.2f}s = {args.instances / (created - started):.0f}/s)"
    )
    return count == args.instances


def drain(client: ZeebeClient, workers: List[JobWorker], pid: str, args: argparse.Namespace) -> bool:
    """Start the instances first, then the workers: the workers' own rate, with no creation load."""
    with ThreadPoolExecutor(args.starters) as pool:
        list(pool.map(lambda i: client.create_process_instance(pid, {"text": f"backlog-{i}"}), range(args.instances)))
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    deadline = started + args.drain_timeout
    pause = threading.Event()
    while completed_jobs(workers) < 2 * args.instances and time.perf_counter() < deadline:
        pause.wait(0.005)
    wall = time.perf_counter() - started
    count = completed_jobs(workers) // 2
    print(f"worker drain: a backlog of {count}/{args.instances} instances (2 jobs each) worked off in "
          f"{wall:.2f}s = {count / wall:.0f} instances/s = {2 * count / wall:.0f} jobs/s")
    return count == args.instances


def latency(client: ZeebeClient, pid: str, args: argparse.Namespace) -> None:
    def one(i: int) -> float:
        t0 = time.perf_counter()
        client.create_process_instance_with_result(pid, {"text": f"lat-{i}"}, timeout=30)
        return time.perf_counter() - t0

    for i in range(min(20, args.calls)):  # warm-up: channels, threads, caches
        one(i)
    t0 = time.perf_counter()
    seq = [one(i) for i in range(args.calls)]
    report_latencies("create_process_instance_with_result, sequential", seq, time.perf_counter() - t0)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        par = list(pool.map(one, range(args.calls)))
    report_latencies(f"create_process_instance_with_result, {args.threads} threads", par, time.perf_counter() - t0)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", help="gateway host:port (default: start an EmbeddedZeebe on a free port)")
    parser.add_argument("--instances", type=int, default=2000, help="instances for the throughput run (2000)")
    parser.add_argument("--starters", type=int, default=8, help="threads starting instances (8)")
    parser.add_argument("--workers", type=int, default=2, help="JobWorkers, each serving both task types (2)")
    parser.add_argument("--max-running-jobs", type=int, default=32, help="handler threads per worker (32)")
    parser.add_argument("--calls", type=int, default=500, help="with-result calls per latency run (500)")
    parser.add_argument("--threads", type=int, default=20, help="threads of the concurrent latency run (20)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="s to wait for all instances (300)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    engine: Any = None
    if args.address is None:
        from zeebe_affinity_sync.engine import EmbeddedZeebe

        engine = EmbeddedZeebe(port=0).start()
        args.address = engine.address
    run_id = uuid.uuid4().hex[:6]
    pid, prefix = f"bench-demo-{run_id}", f"bench-{run_id}-"
    print(f"gateway {args.address} ({'embedded engine, same process' if engine else 'external'}); "
          f"python {sys.version.split()[0]}")
    ok = False
    workers: List[JobWorker] = []
    try:
        with ZeebeClient(args.address) as client:
            client.deploy_resource(("bench-demo.bpmn", DEMO_BPMN.format(pid=pid, prefix=prefix).encode()))
            workers = build_workers(args, prefix)
            ok = drain(client, workers, pid, args)
            ok = throughput(client, workers, pid, args) and ok
            latency(client, pid, args)
    finally:
        for worker in workers:
            worker.stop(timeout=30)
        if engine is not None:
            engine.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
