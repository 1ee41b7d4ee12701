"""The hub's gunicorn worker: gthread, except that no thread waits for a request's headers.

Gunicorn's threaded worker hands a connection to a pool thread as soon as it is readable, and
the thread then blocks until the whole request head has arrived. A client that sends one header
byte every couple of seconds (slowloris) holds that thread; a few hundred of them hold all of
them, and websocket upgrades and ``/healthz`` wait. :class:`HubWorker` reads request heads on
gunicorn's own event loop instead, without blocking: a connection reaches a pool thread only once
its head is complete (``\\r\\n\\r\\n``), and one whose head has not arrived within
``header_timeout`` seconds (default 5, ``--header-timeout``) is closed without costing a thread.

With TLS (``--certfile``) the bytes on the socket are TLS records, so the head cannot be seen
before the handshake: there the pool thread reads it with a per-read timeout of
``header_timeout`` (a weaker bound; terminate TLS in front of the hub for the full one).

Written against gunicorn's ``ThreadWorker`` as it is from 24 to 27 (``accept(listener)``,
``on_client_socket_readable``, ``keepalived_conns``, ``nr_conns``, ``murder_keepalived``,
``handle``, ``enqueue_req``, ``TConn``), hence the ``gunicorn>=24,<28`` pin in ``setup.cfg``;
``tests/hub/test_hardening.py`` runs it under a real gunicorn.
"""
from __future__ import annotations

import collections
import errno
import logging
import selectors

import time
from functools import partial
from typing import Any, Deque, Optional, Tuple

from gunicorn.workers.gthread import TConn, ThreadWorker

from .. import defaults

__all__ = ["HubWorker", "MAX_HEAD_BYTES"]

log = logging.getLogger(__name__)

#: A request head larger than this is refused (431) before it reaches gunicorn's parser.
MAX_HEAD_BYTES = 64 * 1024
_HEAD_END = b"\r\n\r\n"
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
              b"Content-Length: 0\r\n\r\n")


class HubWorker(ThreadWorker):
    """gthread with request heads read on the event loop, bounded by ``header_timeout``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections whose head is still arriving, oldest first: (deadline, conn).
        # Main (event loop) thread only.
        self._heads: Deque[Tuple[float, TConn]] = collections.deque()

    @property
    def header_timeout(self) -> float:
        hub = _hub_of(self)
        if hub is not None:
            return float(hub.config.header_timeout)
        return defaults.HUB_HEADER_TIMEOUT

    # ------------------------------------------------------------------ event loop thread

    def accept(self, listener: Any) -> None:
        if self.cfg.is_ssl:
            super().accept(listener)
            return
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        self._wait_for_head(conn)

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        # A kept-alive connection's next request: its head is read here too.
        if self.cfg.is_ssl:
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        try:
            self.keepalived_conns.remove(conn)
        except ValueError:
            return
        self._wait_for_head(conn)

    def _wait_for_head(self, conn: TConn) -> None:
        conn._zas_head = bytearray()  # type: ignore[attr-defined]
        self._heads.append((time.monotonic() + self.header_timeout, conn))
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_head, conn))

    def _read_head(self, conn: TConn, client: Any) -> None:
        head: bytearray = conn._zas_head  # type: ignore[attr-defined]
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop_head(conn)
            return
        head += chunk
        if _HEAD_END in head:
            self._stop_waiting(conn)
            self.enqueue_req(conn)
        elif len(head) > MAX_HEAD_BYTES:
            try:
                conn.sock.send(_TOO_LARGE)
            except OSError:
                pass
            self._drop_head(conn)

    def _stop_waiting(self, conn: TConn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self._heads = collections.deque((d, c) for d, c in self._heads if c is not conn)

    def _drop_head(self, conn: TConn) -> None:
        self._stop_waiting(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_keepalived(self, force: bool = False) -> None:
        if force:  # gunicorn >= 27 passes it at shutdown; older ones never do
            super().murder_keepalived(force=True)  # type: ignore[call-arg]
        else:
            super().murder_keepalived()
        now = time.monotonic()
        while self._heads and (force or self._heads[0][0] <= now):
            _, conn = self._heads.popleft()
            log.debug("closing a connection from %s: no request head within %.1fs",
                      conn.client, self.header_timeout)
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            self.nr_conns -= 1
            conn.close()

    # ------------------------------------------------------------------ pool threads

    def handle(self, conn: TConn) -> Any:
        head: Optional[bytearray] = getattr(conn, "_zas_head", None)
        if head is not None:
            conn._zas_head = None  # type: ignore[attr-defined]
            conn.sock.setblocking(True)
            conn.init()  # creates the parser (a no-op for a kept-alive connection)
            conn.parser.unreader.unread(bytes(head))
            conn.data_ready = True
        elif self.cfg.is_ssl and not conn.initialized:
            conn.sock.settimeout(self.header_timeout)
        return super().handle(conn)


def _hub_of(worker: Any) -> Any:
    from .app import EXTENSION_KEY

    extensions = getattr(getattr(worker, "wsgi", None), "extensions", None)
    if isinstance(extensions, dict):
        return extensions.get(EXTENSION_KEY)
    return None



