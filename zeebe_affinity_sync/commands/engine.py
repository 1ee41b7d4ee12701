"""``zeebe-affinity engine``: run the embedded Zeebe engine in the foreground.

Ctrl-C or SIGTERM stops it cleanly (this entry point installs the signal handlers; the library
never does).
"""
from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import threading
from typing import Any, Optional

from .. import defaults
from ..errors import ZeebeAffinityError

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=defaults.ENGINE_HOST,
                        help=f"interface to bind (default {defaults.ENGINE_HOST}; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=defaults.ENGINE_PORT,
                        help=f"gRPC port (default {defaults.ENGINE_PORT}, Zeebe's; 0 picks a free one)")
    parser.add_argument("--deploy", action="append", default=[], metavar="FILE",
                        help="deploy this BPMN file at start (repeatable)")
    parser.add_argument("--long-poll-timeout", type=float, default=defaults.ENGINE_LONG_POLL_TIMEOUT_MS / 1000,
                        metavar="SECONDS", help="ActivateJobs long poll when the request says 0 (default %(default)s)")
    parser.add_argument("--threads", type=int, default=defaults.ENGINE_SERVER_THREADS,
                        help="gRPC server threads; each parked long poll holds one (default %(default)s)")
    parser.add_argument("--multi-tenancy", action="store_true",
                        help="behave like Zeebe with multi-tenancy on: every request names its tenant")
    parser.add_argument("--tenant", action="append", default=None, metavar="ID", dest="tenants",
                        help="with --multi-tenancy: a tenant requests may use (repeatable; default: any "
                             "well-formed id); --deploy files go to the first one")
    parser.add_argument("--inspect-port", type=int, default=None, metavar="PORT",
                        help="also serve a read-only HTTP/JSON view (incidents, instances, jobs) on this port "
                             "(0 = any free port; default: off)")


def port_problem(host: str, port: int) -> Optional[str]:
    """Why ``host:port`` cannot be listened on, in the CLI's words, or ``None`` if it can.

    Asked before gRPC tries: gRPC's own refusal comes with a raw ``E... add_port.cc`` line on
    stderr, and the library's message speaks of the Python API (``port=0``), not of ``--port``.
    """
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve --host {host}: {exc}"
    family, kind, proto, _, address = infos[0]
    probe = socket.socket(family, kind, proto)
    try:
        probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return (f"port {port} on {host} is already in use (another engine or a Zeebe gateway?): "
                    "stop it, choose another --port, or --port 0 for a free one")
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    finally:
        probe.close()
    return None


def run(args: argparse.Namespace) -> int:
    from ..engine import EmbeddedZeebe
    from ..engine.inspect_http import InspectionServer

    problem = port_problem(args.host, args.port)
    if problem is not None:
        print(f"zeebe-affinity engine: cannot start: {problem}", file=sys.stderr)
        return 2
    try:
        if args.tenants and not args.multi_tenancy:
            raise ValueError("--tenant needs --multi-tenancy")
        zeebe = EmbeddedZeebe(args.host, args.port, long_poll_timeout_ms=max(1, int(args.long_poll_timeout * 1000)),
                              server_threads=args.threads, multi_tenancy=args.multi_tenancy,
                              authorized_tenants=args.tenants)
        zeebe.start()
    except (ZeebeAffinityError, OSError, ValueError) as exc:
        message = str(exc).replace("port=0", "--port 0")  # the CLI's spelling of the library's hint
        print(f"zeebe-affinity engine: cannot start: {message}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    inspection = None
    try:
        if args.inspect_port is not None:
            try:
                inspection = InspectionServer(zeebe, args.host, args.inspect_port).start()
            except OSError as exc:
                print(f"zeebe-affinity engine: cannot serve the inspection API on port {args.inspect_port}: {exc}",
                      file=sys.stderr)
                return 2
        for path in args.deploy:
            try:
                zeebe.deploy(path, tenant_id=args.tenants[0] if args.tenants else None)  # the engine logs it
            except (ZeebeAffinityError, OSError) as exc:
                print(f"zeebe-affinity engine: cannot deploy {path}: {exc}", file=sys.stderr)
                return 2
        # the address line is what scripts wait for
        logger.info("embedded Zeebe engine ready on %s (ZEEBE_ADDRESS=%s); Ctrl-C stops it",
                    zeebe.address, zeebe.address)
        # A short wait, not one long one: a signal the kernel hands to another thread only sets
        # a flag that the main thread checks between waits, so a long wait would delay Ctrl-C.
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        if inspection is not None:
            inspection.stop()
        zeebe.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
