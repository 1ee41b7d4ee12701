"""A read-only HTTP/JSON view of an :class:`EmbeddedZeebe` (Zeebe 8.4 has no RPC for incidents).

``GET /incidents``, ``/process-instances``, ``/process-instances/<key>``, ``/jobs``,
``/messages``, ``/definitions``, ``/stats``, ``/user-tasks``, ``/records`` (the last 1000) answer
JSON. Nothing can be changed through it:
resolve incidents with the ResolveIncident RPC (``zbctl resolve incident <key>``). Served by a
``ThreadingHTTPServer`` on one daemon thread (plus one short-lived thread per request); meant for
local debugging, so it binds to the engine's host and has no authentication.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .server import EmbeddedZeebe

logger = logging.getLogger(__name__)

__all__ = ["InspectionServer"]


class InspectionServer:
    """Serve the engine's inspection API over HTTP.

    Args:
        zeebe: The engine to show.
        host: Interface to bind.
        port: TCP port; 0 picks a free one (see :attr:`port`).
    """

    def __init__(self, zeebe: "EmbeddedZeebe", host: str = "127.0.0.1", port: int = 0) -> None:
        self._zeebe = zeebe
        routes: Dict[str, Callable[[], Any]] = {
            "/incidents": zeebe.incidents,
            "/process-instances": zeebe.process_instances,
            "/jobs": zeebe.jobs,
            "/messages": zeebe.messages,
            "/definitions": zeebe.definitions,
            "/stats": zeebe.stats,
            "/user-tasks": zeebe.user_tasks,
            "/records": lambda: zeebe.records(since_position=max(0, zeebe.last_position() - 1000)),
        }
        self._httpd = ThreadingHTTPServer((host, port), _handler(routes, zeebe))
        self._httpd.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._httpd.server_address[0]}:{self.port}"

    def start(self) -> "InspectionServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="zeebe-engine-inspect", daemon=True)
        self._thread.start()
        logger.info("engine inspection API on %s (/incidents, /process-instances, /jobs, /stats ...)", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def _handler(routes: Dict[str, Callable[[], Any]], zeebe: "EmbeddedZeebe") -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "zeebe-affinity-engine"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            if path in routes:
                self._send(200, routes[path]())
            elif path.startswith("/process-instances/"):
                key = path.rsplit("/", 1)[1]
                view = zeebe.process_instance(int(key)) if key.isdigit() else None
                if view is None:
                    self._send(404, {"error": f"no process instance with key '{key}' (active or in the history)"})
                else:
                    self._send(200, view)
            elif path == "/":
                self._send(200, {"endpoints": sorted(routes) + ["/process-instances/<key>"]})
            else:
                self._send(404, {"error": f"unknown path '{path}'; try one of {sorted(routes)}"})

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body, indent=1, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # route http.server's log to logging
            logger.debug("inspect %s - %s", self.address_string(), format % args)

    return Handler
