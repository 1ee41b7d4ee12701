"""The hub as a Flask app: the websocket at ``/`` (flask-sock), ``/healthz``, ``/stats``, ``/metrics``.

:func:`create_app` builds one app per process (gunicorn loads it in each worker after the fork).
Its :class:`Hub` is kept in ``app.extensions["zeebe_affinity_hub"]``; the gunicorn hooks in
:mod:`zeebe_affinity_sync.hub.gunicorn_hooks` use it to close the sockets promptly on shutdown.

Each open websocket holds one gunicorn thread (its handler loop) and one simple-websocket reader
thread; both end when the socket closes, so nothing grows with the number of connections served.
"""
from __future__ import annotations

import logging
import os
import socket
import struct
import threading
from typing import Any, Optional

from flask import Flask, Response, current_app, jsonify, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from . import auth, metrics
from .config import HubConfig
from .core import HubCore

__all__ = ["create_app", "Hub", "EXTENSION_KEY"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "zeebe_affinity_hub"
READER_THREAD_PREFIX = "zas-hub-ws-reader"
_CLOSE_LINGER = 1.0  # s, wait for the peer's close reply before shutting the socket down
_RECEIVE_POLL = 1.0  # s, an idle handler re-checks that its connection is still alive


class _ReaderThread(threading.Thread):
    """simple-websocket's per-connection reader: daemon (never blocks exit), named for /stats."""

    def __init__(self, target: Any = None, **kwargs: Any) -> None:
        super().__init__(target=target, name=READER_THREAD_PREFIX, daemon=True)


class _LockedSocket:
    """The connection's socket with every write serialised and complete (``sendall``).

    simple-websocket's reader thread answers pings and closes on the same socket the handler and
    other connections' threads deliver outcomes on; this wrapper gives all of them one lock.
    """

    __slots__ = ("_sock", "_lock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _text_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame (server to client framing, RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class _WsPeer:
    """A :class:`~zeebe_affinity_sync.hub.core.Peer` over a simple-websocket server connection."""

    __slots__ = ("_ws", "_sock", "_raw")

    def __init__(self, ws: Any, send_timeout: float) -> None:
        self._ws = ws
        self._raw = raw = ws.sock
        raw.settimeout(send_timeout)  # a stuck peer fails our send instead of blocking it forever
        self._sock = _LockedSocket(raw)
        ws.sock = self._sock

    def send(self, text: str) -> None:
        if not self._ws.connected:
            raise ConnectionClosed(self._ws.close_reason, self._ws.close_message)
        self._sock.send(_text_frame(text.encode("utf-8")))

    def close(self, code: int, reason: str) -> None:
        try:
            self._ws.close(reason=code, message=reason)
        finally:
            self._ws.event.set()  # wake the handler blocked in receive()

    def abort(self) -> None:
        """Drop the connection without a close handshake (its socket is stuck or broken)."""
        self._ws.connected = False
        try:
            self._raw.shutdown(socket.SHUT_RDWR)  # wakes the reader thread, which then exits
        except OSError:
            pass
        self._ws.event.set()

    def finish(self, linger: float) -> None:
        """End the connection for good before the handler returns to gunicorn.

        Waits up to ``linger`` seconds for the peer to answer our close (the reader thread then
        closes the socket), else shuts the socket down so the reader wakes and exits. Gunicorn
        then finds the socket closed: without this it would drain a still-open socket for up to
        2 s on its main loop thread, stalling every accept of this worker.
        """
        ws = self._ws
        if ws.connected:
            try:
                ws.close(reason=1000, message="bye")
            except Exception:
                pass
        reader = getattr(ws, "thread", None)
        if reader is None or reader is threading.current_thread():
            return
        reader.join(linger)
        if reader.is_alive():
            try:
                self._raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            reader.join(linger)


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
        """Close every websocket (1001), stop the threads and the Redis bridge."""
        self.core.shutdown()
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
    app.config["SOCK_SERVER_OPTIONS"] = {
        "ping_interval": config.ping_interval,
        "max_message_size": config.max_frame_bytes,
        "receive_bytes": 65536,
        "thread_class": _ReaderThread,
    }
    hub = Hub(config)
    app.extensions[EXTENSION_KEY] = hub
    sock = Sock(app)

    @app.before_request
    def _authenticate() -> Optional[Response]:
        hub.ensure_started()
        if request.path != "/" or not config.tokens:
            return None
        # Werkzeug routes to the websocket only for "Upgrade: websocket"; anything resembling an
        # upgrade is checked (over-including costs nothing, a gap would let a socket in).
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return None
        if auth.token_ok(request.headers.get("Authorization"), config.tokens):
            return None
        log.info("refused websocket from %s: missing or wrong token", request.remote_addr)
        response = jsonify(error="unauthorized", message=auth.UNAUTHORIZED_MESSAGE)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="zeebe-affinity-hub"'
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", hubId=hub.core.hub_id, pid=os.getpid())

    @app.get("/stats")
    def stats() -> Response:
        return jsonify(hub.core.stats())

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(hub.registry), content_type=metrics.CONTENT_TYPE)

    @app.get("/")
    def info() -> Response:
        response = jsonify(
            error="upgrade-required",
            message="this is the zeebe-affinity hub: connect with a websocket client to "
                    "ws://<host>:<port>/ (see docs/protocol.md)",
        )
        response.status_code = 426
        response.headers["Upgrade"] = "websocket"
        return response

    @sock.route("/")
    def hub_socket(ws: Any) -> None:
        core: HubCore = current_app.extensions[EXTENSION_KEY].core
        peer = _WsPeer(ws, config.send_timeout)
        conn = core.open(peer, request.remote_addr or "")
        try:
            peer.send(core.hello_text)
            receive = ws.receive
            handle = core.receive
            while not conn.closed:
                data = receive(_RECEIVE_POLL)
                if data is None:
                    # simple-websocket can close (e.g. on an oversize frame) without waking a
                    # blocked receive(): look at the connection ourselves now and then.
                    if not ws.connected or not ws.thread.is_alive():
                        break
                    continue
                handle(conn, data)
        except (ConnectionClosed, OSError):
            pass
        except Exception:
            log.exception("websocket handler of %r failed", conn)
        finally:
            core.close(conn)
            peer.finish(_CLOSE_LINGER)

    return app
