"""A scripted websocket server on a real socket, for the client side of the hub protocol.

Not a hub: it answers the upgrade (or refuses it with a chosen HTTP status), records every frame
a client sends, and lets the test send frames (outcomes with a ``deliveryId``, pings) or stop
reading altogether (a stalled peer). Used to test receipts, duplicates, the late-outcome policy
and the writer's timeouts before (and beside) the real hub.
"""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any, Callable, Dict, List, Optional

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawConnection:
    """One accepted client connection."""

    def __init__(self, sock: socket.socket, hub: "RawHub") -> None:
        self.sock = sock
        self.hub = hub
        self.frames: List[Dict[str, Any]] = []  # JSON frames received; guarded by hub.cond
        self.pings = 0
        self.pongs = 0
        self.closed = False
        self._send_lock = threading.Lock()

    def send(self, frame: Dict[str, Any]) -> None:
        self.send_raw(0x1, json.dumps(frame).encode("utf-8"))

    def ping(self, payload: bytes = b"p") -> None:
        self.send_raw(0x9, payload)

    def send_raw(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([len(payload)])
        elif len(payload) < 65536:
            header += bytes([126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([127]) + struct.pack("!Q", len(payload))
        with self._send_lock:
            self.sock.sendall(header + payload)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def read_loop(self) -> None:
        buf = b""
        try:
            while True:
                while not self.hub.reading.is_set():
                    if self.hub.stopping.is_set():
                        return
                    time.sleep(0.01)
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while True:
                    parsed = _parse(buf)
                    if parsed is None:
                        break
                    opcode, payload, buf = parsed
                    with self.hub.cond:
                        if opcode == 0x1:
                            self.frames.append(json.loads(payload.decode("utf-8")))
                        elif opcode == 0x9:
                            self.pings += 1
                        elif opcode == 0xA:
                            self.pongs += 1
                        self.hub.cond.notify_all()
                    if opcode == 0x1 and self.hub.on_frame is not None:
                        self.hub.on_frame(self, self.frames[-1])
        except OSError:
            return
        finally:
            with self.hub.cond:
                self.closed = True
                self.hub.cond.notify_all()


class RawHub:
    """Listen on 127.0.0.1:0; ``status`` other than 101 refuses every upgrade with it.

    Args:
        status: HTTP status of the upgrade answer.
        on_frame: Called on the connection's thread with each JSON frame (scripted replies).
        recv_buffer: SO_RCVBUF of accepted sockets (small: a stalled peer fills quickly).
    """

    def __init__(self, status: int = 101, *, on_frame: Optional[Callable[[RawConnection, Dict[str, Any]], None]] = None,
                 recv_buffer: Optional[int] = None) -> None:
        self.status = status
        self.on_frame = on_frame
        self.recv_buffer = recv_buffer
        self.cond = threading.Condition()
        self.connections: List[RawConnection] = []  # guarded by cond
        self.reading = threading.Event()  # cleared: connections stop reading (a stalled peer)
        self.reading.set()
        self.stopping = threading.Event()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if recv_buffer:
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.1)  # accept() wakes to see stop(); closing alone does not wake it
        self.port = self._server.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._accept, name="raw-hub", daemon=True)

    def __enter__(self) -> "RawHub":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.reading.set()
        self._thread.join(5)
        self._server.close()
        with self.cond:
            connections = list(self.connections)
        for connection in connections:
            connection.close()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait (under the condition) until ``predicate()`` is truthy; return it or raise."""
        with self.cond:
            result = self.cond.wait_for(predicate, timeout)
        if not result:
            raise AssertionError(f"condition not met within {timeout}s")
        return result

    def connection(self, timeout: float = 10.0) -> RawConnection:
        return self.wait_for(lambda: self.connections[-1] if self.connections else None, timeout)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            threading.Thread(target=self._serve, args=(sock,), name="raw-hub-conn", daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                return
            request += chunk
        headers = {}
        for line in request.decode("latin-1").split("\r\n")[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            sock.sendall(f"HTTP/1.1 {self.status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            sock.close()
            return
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest()).decode()
        sock.sendall(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        connection = RawConnection(sock, self)
        with self.cond:
            self.connections.append(connection)
            self.cond.notify_all()
        connection.read_loop()


def _parse(buf: bytes) -> Optional[tuple]:
    if len(buf) < 2:
        return None
    opcode, length, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
    if length == 126:
        if len(buf) < 4:
            return None
        length, offset = struct.unpack("!H", buf[2:4])[0], 4
    elif length == 127:
        if len(buf) < 10:
            return None
        length, offset = struct.unpack("!Q", buf[2:10])[0], 10
    masked = buf[1] & 0x80
    mask = b""
    if masked:
        if len(buf) < offset + 4:
            return None
        mask, offset = buf[offset:offset + 4], offset + 4
    if len(buf) < offset + length:
        return None
    payload = buf[offset:offset + length]
    if mask:
        repeated = (mask * (length // 4 + 1))[:length]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
    return opcode, payload, buf[offset + length:]
