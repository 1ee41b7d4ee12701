"""The hub's websocket transport: one object per connection, one thread owning its writes.

simple-websocket does the framing and runs a reader thread per connection (pongs, the close
handshake, the frame size limit). On top of it, per connection:

- :class:`HubServer` (a ``simple_websocket.Server``) refuses permessage-deflate (a compressed
  frame is inflated before any size limit applies) and gives the reader a bounded inbound buffer:
  past :data:`~zeebe_affinity_sync.defaults.HUB_INBOUND_BUFFER_BYTES` queued, the reader stops
  reading, so a peer that sends faster than its handler works is slowed down by TCP instead of
  filling memory.
- :class:`WsPeer` gives the routing core a non-blocking, bounded outbound queue. The connection's
  handler thread (the gunicorn thread serving it) is its only blocking writer: it writes what is
  queued, then handles what arrived, and waits on simple-websocket's event for either. A peer
  whose queue is full, or whose socket takes longer than ``send_timeout`` to take a write, is
  dropped; nothing any other thread does ever waits on its socket.
- Write-through: when nothing is queued or being written, the sending thread writes the frame
  itself with one non-blocking write (no thread handoff per frame, the common case); whatever
  the socket does not take at once (all of it, or a frame's tail) is left to the handler thread,
  and a tail is written before any other byte so frames never interleave.

This module relies on simple-websocket 1.x internals (``sock``, ``event``, ``input_buffer``,
``connected``, ``thread``, ``handshake``); ``setup.cfg`` pins ``simple-websocket<2`` and
``tests/hub/test_pinned_internals.py`` fails if they change.
"""
from __future__ import annotations

import collections
import logging
import os
import socket
import ssl
import struct
import threading
from typing import Any, Deque, List, Optional, Tuple

from simple_websocket import ConnectionClosed, Server

from .. import defaults

__all__ = ["HubServer", "WsPeer", "READER_THREAD_PREFIX", "reader_threads"]

log = logging.getLogger(__name__)

READER_THREAD_PREFIX = "zeebe-hub-ws-reader"
_POLL = 1.0  # s, an idle handler re-checks that its connection is still alive
_CLOSE_LINGER = 1.0  # s, wait for the peer's close reply before shutting the socket down
_BATCH_BYTES = 256 * 1024  # queued frames are written in batches of about this size
_HANDLE_BATCH = 64  # inbound frames handled before the queue is written again


def reader_threads() -> int:
    """How many connection reader threads run in this process (for /stats)."""
    return sum(1 for t in threading.enumerate() if t.name.startswith(READER_THREAD_PREFIX))


class _ReaderThread(threading.Thread):
    """simple-websocket's per-connection reader: daemon (never blocks exit), named for /stats."""

    def __init__(self, target: Any = None, **kwargs: Any) -> None:
        super().__init__(target=target, name=READER_THREAD_PREFIX, daemon=True)


class _InboundBuffer:
    """simple-websocket's ``input_buffer``, counting what it holds so the reader can pause.

    The reader thread appends; the handler thread pops. Sizes are ``len()`` of each message
    (characters for text): a bound on memory, not an exact byte count.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: Deque[Any] = collections.deque()
        self._size = 0
        self._cond = threading.Condition()  # guards _items and _size

    def append(self, message: Any) -> None:
        with self._cond:
            self._items.append(message)
            self._size += len(message)

    def pop(self, index: int = 0) -> Any:
        with self._cond:
            message = self._items.popleft()
            full = self._size >= self.limit
            self._size -= len(message)
            if full:  # only a full buffer has a reader waiting in wait_for_room
                self._cond.notify_all()
        return message

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def wait_for_room(self, timeout: float) -> bool:
        """Block while the buffer is at its bound; ``False`` if still full after ``timeout``."""
        with self._cond:
            if self._size < self.limit:
                return True
            self._cond.wait(timeout)
            return self._size < self.limit


class _GatedSocket:
    """The connection's socket as simple-websocket sees it.

    - ``send``: every write complete (``sendall``) and serialised with one lock: the reader
      thread (pongs, close replies) and the handler thread share the socket.
    - ``recv``: the reader thread waits while the inbound buffer is full (backpressure).
    - ``close``: shuts the socket down but leaves the descriptor to gunicorn, which closes it
      after the handler returns (closing it here made gunicorn act on a dead descriptor: EBADF
      tracebacks, or worse, a reused descriptor number).
    """

    def __init__(self, sock: Any, ws: "HubServer") -> None:
        self.raw = sock
        self._ws = ws
        self._lock = threading.Lock()
        # The tail of a frame that a non-blocking write (try_send) left unwritten: it goes out
        # before anything else, so whoever writes next keeps the frame boundaries intact.
        self.pending = b""

    def send(self, data: bytes) -> int:
        with self._lock:
            if self.pending:
                data, self.pending = self.pending + data, b""
            self.raw.sendall(data)
        return len(data)

    def direct_capable(self) -> bool:
        """Whether :meth:`try_send` can write this socket without blocking: plain TCP (a TLS
        socket's bytes must go through its SSL object) whose descriptor is non-blocking (Python
        makes it so once a timeout is set)."""
        try:
            return (not isinstance(self.raw, ssl.SSLSocket)
                    and not os.get_blocking(self.raw.fileno()))
        except (OSError, ValueError):
            return False

    def try_send(self, data: bytes) -> int:
        """Write what the socket takes right now, never waiting; -1 if it is busy.

        Returns how many bytes went out (0 on EAGAIN or an error: the caller queues the frame
        and the owner thread's blocking write meets the error). A partial write leaves the rest
        in :attr:`pending`, written first by the next :meth:`send`.
        """
        if not self._lock.acquire(blocking=False):
            return -1
        try:
            if self.pending:
                return -1
            try:
                n = os.write(self.raw.fileno(), data)
            except (OSError, ValueError):
                return 0
            if 0 < n < len(data):
                self.pending = data[n:]
            return n
        finally:
            self._lock.release()

    def recv(self, size: int) -> bytes:
        buffer = self._ws.input_buffer
        while not buffer.wait_for_room(_POLL):
            if not self._ws.connected:
                break
        return self.raw.recv(size)

    def close(self) -> None:
        try:
            self.raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class HubServer(Server):
    """A simple-websocket server connection with no compression and a bounded inbound buffer.

    Args:
        environ: The WSGI environ of the upgrade request.
        inbound_limit: Size of unhandled inbound messages at which the reader pauses.
        **kwargs: ``simple_websocket.Server`` options (ping_interval, max_message_size, ...).
    """

    def __init__(self, environ: Any, *, inbound_limit: int = defaults.HUB_INBOUND_BUFFER_BYTES,
                 **kwargs: Any) -> None:
        self._inbound_limit = inbound_limit
        # Without the client's offer wsproto accepts no extension: no permessage-deflate, so a
        # frame's size on the wire is its size in memory (the frame limit applies to both).
        environ = {k: v for k, v in environ.items() if k != "HTTP_SEC_WEBSOCKET_EXTENSIONS"}
        kwargs.setdefault("thread_class", _ReaderThread)
        super().__init__(environ, **kwargs)

    def handshake(self) -> None:
        # Runs inside Base.__init__, after input_buffer and sock are set and before the reader
        # thread starts: the only moment both can be replaced without a race.
        self.input_buffer = _InboundBuffer(self._inbound_limit)  # type: ignore[assignment]
        self.sock = _GatedSocket(self.sock, self)
        super().handshake()


def _text_frame(payload: bytes) -> bytes:
    """The header of an unmasked, final text frame (server to client, RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n))
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n)
    return struct.pack("!BBQ", 0x81, 127, n)


Item = Tuple[bytes, Any]


class WsPeer:
    """A :class:`~zeebe_affinity_sync.hub.core.Peer`: a bounded outbound queue over a HubServer.

    Any thread may :meth:`send`, :meth:`close` or :meth:`abort` (none of them blocks); only the
    connection's handler thread, inside :meth:`serve`, makes blocking writes to the socket
    (:meth:`send` may write through with a non-blocking one).

    Args:
        ws: The connection.
        send_timeout: Seconds one write may take before the peer is dropped as stuck.
        max_bytes: Bytes queued at most; a send beyond it fails (the core drops the peer).
        max_frames: Frames queued at most.
        send_buffer: The socket's ``SO_SNDBUF`` (0 = the kernel's autotuning). Bounded, a peer
            that stops reading fills it soon, its frames queue here instead of costing a write
            call each, and a full queue drops it (autotuning lets the kernel take megabytes).
    """

    def __init__(self, ws: HubServer, send_timeout: float,
                 max_bytes: int = defaults.HUB_OUTBOUND_QUEUE_BYTES,
                 max_frames: int = defaults.HUB_OUTBOUND_QUEUE_FRAMES,
                 send_buffer: int = defaults.HUB_SOCKET_SEND_BUFFER) -> None:
        self._ws = ws
        self._sock: _GatedSocket = ws.sock  # type: ignore[assignment]
        self._raw = self._sock.raw
        self._raw.settimeout(send_timeout)  # a stuck peer fails our write instead of blocking it
        if send_buffer:
            try:
                self._raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            except OSError as exc:  # not a TCP socket (a test's), or the peer is gone already
                log.debug("could not set SO_SNDBUF on %r: %s", self._raw, exc)
        self._max_bytes = max_bytes
        self._max_frames = max_frames
        self._lock = threading.Lock()  # guards _out, _out_bytes, _gone, _close_request
        self._out: Deque[Item] = collections.deque()
        self._out_bytes = 0
        self._gone = False
        self._close_request: Optional[Tuple[int, str]] = None
        self._inflight: List[Item] = []  # the batch the handler thread is writing
        self._owner: Optional[int] = None  # thread id of the handler thread, set in serve()
        # Write-through: with nothing queued or being written, a sender writes the frame itself
        # (non-blocking) instead of waking the handler thread for it; on by serve() after hello.
        self._direct_capable = self._sock.direct_capable()
        self._direct = False
        self._partial: Optional[Item] = None  # a frame try_send left half-written (its requeue)

    # ------------------------------------------------------------------ any thread

    def send(self, data: bytes, requeue: Any = None) -> bool:
        if threading.get_ident() == self._owner:
            return self._send_own(data, requeue)
        with self._lock:
            if self._gone or self._close_request is not None:
                return False
            if (len(self._out) >= self._max_frames
                    or self._out_bytes + len(data) > self._max_bytes):
                return False
            if (self._direct and not self._out and not self._inflight
                    and self._partial is None):
                # Holding _lock: nobody can queue behind this frame while it is written, and
                # _inflight empty means the handler thread is not between taking a batch and
                # writing it, so the order on the wire stays the order of send() calls.
                frame = _text_frame(data) + data
                n = self._sock.try_send(frame)
                if n == len(frame):
                    return True
                if n > 0:  # the rest waits in the socket's pending tail; the handler writes it
                    self._partial = (data, requeue)
                    self._ws.event.set()
                    return True
            wake = not self._out
            self._out.append((data, requeue))
            self._out_bytes += len(data)
        if wake:
            # Only the first frame of a backlog wakes the handler thread: it empties the whole
            # queue before it waits again, so a further set() would only cost the sender (half
            # of what a frame queued to a peer that does not read costs).
            self._ws.event.set()
        return True

    def _send_own(self, data: bytes, requeue: Any) -> bool:
        """A send from the connection's own thread (answers, a SUBSCRIBE's stored outcomes):
        when the queue is full it writes the queue first instead of failing, so handing over
        more stored outcomes than one queue holds works; a stuck socket still fails it."""
        with self._lock:
            if self._gone:
                return False
            full = (len(self._out) >= self._max_frames
                    or self._out_bytes + len(data) > self._max_bytes)
            if not full:
                self._out.append((data, requeue))
                self._out_bytes += len(data)
                return True
        try:
            self._flush()
            self._sock.send(_text_frame(data) + data)
        except (OSError, ConnectionClosed):  # socket.timeout included: the peer is stuck
            return False
        return True

    def close(self, code: int, reason: str) -> None:
        with self._lock:
            if self._close_request is None:
                self._close_request = (code, reason)
        self._ws.event.set()

    def abort(self) -> None:
        """Drop the connection without a close handshake (its socket is stuck or broken)."""
        with self._lock:
            self._gone = True
        self._ws.connected = False
        try:
            self._raw.shutdown(socket.SHUT_RDWR)  # fails a blocked write; wakes the reader
        except OSError:
            pass
        self._ws.event.set()

    # ------------------------------------------------------------------ handler thread

    def serve(self, core: Any, conn: Any, hello: bytes) -> None:
        """Run the connection until it closes: write what is queued, handle what arrives."""
        ws = self._ws
        event = ws.event
        inbox = ws.input_buffer
        receive = core.receive
        self._owner = threading.get_ident()
        self.send(hello)
        self._direct = self._direct_capable
        try:
            while True:
                event.clear()  # before looking: a set() after the look wakes the wait below
                if self._out or self._partial is not None:
                    self._flush()
                if self._close_request is not None:
                    self._close(*self._close_request)
                    return
                handled = 0
                while inbox and handled < _HANDLE_BATCH:
                    receive(conn, inbox.pop(0))
                    handled += 1
                if handled or self._out or self._partial is not None:
                    continue
                if self._gone or not ws.connected or not ws.thread.is_alive():
                    return
                event.wait(_POLL)
        except socket.timeout:
            log.info("dropping %r: a write did not complete within the send timeout", conn)
            self.abort()
        except (ConnectionClosed, OSError) as exc:
            log.debug("connection %r ended: %s", conn, exc)

    def _flush(self) -> None:
        while True:
            with self._lock:
                if not self._out and self._partial is None:
                    return
                batch: List[Item] = []
                skip = 0
                if self._partial is not None:
                    # Its unwritten tail is the socket's pending bytes, which send() writes
                    # first: keep it in the batch only so leftovers() still reports it.
                    batch.append(self._partial)
                    self._partial = None
                    skip = 1
                size = 0
                while self._out and size < _BATCH_BYTES:
                    item = self._out.popleft()
                    batch.append(item)
                    size += len(item[0])
                self._out_bytes -= size
                self._inflight = batch
            parts = []
            for data, _ in batch[skip:]:
                parts.append(_text_frame(data))
                parts.append(data)
            self._sock.send(b"".join(parts))
            with self._lock:  # under the lock: a sender's write-through looks at _inflight
                self._inflight = []

    def _close(self, code: int, reason: str) -> None:
        try:
            self._ws.close(reason=code, message=reason)
        except (ConnectionClosed, OSError):
            pass

    def leftovers(self) -> List[Any]:
        """Mark the peer gone; return the requeue info of what was never written."""
        with self._lock:
            self._gone = True  # also ends write-through: gunicorn closes the descriptor next
            items = self._inflight + list(self._out)
            if self._partial is not None:  # its tail may never have gone out
                items.insert(0, self._partial)
                self._partial = None
            self._out.clear()
            self._out_bytes = 0
            self._inflight = []
        return [requeue for _, requeue in items if requeue is not None]

    def finish(self, linger: float = _CLOSE_LINGER) -> None:
        """End the connection for good before the handler returns to gunicorn.

        Waits up to ``linger`` seconds for the peer to answer our close (the reader thread then
        ends), else shuts the socket down so the reader wakes and exits. Gunicorn then finds the
        socket shut: without this it would drain a still-open socket on its main loop thread.
        """
        ws = self._ws
        if ws.connected:
            try:
                ws.close(reason=1000, message="bye")
            except (ConnectionClosed, OSError):
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
