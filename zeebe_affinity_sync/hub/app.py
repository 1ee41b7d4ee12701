"""The hub as a Flask app: the websocket at ``/``, ``/healthz``, ``/stats``, ``/metrics``.

:func:`create_app` builds one app per process (gunicorn loads it in each worker after the fork).
Its :class:`Hub` is kept in ``app.extensions["zeebe_affinity_hub"]``; the gunicorn hooks in
:mod:`zeebe_affinity_sync.hub.gunicorn_hooks` use it to close the sockets promptly on shutdown.

Each open websocket holds one gunicorn thread (its handler loop, the only writer of its socket)
and one simple-websocket reader thread; both end when the socket closes, so nothing grows with
the number of connections served. The connection transport is :mod:`.websocket`; this module
only authenticates, upgrades and answers the HTTP endpoints.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Optional

from flask import Flask, Response, jsonify, request
from simple_websocket import ConnectionError as UpgradeError

from . import auth, metrics
from .config import HubConfig
from .core import HubCore
from .websocket import HubServer, WsPeer, reader_threads

__all__ = ["create_app", "Hub", "EXTENSION_KEY"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "zeebe_affinity_hub"


class _Upgraded(Response):
    """The answer after a websocket ran: tells gunicorn the connection is done (as flask-sock)."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if "gunicorn.socket" in environ:
            raise StopIteration()  # gunicorn: close the connection, send nothing more
        return super().__call__(environ, start_response)


class Hub:
    """One process's hub: settings, routing core, optional Redis bridge and metrics registry."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        bridge = None
        if config.redis_url:
            from .redis_bridge import RedisBridge

            bridge = RedisBridge(config.redis_url, prefix=config.channel_prefix,
                                 ttl=config.outcome_ttl)
        self.bridge = bridge
        self.core = HubCore(config, bridge=bridge,
                            hub_id=bridge.hub_id if bridge is not None else None)
        if bridge is not None:
            bridge.on_message = self.core.on_remote
            bridge.on_resync = self.core.resync
        self.core.extra_stats = lambda: {"readerThreads": reader_threads()}
        self.registry = metrics.make_registry(self.core)
        self._pid: Optional[int] = None
        self._start_lock = threading.Lock()

    def ensure_started(self) -> None:
        """Start the background threads in this process (once; again after a fork)."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self.core.start()
            if self.bridge is not None:
                self.bridge.start()
            self._pid = os.getpid()
            log.info("hub %s ready (pid %d, redis %s, broadcast %s, auth %s)", self.core.hub_id,
                     self._pid, "on" if self.bridge else "off",
                     "on" if self.config.broadcast else "off",
                     "on" if self.config.tokens else "off")

    def shutdown(self) -> None:
        """Close every websocket (1001, all at once), stop the threads and the Redis bridge."""
        self.core.shutdown(timeout=self.config.shutdown_timeout)
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge.join(5.0)


def create_app(config: Optional[HubConfig] = None) -> Flask:
    """Build the hub's Flask app.

    Args:
        config: The settings; ``None`` reads them from the environment
            (:meth:`HubConfig.from_env`).

    Raises:
        ConfigurationError: a setting is invalid.
    """
    if config is None:
        config = HubConfig.from_env()
    app = Flask("zeebe_affinity_sync.hub")
    hub = Hub(config)
    app.extensions[EXTENSION_KEY] = hub
    server_options = {
        "ping_interval": config.ping_interval,
        "max_message_size": config.max_frame_bytes,
        "receive_bytes": 65536,
        "inbound_limit": config.inbound_buffer_bytes,
    }

    def _token_given() -> bool:
        if auth.token_ok(request.headers.get("Authorization"), config.tokens):
            return True
        # Opt-in for seed clients, which cannot set headers: off by default because URLs (and
        # so the token) end up in proxy and access logs.
        return config.allow_query_token and auth.query_token_ok(
            request.args.get("token"), config.tokens)

    def _unauthorized() -> Response:
        log.info("refused %s %s from %s: missing or wrong token", request.method, request.path,
                 request.remote_addr)
        response = jsonify(error="unauthorized", message=auth.UNAUTHORIZED_MESSAGE)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="zeebe-affinity-hub"'
        return response

    @app.before_request
    def _authenticate() -> Optional[Response]:
        hub.ensure_started()
        if not config.tokens:
            return None
        if request.path in ("/stats", "/metrics"):
            return None if (not config.protect_stats or _token_given()) else _unauthorized()
        if request.path != "/":
            return None
        # Anything resembling an upgrade is checked (over-including costs nothing, a gap would
        # let a socket in).
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return None
        return None if _token_given() else _unauthorized()

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", hubId=hub.core.hub_id, pid=os.getpid())

    @app.get("/stats")
    def stats() -> Response:
        return jsonify(hub.core.stats())

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(hub.registry), content_type=metrics.CONTENT_TYPE)

    @app.route("/", methods=["GET"], websocket=True)
    def hub_socket() -> Response:
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return _upgrade_required()
        _serve_websocket(hub, request.environ, server_options)
        return _Upgraded()

    @app.get("/")
    def info() -> Response:
        return _upgrade_required()

    return app


def _upgrade_required() -> Response:
    response = jsonify(
        error="upgrade-required",
        message="this is the zeebe-affinity hub: connect with a websocket client to "
                "ws://<host>:<port>/ (see docs/protocol.md)",
    )
    response.status_code = 426
    response.headers["Upgrade"] = "websocket"
    return response


def _serve_websocket(hub: Hub, environ: Any, options: Any) -> None:
    """Upgrade, then run the connection on this (gunicorn) thread until it closes."""
    try:
        ws = HubServer(environ, **options)
    except (UpgradeError, OSError) as exc:  # the peer left during the upgrade
        log.debug("websocket upgrade from %s failed: %s", environ.get("REMOTE_ADDR"), exc)
        return
    core = hub.core
    peer = WsPeer(ws, hub.config.send_timeout, hub.config.outbound_queue_bytes,
                  send_buffer=hub.config.send_buffer_bytes)
    conn = core.open(peer, environ.get("REMOTE_ADDR") or "")
    try:
        peer.serve(core, conn, core.hello_text.encode("utf-8"))
    finally:
        leftovers = peer.leftovers()
        core.close(conn)
        if leftovers:
            core.requeue(leftovers)
        peer.finish()
