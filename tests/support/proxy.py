"""A TCP proxy for tests that must cut a live connection (a gateway restart, a network blip).

``cut()`` resets every connection open through it right now; new connections are accepted as
before, so a client that reconnects gets through again.
"""
from __future__ import annotations

import socket
import struct
import threading
from typing import List, Tuple


class _Pair:
    """One proxied connection: the client's socket and ours to the target."""

    __slots__ = ("client", "upstream", "cut")

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.cut = False  # set by TcpProxy.cut(): the pumps then end the pair with a reset


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target`` (``host:port``); a context manager."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target: Tuple[str, int] = (host, int(port))
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: List[_Pair] = []  # live connections; under _lock
        self._closed = threading.Event()
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name="test-proxy-accept", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> "TcpProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        self.cut()
        self._thread.join(5)

    def cut(self) -> int:
        """Reset every open connection (RST to both ends, as a crashed middlebox); returns how many.

        Closing a socket another thread is blocked reading does not close it on Linux: the
        blocked ``recv`` keeps it open, and neither end would hear anything until more data
        came. So each socket is set to reset on close and shut for reading, which wakes its
        pump at once; the pump closes it, and that close sends the RST.
        """
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.cut = True
            for sock in (pair.client, pair.upstream):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)
                except OSError:
                    pass  # already closed by its pump
        self.cuts += 1
        return len(pairs)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.append(pair)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, source, sink), name="test-proxy-pump",
                                 daemon=True).start()

    def _pump(self, pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)
            for sock in (source, sink):
                if not pair.cut:  # an end closed: pass the close on (FIN), as a proxy does
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                sock.close()  # after a cut: SO_LINGER 0, so this is the RST
