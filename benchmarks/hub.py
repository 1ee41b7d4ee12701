"""Drive an affinity hub with websocket clients and print what it delivers.

    python benchmarks/hub.py --clients 50 --workers 4 --outcomes 20000
    python benchmarks/hub.py --clients 10 --workers 2 --outcomes 5000 --rate 1000
    python benchmarks/hub.py --url ws://host:8089 --seed ...   # a broadcast-only (seed) hub

Clients subscribe to the keys of the outcomes they own (or, with ``--seed``, just
REGISTER_CLIENT and filter the broadcast by key), workers send PROCESS_OUTCOME frames (with an
``id`` and a window of un-ACKed frames, unless ``--seed``), and the script prints outcomes/s
delivered to their owner, frames/s, p50/p99 latency (send -> owner) and lost outcomes. Clients
and workers are spread over ``--procs`` processes so the load generator is not the bottleneck.
Without ``--url`` it starts our hub itself (HubProcess, real gunicorn).

The owners ask for receipts (``"receipts": true``, as ``ZBAffinityClient`` does) and confirm
every outcome with RECEIPT frames batched as its hub connection batches them (a frame once 500
ids are pending or ``AFFINITY_RECEIPT_LINGER`` after the first), so the hub stores each outcome
until confirmed: the at-least-once guarantee is on (``--no-receipts`` measures the
hand-over-once path).
``--slow-peers 3 --frozen`` adds three seed peers (REGISTER_CLIENT, broadcast) and one subscriber
of every outcome's instance key that never read their sockets, beside the load::

    python benchmarks/hub.py --clients 50 --workers 4 --outcomes 20000 --slow-peers 3 --frozen
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import threading
import time
from typing import Any, Dict, List, Optional

import websocket

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zeebe_affinity_sync.affinity.hub_writer import KEYS_PER_FRAME  # noqa: E402
from zeebe_affinity_sync.defaults import AFFINITY_RECEIPT_LINGER as RECEIPT_LINGER  # noqa: E402


def _connect(url: str, token: Optional[str]) -> websocket.WebSocket:
    header = [f"Authorization: Bearer {token}"] if token else []
    ws = websocket.create_connection(url, header=header, timeout=30, enable_multithread=True)
    return ws


def _drain_hello(ws: websocket.WebSocket, seed: bool) -> None:
    if seed:
        return
    frame = json.loads(ws.recv())
    if frame.get("type") != "HELLO":
        raise RuntimeError(f"expected HELLO first, got {frame}")


def _client(args: Any, index: int, ready: Any, done: Any, results: Any) -> None:
    """One owner: subscribes to its keys, records latency of each outcome it gets."""
    ws = _connect(args.url, args.token)
    _drain_hello(ws, args.seed)
    mine = [str(n) for n in range(index, args.outcomes, args.clients)]
    wanted = set(mine)
    receipts = not args.seed and not args.no_receipts
    if receipts:
        ws.send(json.dumps({"type": "HELLO", "version": 1, "role": "client", "receipts": True}))
    ws.send(json.dumps({"type": "REGISTER_CLIENT"}))
    if not args.seed:
        for start in range(0, len(mine), 1000):
            ws.send(json.dumps({"type": "SUBSCRIBE", "keys": [f"r{k}" for k in mine[start:start + 1000]],
                                "id": f"s{start}"}))
            while True:
                reply = json.loads(ws.recv() or "{}")
                if reply.get("type") == "ACK":
                    break
                if reply.get("type") == "ERROR" or not reply:
                    print(f"client {index}: SUBSCRIBE refused: {reply or 'connection closed'}"
                          " (each client may hold at most the hub's maxSubscriptions keys:"
                          " use more --clients or fewer --outcomes)", file=sys.stderr, flush=True)
                    os._exit(2)  # a thread cannot end the run otherwise
    ready.release()
    latencies: List[float] = []
    got = 0
    foreign = 0
    last = 0.0
    # Receipts as ZBAffinityClient's hub connection sends them (affinity/hub_writer.py): once
    # KEYS_PER_FRAME are pending, or RECEIPT_LINGER after the first pending one.
    # (A quiet socket is looked at again every RECEIPT_LINGER, so a receipt is at most one more
    # linger late, as with the writer's own wakeups.)
    unconfirmed: List[str] = []
    due = float("inf")
    ws.settimeout(RECEIPT_LINGER)
    while got < len(mine):
        if unconfirmed and (len(unconfirmed) >= KEYS_PER_FRAME or time.monotonic() >= due):
            ws.send(json.dumps({"type": "RECEIPT", "deliveryIds": unconfirmed}))
            unconfirmed = []
            due = float("inf")
        try:
            text = ws.recv()
        except websocket.WebSocketTimeoutException:
            if done.is_set():
                break
            continue
        now = time.monotonic()
        frame = json.loads(text)
        if frame.get("type") != "PROCESS_OUTCOME":
            continue
        key = str(frame.get("processInstanceKey"))
        if key not in wanted:
            foreign += 1
            continue
        wanted.discard(key)
        if receipts:
            if not unconfirmed:
                due = now + RECEIPT_LINGER
            unconfirmed.append(frame["deliveryId"])
        got += 1
        last = now
        latencies.append(now - frame["variables"]["t"])
    if unconfirmed:
        ws.send(json.dumps({"type": "RECEIPT", "deliveryIds": unconfirmed}))
    ws.close()
    results.put({"kind": "client", "got": got, "expected": len(mine), "foreign": foreign,
                 "latencies": latencies, "last": last})


def _worker(args: Any, index: int, start: Any, results: Any) -> None:
    """One outcome sender: sends its share, at --rate (shared) or flat out, within an ACK window."""
    ws = _connect(args.url, args.token)
    _drain_hello(ws, args.seed)
    ws.send(json.dumps({"type": "REGISTER_WORKER"}))
    mine = list(range(index, args.outcomes, args.workers))
    window = threading.Semaphore(args.window)
    acks = [0]
    errors = [0]
    finished = threading.Event()

    def read_acks() -> None:
        ws.settimeout(1.0)
        while not finished.is_set() or acks[0] + errors[0] < len(mine):
            try:
                frame = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                if finished.is_set() and time.monotonic() > deadline[0]:
                    return
                continue
            except Exception:
                return
            if frame.get("type") == "ACK":
                acks[0] += 1
                window.release()
            elif frame.get("type") == "ERROR":
                errors[0] += 1
                window.release()

    deadline = [float("inf")]
    reader = None
    if not args.seed:
        reader = threading.Thread(target=read_acks, daemon=True)
        reader.start()
    start.wait()
    interval = args.workers / args.rate if args.rate else 0.0
    t0 = time.monotonic()
    next_at = t0
    for n in mine:
        if interval:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        frame: Dict[str, Any] = {"type": "PROCESS_OUTCOME", "processInstanceKey": str(n),
                                 "variables": {"t": time.monotonic(), "n": n}}
        if args.size:
            frame["variables"]["blob"] = "x" * args.size
        if not args.seed:
            window.acquire()
            frame["requestId"] = f"r{n}"
            frame["id"] = str(n)
        ws.send(json.dumps(frame, separators=(",", ":")))
    sent_at = time.monotonic()
    finished.set()
    deadline[0] = time.monotonic() + args.drain
    if reader is not None:
        reader.join(args.drain + 2)
    ws.close()
    results.put({"kind": "worker", "sent": len(mine), "acks": acks[0], "errors": errors[0],
                 "first": t0, "sent_at": sent_at})


def _process(args: Any, clients: List[int], workers: List[int], ready: Any, start: Any,
             done: Any, results: Any) -> None:
    threads = [threading.Thread(target=_client, args=(args, i, ready, done, results))
               for i in clients]
    threads += [threading.Thread(target=_worker, args=(args, i, start, results)) for i in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _percentile(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(args: Any) -> Dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Semaphore(0)
    start = ctx.Event()
    done = ctx.Event()
    results = ctx.Queue()
    procs = []
    for p in range(args.procs):
        clients = [i for i in range(args.clients) if i % args.procs == p]
        workers = [i for i in range(args.workers) if i % args.procs == p]
        proc = ctx.Process(target=_process, args=(args, clients, workers, ready, start, done,
                                                  results), daemon=True)
        proc.start()
        procs.append(proc)
    for _ in range(args.clients):
        if not ready.acquire(timeout=60):
            raise SystemExit("clients did not subscribe within 60 s")
    if args.seed:
        # Seed clients get no ACK for REGISTER_CLIENT: give the hub a moment to register them,
        # or the first outcomes are broadcast before anyone is there to get them.
        time.sleep(1.0)
    start.set()
    collected: List[Dict[str, Any]] = []
    expected_results = args.clients + args.workers
    worker_results = 0
    while len(collected) < expected_results:
        item = results.get(timeout=600)
        collected.append(item)
        if item["kind"] == "worker":
            worker_results += 1
            if worker_results == args.workers:
                # Everything is sent; let the owners drain, then tell the rest to give up.
                threading.Timer(args.drain, done.set).start()
    for proc in procs:
        proc.join(10)
    clients = [r for r in collected if r["kind"] == "client"]
    workers = [r for r in collected if r["kind"] == "worker"]
    got = sum(r["got"] for r in clients)
    latencies = [x for r in clients for x in r["latencies"]]
    first = min(r["first"] for r in workers)
    last = max([r["last"] for r in clients if r["last"]] or [first])
    elapsed = max(last - first, 1e-9)
    acks = sum(r["acks"] for r in workers)
    sent = sum(r["sent"] for r in workers)
    frames = sent + acks + got + sum(r["foreign"] for r in clients)
    return {
        "clients": args.clients, "workers": args.workers, "outcomes": args.outcomes,
        "delivered": got, "lost": args.outcomes - got, "acks": acks,
        "errors": sum(r["errors"] for r in workers),
        "foreign": sum(r["foreign"] for r in clients),
        "seconds": elapsed,
        "outcomes_per_s": got / elapsed, "frames_per_s": frames / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000, "p99_ms": _percentile(latencies, 0.99) * 1000,
    }


def _non_readers(args: Any) -> List[Any]:
    """Peers that connect, register and never read again (tiny receive buffers)."""
    opts = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)
    header = [f"Authorization: Bearer {args.token}"] if args.token else []
    peers = []
    for _ in range(args.slow_peers):
        ws = websocket.create_connection(args.url, header=header, timeout=30, sockopt=opts)
        ws.send(json.dumps({"type": "REGISTER_CLIENT"}))
        peers.append(ws)
    if args.frozen:
        ws = websocket.create_connection(args.url, header=header, timeout=30, sockopt=opts)
        ws.send(json.dumps({"type": "HELLO", "version": 1, "receipts": True}))
        keys = [str(n) for n in range(args.outcomes)]
        for start in range(0, len(keys), 5000):
            ws.send(json.dumps({"type": "SUBSCRIBE", "keys": keys[start:start + 5000]}))
        peers.append(ws)
    return peers


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10, help="owner connections (C)")
    parser.add_argument("--workers", type=int, default=2, help="outcome sender connections (W)")
    parser.add_argument("--outcomes", type=int, default=10000, help="outcomes in total (K)")
    parser.add_argument("--url", default=None, help="hub URL (default: start our hub)")
    parser.add_argument("--token", default=None, help="bearer token for --url")
    parser.add_argument("--rate", type=float, default=0.0, help="steady outcomes/s in total (0 = flat out)")
    parser.add_argument("--window", type=int, default=200, help="un-ACKed outcomes per worker")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument("--seed", action="store_true",
                        help="seed hub: clients REGISTER_CLIENT and filter the broadcast, no ACKs")
    parser.add_argument("--threads", type=int, default=None, help="--threads of the hub we start")
    parser.add_argument("--no-receipts", action="store_true",
                        help="owners do not ask for receipts (hand-over-once delivery)")
    parser.add_argument("--size", type=int, default=0, help="bytes of padding per outcome")
    parser.add_argument("--slow-peers", type=int, default=0,
                        help="seed peers (broadcast) that never read, beside the load")
    parser.add_argument("--frozen", action="store_true",
                        help="add one subscriber of every instance key that never reads")
    parser.add_argument("--redis", default=None, help="start our hub with --redis URL (scale-out path)")
    parser.add_argument("--hub-workers", type=int, default=1,
                        help="gunicorn workers of the hub we start (more than 1 needs --redis)")
    args = parser.parse_args(argv)
    hub = None
    if args.url is None:
        from zeebe_affinity_sync.demo.hub_runner import HubProcess

        args.token = args.token or "bench-token"
        hub = HubProcess(token=args.token, redis_url=args.redis, workers=args.hub_workers,
                         threads=args.threads or max(64, 2 * (args.clients + args.workers)),
                         extra_args=("--max-subscriptions", str(max(10_000, args.outcomes)),
                                     "--stats-interval", "0"))
        hub.start()
        args.url = hub.url
    peers = _non_readers(args)
    drops = None
    try:
        r = run(args)
        if hub is not None:
            drops = hub.stats().get("slowPeerDrops")
    finally:
        for ws in peers:
            ws.shutdown()
        if hub is not None:
            hub.stop()
    mode = "seed broadcast" if args.seed else "targeted"
    if not args.seed:
        mode += ", hand-over once" if args.no_receipts else ", receipts"
    if args.slow_peers or args.frozen:
        mode += f", {args.slow_peers} non-reading broadcast peers{' + 1 frozen subscriber' if args.frozen else ''}"
    if args.size:
        mode += f", {args.size} B padding"
    if args.redis:
        mode += f", redis, {args.hub_workers} hub worker(s)"
    print(f"hub benchmark ({mode}, {args.url}): C={r['clients']} W={r['workers']} K={r['outcomes']}"
          f"{' rate=%g/s' % args.rate if args.rate else ''}")
    print(f"  delivered to owner : {r['delivered']} in {r['seconds']:.2f} s = {r['outcomes_per_s']:.0f} outcomes/s")
    print(f"  frames             : {r['frames_per_s']:.0f} frames/s (sent + ACKs + delivered + foreign)")
    print(f"  latency            : p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")
    print(f"  lost               : {r['lost']}   (ACKs {r['acks']}, ERRORs {r['errors']}, "
          f"foreign copies {r['foreign']})")
    if drops is not None:
        print(f"  slow peers dropped : {drops}")
    return 0 if r["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
