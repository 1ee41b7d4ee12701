"""WsPeer's write-through: a sender writes the frame itself when nothing is queued.

A real loopback TCP connection with small buffers whose far end is not read at first, so the senders'
non-blocking writes go out whole, in part, or not at all; the handler's writes then finish the
rest. The far end must get every frame, whole and in order (a half-written frame's tail first).
"""
from __future__ import annotations

import socket
import struct
import threading
import types
from typing import List, Tuple

from zeebe_affinity_sync.hub.websocket import WsPeer, _GatedSocket, _InboundBuffer


def _tcp_pair() -> Tuple[socket.socket, socket.socket]:
    """A connected loopback TCP pair (the hub's transport) with small buffers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        theirs = socket.socket()
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        theirs.connect(listener.getsockname())
        ours, _ = listener.accept()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return ours, theirs


def _peer(sock: socket.socket) -> WsPeer:
    ws = types.SimpleNamespace(event=threading.Event(), connected=True,
                               input_buffer=_InboundBuffer(1 << 20))
    ws.sock = _GatedSocket(sock, ws)
    peer = WsPeer(ws, send_timeout=10.0, send_buffer=0)  # type: ignore[arg-type]  # keep 4 KiB
    assert peer._direct_capable  # a plain socket with a timeout is non-blocking underneath
    peer._direct = True  # as serve() does once HELLO is queued
    return peer


def _read_frames(sock: socket.socket, count: int, out: List[bytes]) -> None:
    buf = b""
    while len(out) < count:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 2:
            assert buf[0] == 0x81, "a frame header was expected here"
            n, head = buf[1], 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, head = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, head = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < head + n:
                break
            out.append(buf[head:head + n])
            buf = buf[head + n:]


def test_frames_stay_whole_and_in_order_across_partial_direct_writes() -> None:
    ours, theirs = _tcp_pair()
    try:
        peer = _peer(ours)
        frames = [bytes([65 + i % 26]) * (50 + 1500 * (i % 7)) for i in range(60)]
        partial_seen = False
        for frame in frames:  # nobody reads yet: the socket fills, later frames are queued
            assert peer.send(frame)
            partial_seen = partial_seen or peer._partial is not None
        assert partial_seen, "no direct write stopped part-way (buffers larger than expected?)"
        assert peer._out, "every frame went out directly: the queue path was not exercised"
        later = [b"after-%d" % i for i in range(5)]
        got: List[bytes] = []
        reader = threading.Thread(target=_read_frames, args=(theirs, len(frames) + 5, got))
        reader.start()
        peer._owner = threading.get_ident()
        peer._flush()  # the handler's part: the half-written tail, then the queue
        for frame in later:  # the queue is empty again: these go out directly
            frames.append(frame)
            assert peer.send(frame)
        peer._flush()
        reader.join(10)
        assert not reader.is_alive()
        assert got == frames
    finally:
        ours.close()
        theirs.close()


def test_leftovers_report_a_half_written_frame() -> None:
    ours, theirs = _tcp_pair()
    try:
        peer = _peer(ours)
        sent = 0
        while peer._partial is None and sent < 200:
            assert peer.send(b"x" * 3000, requeue=("k", sent))
            sent += 1
        assert peer._partial is not None
        half = peer._partial[1]
        left = peer.leftovers()
        assert left[0] == half  # its tail never went out: it is requeued like a queued one
        assert not peer.send(b"late")  # gone: no more direct writes to this descriptor
    finally:
        ours.close()
        theirs.close()


def test_the_kernel_send_buffer_is_bounded_as_configured() -> None:
    """Left to autotuning, a socket whose peer never reads takes megabytes of frames, one write
    call each, before the peer's queue (and so its drop) even starts; WsPeer bounds it."""
    for asked in (32 * 1024, 0):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            with socket.create_connection(listener.getsockname()) as theirs:
                ours, _ = listener.accept()
                with ours:
                    before = ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                    ws = types.SimpleNamespace(event=threading.Event(), connected=True,
                                               input_buffer=_InboundBuffer(1 << 20))
                    ws.sock = _GatedSocket(ours, ws)
                    WsPeer(ws, send_timeout=10.0, send_buffer=asked)  # type: ignore[arg-type]
                    got = ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                    if asked:
                        assert asked <= got <= 2 * asked  # Linux doubles what is asked for
                    else:
                        assert got == before  # 0: the kernel's own setting stays
