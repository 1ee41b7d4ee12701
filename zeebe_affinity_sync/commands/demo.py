"""``zeebe-affinity demo``: the whole product on one laptop, measured.

Starts the embedded engine, the hub (gunicorn), the workers and the demo Flask app on a free
port, sends ``--requests`` real HTTP orders from ``--concurrency`` threads, checks that each one
came back with *its own* outcome (order id, total, reservation), and prints a summary table and
one sample response. Exit status 0 only if every request was answered correctly; 130 after
Ctrl-C (everything is stopped first).
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .. import checks, defaults

logger = logging.getLogger(__name__)

SKUS = (("tea", 450), ("coffee", 390), ("cake", 525), ("scone", 275), ("juice", 300))


_positive_int = checks.cli(checks.count, int)
_positive_float = checks.cli(checks.seconds)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=_positive_int, default=defaults.DEMO_REQUESTS,
                        help=f"HTTP requests to send (default {defaults.DEMO_REQUESTS})")
    parser.add_argument("--concurrency", type=_positive_int, default=defaults.DEMO_CONCURRENCY,
                        help=f"client threads sending them (default {defaults.DEMO_CONCURRENCY})")
    parser.add_argument("--timeout", type=_positive_float, default=defaults.DEMO_REQUEST_TIMEOUT,
                        help=f"seconds per request (default {defaults.DEMO_REQUEST_TIMEOUT:g})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


# --------------------------------------------------------------------------- the orders


def make_order(n: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Order number ``n`` and the outcome fields it must come back with."""
    rng = random.Random(n)
    items = [
        {"sku": sku, "quantity": rng.randint(1, 5), "priceCents": price}
        for sku, price in rng.sample(SKUS, rng.randint(1, 3))
    ]
    order_id = f"demo-{n}"
    expected = {
        "orderId": order_id,
        "totalCents": sum(i["quantity"] * i["priceCents"] for i in items),
        "itemCount": sum(i["quantity"] for i in items),
        "status": "confirmed",
        "reservation": f"R-{order_id}",
    }
    return {"orderId": order_id, "items": items}, expected


@dataclass
class LoadResult:
    """What the load run saw. Filled by the sender threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: List[float] = field(default_factory=list)  # s, of correct answers
    errors: List[str] = field(default_factory=list)
    done: int = 0
    sample: Optional[Dict[str, Any]] = None
    elapsed: float = 0.0


def _send(host: str, port: int, order: Dict[str, Any], timeout: float) -> Tuple[int, Any]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", "/orders", body=json.dumps(order),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw[:200].decode("utf-8", "replace")


def _check(status: int, body: Any, expected: Dict[str, Any]) -> Optional[str]:
    if status != 200:
        return f"{expected['orderId']}: HTTP {status}: {body}"
    if not isinstance(body, dict):
        return f"{expected['orderId']}: not a JSON object: {body!r}"
    wrong = {k: body.get(k) for k, v in expected.items() if body.get(k) != v}
    if wrong:
        return f"{expected['orderId']}: wrong outcome {wrong} (expected {expected})"
    return None


def run_load(host: str, port: int, requests: int, concurrency: int, timeout: float,
             stop: threading.Event, progress: bool) -> LoadResult:
    """Send the orders from ``concurrency`` threads; returns when all are answered or ``stop``."""
    result = LoadResult()
    counter = iter(range(requests))
    counter_lock = threading.Lock()

    def sender() -> None:
        while not stop.is_set():
            with counter_lock:
                n = next(counter, None)
            if n is None:
                return
            order, expected = make_order(n)
            started = time.perf_counter()
            try:
                status, body = _send(host, port, order, timeout)
                problem = _check(status, body, expected)
            except (OSError, http.client.HTTPException) as exc:
                body, problem = None, f"{expected['orderId']}: {type(exc).__name__}: {exc}"
            took = time.perf_counter() - started
            with result.lock:
                result.done += 1
                if problem is None:
                    result.latencies.append(took)
                    if result.sample is None:
                        result.sample = {"request": order, "response": body}
                else:
                    result.errors.append(problem)

    threads = [threading.Thread(target=sender, name=f"zeebe-demo-sender-{i}", daemon=True)
               for i in range(min(concurrency, requests))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    bar = _Progress(requests, enabled=progress)
    try:
        while any(t.is_alive() for t in threads):
            bar.show(result.done, len(result.errors))
            stop.wait(0.1)
    finally:
        result.elapsed = time.perf_counter() - started
        bar.show(result.done, len(result.errors), final=True)
    for t in threads:
        t.join(timeout + 1.0)
    return result


class _Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, once at the end otherwise)."""

    WIDTH = 30

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.tty = sys.stderr.isatty()

    def show(self, done: int, errors: int, *, final: bool = False) -> None:
        if not self.enabled or (not self.tty and not final):
            return
        filled = int(self.WIDTH * done / self.total) if self.total else self.WIDTH
        line = f"  [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self.total} requests"
        if errors:
            line += f", {errors} errors"
        end = "\n" if final else ""
        sys.stderr.write(("\r" if self.tty else "") + line + end)
        sys.stderr.flush()


def _percentile(sorted_values: List[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-pct * len(sorted_values) // 100)))  # nearest rank
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary(result: LoadResult, requests: int, concurrency: int) -> str:
    lat = sorted(result.latencies)
    ok = len(lat)
    rows = [
        ("requests", f"{requests}"),
        ("concurrency", f"{concurrency}"),
        ("answered correctly", f"{ok}"),
        ("errors", f"{len(result.errors) + (requests - result.done)}"),
        ("p50 latency", f"{_percentile(lat, 50) * 1000:.1f} ms"),
        ("p95 latency", f"{_percentile(lat, 95) * 1000:.1f} ms"),
        ("p99 latency", f"{_percentile(lat, 99) * 1000:.1f} ms"),
        ("throughput", f"{result.done / result.elapsed if result.elapsed else 0.0:.1f} requests/s"),
        ("wall time", f"{result.elapsed:.2f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["", "zeebe-affinity demo: POST /orders -> order-process -> its own outcome", ""]
    lines.append(f"  {'metric'.ljust(width)}  value")
    lines.append(f"  {'-' * width}  {'-' * 20}")
    lines += [f"  {name.ljust(width)}  {value}" for name, value in rows]
    if result.errors:
        lines += ["", "first errors:"] + [f"  {e}" for e in result.errors[:5]]
    if result.sample is not None:
        lines += ["", "sample request and response:",
                  "  POST /orders " + json.dumps(result.sample["request"]),
                  "  200 " + json.dumps(result.sample["response"], sort_keys=True)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the command


class _Server:
    """The demo app on werkzeug's threaded server, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, name="zeebe-demo-http", daemon=True)

    def __enter__(self) -> "_Server":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5.0)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..demo.flask_app import affinity, create_app
    from ..demo.stack import LocalStack

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    # Both explicitly: a shell starts background jobs with SIGINT ignored, and Python keeps it so.
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    stop = threading.Event()
    stack = LocalStack()
    try:
        sys.stderr.write("starting the embedded engine, the hub and the workers...\n")
        stack.start()
        app = create_app(dict(stack.flask_config(), ZEEBE_AFFINITY_TIMEOUT=args.timeout))
        with _Server(app) as server:
            sys.stderr.write(
                f"demo app on http://127.0.0.1:{server.port}/ (engine {stack.zeebe_address}, "
                f"hub {stack.hub_url}, hub pid {stack.hub.pid}); sending {args.requests} orders from "
                f"{args.concurrency} threads\n"
            )
            try:
                result = run_load("127.0.0.1", server.port, args.requests, args.concurrency,
                                  args.timeout, stop, not args.no_progress)
            finally:
                stop.set()
                affinity.close(app)  # the app's own client, before the hub goes away
    except KeyboardInterrupt:
        stop.set()
        sys.stderr.write("\ninterrupted: stopping the app, the workers, the hub and the engine\n")
        stack.stop()
        sys.stderr.write("stopped\n")
        return 130
    finally:
        stack.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(summary(result, args.requests, args.concurrency))
    ok = not result.errors and len(result.latencies) == args.requests
    return 0 if ok else 1
