"""Websocket framing for the hub connection after the handshake (RFC 6455, client side).

websocket-client does the opening handshake (HTTP upgrade, TLS, proxies); after it the hub
connection drives the socket itself, in non-blocking mode, so that the reader and the writer each
have their own deadline: websocket-client's ``recv`` answers a ping by *sending* a pong under the
send lock, so a reader would stall behind a stalled writer, and one socket timeout would serve
reads and writes alike. Here the reader only parses (and hands pongs to the writer), the writer is
the only thread that writes, and each write has its own deadline.
"""
from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from typing import Any, Iterator, List, Optional, Tuple

import websocket

__all__ = ["FrameParser", "encode_frame", "send_all", "wait_readable", "shutdown", "WriteTimeout",
           "OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG"]

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class WriteTimeout(OSError):
    """A frame did not leave the socket within the write timeout (the peer does not read)."""


class FrameError(OSError):
    """The hub sent something that is not a valid websocket frame sequence (or too large)."""


def encode_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One masked client frame (FIN set)."""
    return websocket.ABNF.create_frame(payload, opcode).format()


class FrameParser:
    """Incremental parser of server frames; reassembles fragmented messages.

    Args:
        max_message_bytes: A message (or a single frame) larger than this raises
            :class:`FrameError` before its payload is buffered.
    """

    def __init__(self, max_message_bytes: int) -> None:
        self._max = max_message_bytes
        self._buffer = bytearray()  # bytes received, not yet parsed; reader-owned
        self._parts: List[bytes] = []  # fragments of the message in progress
        self._parts_size = 0
        self._parts_opcode: Optional[int] = None

    def feed(self, data: bytes) -> Iterator[Tuple[int, bytes]]:
        """Add received bytes; yield each complete ``(opcode, payload)``."""
        self._buffer += data
        while True:
            frame = self._next()
            if frame is None:
                return
            fin, opcode, payload = frame
            if opcode >= OP_CLOSE:  # control frames are never fragmented
                yield opcode, payload
                continue
            if opcode == OP_CONT:
                if self._parts_opcode is None:
                    raise FrameError("continuation frame without a message in progress")
            else:
                if self._parts_opcode is not None:
                    raise FrameError("new message while a fragmented one is in progress")
                self._parts_opcode = opcode
            self._parts_size += len(payload)
            if self._parts_size > self._max:
                raise FrameError(f"message over {self._max} bytes")
            self._parts.append(payload)
            if fin:
                kind, message = self._parts_opcode, b"".join(self._parts)
                self._parts, self._parts_size, self._parts_opcode = [], 0, None
                yield kind, message

    def _next(self) -> Optional[Tuple[bool, int, bytes]]:
        buf = self._buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        masked, length, offset = bool(second & 0x80), second & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, offset = struct.unpack_from("!H", buf, 2)[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, offset = struct.unpack_from("!Q", buf, 2)[0], 10
        if length > self._max:
            raise FrameError(f"frame of {length} bytes, over {self._max}")
        mask = b""
        if masked:  # servers must not mask; tolerated
            if len(buf) < offset + 4:
                return None
            mask, offset = bytes(buf[offset:offset + 4]), offset + 4
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset:offset + length])
        del buf[:offset + length]
        if mask:
            payload = websocket.ABNF.mask(mask, payload)
        return bool(first & 0x80), first & 0x0F, payload


def wait_readable(sock: Any, timeout: float) -> bool:
    """Whether ``sock`` has something to read within ``timeout`` seconds."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    return _poll(sock, select.POLLIN if hasattr(select, "poll") else 0, timeout)


def send_all(sock: Any, data: bytes, deadline: float) -> None:
    """Write ``data`` to the non-blocking ``sock`` before ``deadline`` (``time.monotonic()``).

    Raises:
        WriteTimeout: the peer did not take it in time.
        OSError: the socket failed.
    """
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WriteTimeout(f"a frame of {len(data)} bytes did not leave the socket in time")
        if not _poll(sock, select.POLLOUT if hasattr(select, "poll") else 1, remaining):
            continue
        try:
            sent = sock.send(view)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError, InterruptedError):
            continue
        view = view[sent:]


def _poll(sock: Any, events: int, timeout: float) -> bool:
    try:
        return _poll_once(sock, events, max(0.0, timeout))
    except ValueError as exc:  # closed by the other thread (fd -1): the connection is gone
        raise OSError(f"socket closed ({exc})") from exc


def _poll_once(sock: Any, events: int, timeout: float) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, events | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(timeout * 1000.0))
    if events:  # pragma: no cover - platforms without poll()
        return bool(select.select([], [sock], [sock], timeout)[1])
    return bool(select.select([sock], [], [sock], timeout)[0])  # pragma: no cover



def shutdown(sock: Any) -> None:
    """Shut ``sock`` down and close it, whatever state it is in (wakes a thread polling it)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:  # pragma: no cover - closing twice is harmless
        pass
