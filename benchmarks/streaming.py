"""Job hand-over latency and jobs/s of :class:`JobWorker`, with and without job streaming.

For each mode (``poll``: long-polling ActivateJobs only; ``stream``: StreamActivatedJobs with the
long poll beside it) the script measures, on a one-task process:

1. **Hand-over latency**: ``--calls`` instances created one after the other; for each, the time
   from just before ``create_process_instance`` to the moment the handler has the job. Prints
   p50 / p99 / max in milliseconds.
2. **Round trip**: ``--calls`` ``create_process_instance_with_result`` calls one after the other
   (create, hand over, complete, answer): what a relay on the request path costs. p50 / p99 / max.
3. **Jobs/s**: ``--jobs`` instances started from ``--starters`` threads while the worker runs
   (``--max-running-jobs`` handler threads); prints jobs completed per second, from the first
   start to the last completion.

Everything runs in one process unless ``--address`` points at an engine elsewhere (then the
engine does not share our GIL); figures are a floor for the library, not a property of Zeebe.

Usage::

    python benchmarks/streaming.py                            # EmbeddedZeebe on a free port
    python benchmarks/streaming.py --calls 100 --jobs 500     # quicker
    zeebe-affinity engine --port 26500 & python benchmarks/streaming.py --address 127.0.0.1:26500

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
from typing import Dict, List, Optional, Sequence

from zeebe_affinity_sync.zeebe import Job, JobWorker, ZeebeClient

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench" targetNamespace="http://example.test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="work"><bpmn:extensionElements>
      <zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * (len(sorted_values) - 1)))))
    return sorted_values[index]


def report(label: str, seconds: List[float]) -> None:
    ms = sorted(s * 1000.0 for s in seconds)
    print(f"  {label}: {len(ms)} calls; p50 {percentile(ms, 0.5):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, "
          f"max {ms[-1]:.2f} ms")


def run_mode(client: ZeebeClient, mode: str, args: argparse.Namespace) -> bool:
    suffix = uuid.uuid4().hex[:8]
    pid, job_type = f"bench-{mode}-{suffix}", f"bench-{mode}-{suffix}"
    client.deploy_resource((f"{pid}.bpmn", BPMN.format(pid=pid, job_type=job_type).encode()))
    arrived: Dict[int, float] = {}  # instance key -> when the handler got its job; under lock
    lock = threading.Lock()
    done = threading.Condition(lock)
    completed = [0]

    def handle(job: Job) -> None:
        now = time.perf_counter()
        with lock:
            arrived[job.process_instance_key] = now
            completed[0] += 1
            done.notify_all()

    worker = JobWorker(client, max_running_jobs=args.max_running_jobs, poll_request_timeout=10,
                       stream=(mode == "stream"))
    worker.register(job_type, handle)
    print(f"{mode}:")
    with worker:
        time.sleep(0.5)  # let the poll (and the stream) open before the clock starts
        # 1. hand-over latency
        latencies = []
        for _ in range(args.calls):
            started = time.perf_counter()
            key = client.create_process_instance(pid).process_instance_key
            with lock:
                if not done.wait_for(lambda k=key: k in arrived, timeout=30):
                    print(f"  instance {key}: its job never reached the handler", file=sys.stderr)
                    return False
                latencies.append(arrived[key] - started)
        report("hand-over latency", latencies)
        # 2. round trip through a with-result call
        trips = []
        for _ in range(args.calls):
            started = time.perf_counter()
            client.create_process_instance_with_result(pid, timeout=30)
            trips.append(time.perf_counter() - started)
        report("with-result round trip", trips)
        # 3. jobs/s
        with lock:
            base = completed[0]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.starters) as pool:
            list(pool.map(lambda _: client.create_process_instance(pid), range(args.jobs)))
        with lock:
            ok = done.wait_for(lambda: completed[0] - base >= args.jobs, timeout=args.drain_timeout)
            finished = completed[0] - base
        wall = time.perf_counter() - started
        print(f"  throughput: {finished} jobs in {wall:.2f}s = {finished / wall:.0f} jobs/s "
              f"(streamed {worker.stats['streamed']}, polled {worker.stats['activated']})")
    return ok


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", help="gateway host:port (default: start an EmbeddedZeebe on a free port)")
    parser.add_argument("--calls", type=int, default=300, help="sequential calls per latency run (300)")
    parser.add_argument("--jobs", type=int, default=2000, help="instances of the throughput run (2000)")
    parser.add_argument("--starters", type=int, default=8, help="threads starting instances (8)")
    parser.add_argument("--max-running-jobs", type=int, default=32, help="handler threads (32)")
    parser.add_argument("--modes", default="poll,stream", help="comma-separated: poll, stream (both)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="s to wait for all jobs (300)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    engine = None
    address = args.address
    if address is None:
        from zeebe_affinity_sync.engine import EmbeddedZeebe

        engine = EmbeddedZeebe().start()
        address = engine.address
    ok = True
    try:
        with ZeebeClient(address) as client:
            for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
                if mode not in ("poll", "stream"):
                    parser.error(f"unknown mode {mode!r}: use poll and/or stream")
                ok = run_mode(client, mode, args) and ok
    finally:
        if engine is not None:
            engine.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
