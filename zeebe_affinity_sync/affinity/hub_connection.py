"""The background websocket connection of one process to the affinity hub.

Two daemon threads per connection, each with one job:

* the **reader** (``<name>-reader``) connects, reconnects with capped exponential backoff and
  jitter, and reads: outcomes go to ``on_outcome``, ACKs to whoever waits for them, pings are
  answered by handing a pong to the writer. It never writes (except the ``HELLO`` right after the
  handshake, before the writer has the socket), so it keeps reading whatever the writer does; a
  hub silent for 2.5 ping intervals is a dead connection.
* the **writer** (``<name>-writer``, :class:`~.hub_writer.HubWriter`) is the only thread that
  writes: frames from other threads reach it through a bounded queue; every frame must leave the
  socket within ``write_timeout``, else the connection is dropped and the reader reconnects.

The socket is driven in non-blocking mode after websocket-client's handshake (:mod:`.wire`), so
reads and writes have their own deadlines. A relay worker's :meth:`HubConnection.publish_outcome`
waits at most its ``timeout`` in total: for the connection, for room in the queue, for the ACK
(the frames waiting for an ACK are in :class:`~.acks.AckTable`).

Frames queued while disconnected are dropped: subscriptions are covered by the
re-subscribe after the next connect; receipts are kept and sent on the next connection (and an
outcome the hub sends again meanwhile is dropped here as a duplicate and receipted again); an
outcome frame is reported lost to its
:meth:`publish_outcome` call, which sends it again once the hub is back (within its timeout).
"""
from __future__ import annotations

import logging
import random
import socket
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import websocket

from .. import defaults, protocol
from ..errors import AffinityError, AffinityUnavailable, ProtocolError
from . import wire
from .acks import AckTable
from .hub_writer import RESUBSCRIBE, HubWriter, Outgoing, Pong, frame_id_of

__all__ = ["HubConnection"]

logger = logging.getLogger(__name__)

#: Bytes read per recv() call.
_READ_CHUNK = 65536
#: Upgrade answers that no retry will change: fail callers at once (issue 13).
_REFUSED = (401, 403, 404)


class HubConnection:
    """A self-healing websocket connection to the hub, shared by all threads of one process.

    Args:
        url: ``ws://`` or ``wss://`` URL of the hub.
        token: Shared secret sent as ``Authorization: Bearer <token>`` (``None``: no header).
        on_outcome: Called on the reader thread with each validated ``PROCESS_OUTCOME`` frame;
            must be quick (set events, hand callbacks to an executor).
        pending_keys: Returns the routing keys to re-subscribe after a (re)connect.
        is_pending: Whether a key is still awaited (default: always).
        role: Sent in the ``HELLO`` frame (informational).
        receipts: Announce ``receipts: true`` in ``HELLO`` (the owner sends :meth:`receipt` for
            every outcome with a ``deliveryId``; the hub keeps each until then).
        connect_timeout: Seconds for one connect attempt (TCP + websocket handshake).
        ping_interval: Seconds between keepalive pings; the connection is considered dead after
            2.5 intervals without any frame or pong from the hub.
        write_timeout: Seconds one frame may take to leave the socket (default 5).
        max_queue: Frames the writer's queue holds at most (default 10,000).
        receipt_linger: Seconds a receipt may wait to go out with others in one ``RECEIPT``
            frame (default :data:`~zeebe_affinity_sync.defaults.AFFINITY_RECEIPT_LINGER`, 1 s;
            500 pending go out at once).
        reconnect_initial: First reconnect backoff, seconds; doubles up to ``reconnect_max``.
        reconnect_max: Cap of the reconnect backoff, seconds.
        name: Prefix of the thread names.
    """

    def __init__(
        self,
        url: str,
        *,
        token: Optional[str] = None,
        on_outcome: Callable[[Dict[str, Any]], None],
        pending_keys: Callable[[], List[str]],
        is_pending: Optional[Callable[[str], bool]] = None,
        role: str = "client",
        receipts: bool = False,
        connect_timeout: float = defaults.AFFINITY_CONNECT_TIMEOUT,
        ping_interval: float = defaults.AFFINITY_PING_INTERVAL,
        write_timeout: float = defaults.AFFINITY_WRITE_TIMEOUT,
        max_queue: int = defaults.AFFINITY_SEND_QUEUE,
        receipt_linger: float = defaults.AFFINITY_RECEIPT_LINGER,
        reconnect_initial: float = defaults.AFFINITY_RECONNECT_INITIAL,
        reconnect_max: float = defaults.AFFINITY_RECONNECT_MAX,
        name: str = "zeebe-affinity-hub",
    ) -> None:
        self.url = url
        self._token = token
        self._on_outcome = on_outcome
        self._pending_keys = pending_keys
        self._is_pending = is_pending or (lambda key: True)
        self._role = role
        self._receipts = receipts
        self._connect_timeout = connect_timeout
        self._ping_interval = ping_interval
        self._write_timeout = write_timeout
        self._reconnect_initial = reconnect_initial
        self._reconnect_max = reconnect_max
        self._name = name

        self._stopping = threading.Event()
        self._connected = threading.Event()
        # notified when connected, stopping, or refused (a reason to stop waiting)
        self._state_cond = threading.Condition()
        self.refused = False  # the hub answered 401/403/404 on the last attempt; under _state_cond
        self._sock_lock = threading.Lock()
        self._sock: Optional[socket.socket] = None  # the live socket; guarded by _sock_lock
        self._acks = AckTable()  # frames waiting for the hub's ACK / ERROR
        self.last_error: Optional[str] = None  # why the last connect / connection failed
        self.hub_hello: Dict[str, Any] = {}  # the hub's HELLO frame (limits), reader-written
        self._threads: List[threading.Thread] = []
        self._writer = HubWriter(
            url, current_socket=self._current_socket, pending_keys=pending_keys,
            is_pending=self._is_pending, on_unsent=self._drop, ping_interval=ping_interval,
            write_timeout=write_timeout, max_queue=max_queue, receipt_linger=receipt_linger,
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "HubConnection":
        """Start the reader and writer threads (connecting happens in the background)."""
        if self._threads:
            return self
        reader = threading.Thread(target=self._read_loop, name=f"{self._name}-reader", daemon=True)
        writer = threading.Thread(target=self._writer.run, name=f"{self._name}-writer", daemon=True)
        self._threads = [reader, writer]
        reader.start()
        writer.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection and stop both threads (idempotent)."""
        self._stopping.set()
        with self._state_cond:
            self._state_cond.notify_all()
        self._writer.stop()
        sock = self._current_socket()
        if sock is not None:
            wire.shutdown(sock)  # wakes the reader's poll; the writer was told to stop
        self.join(timeout)
        self._acks.lose_all()

    def join(self, timeout: Optional[float] = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread is threading.current_thread():
                continue
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: Optional[float]) -> bool:
        """Block until connected (True) or ``timeout`` seconds passed / refused / stopping (False)."""
        if self._connected.is_set():
            return True
        if timeout is not None and timeout <= 0:
            return False
        with self._state_cond:
            self._state_cond.wait_for(
                lambda: self._connected.is_set() or self.refused or self._stopping.is_set(), timeout
            )
        return self._connected.is_set() and not self._stopping.is_set()

    # ------------------------------------------------------------------ any thread

    def send(self, frame: Mapping[str, Any]) -> bool:
        """Queue a frame for the writer thread; never blocks. False if the queue was full."""
        return self._writer.send(frame)

    def subscribe(self, keys: Iterable[Any]) -> None:
        """Subscribe to ``keys`` (which the owner's ``pending_keys()`` already lists); never blocks.

        While disconnected nothing is sent: the re-subscribe after the next connect includes
        the keys. If the queue is full, the writer re-subscribes everything pending instead.
        """
        self._writer.subscribe(keys)

    def unsubscribe(self, keys: Iterable[Any]) -> None:
        """Queue keys to unsubscribe; sent with the writer's next batch (lazily)."""
        self._writer.unsubscribe(keys)

    def receipt(self, delivery_ids: Iterable[str]) -> None:
        """Confirm outcomes to the hub (``RECEIPT``), batched like unsubscriptions."""
        self._writer.receipt(delivery_ids)

    def subscribe_confirmed(self, keys: Iterable[Any], timeout: float) -> bool:
        """Subscribe, then wait until every outcome the hub held for ``keys`` has been received.

        One SUBSCRIBE carrying an ``id``: the hub ACKs it only after handing over what it held
        for the keys (docs/protocol.md, "Routing" 5), and the reader thread handles frames in
        order, so the held outcomes have been passed to ``on_outcome`` by the time this returns
        True.

        Returns:
            False if no confirmation came within ``timeout`` seconds (e.g. disconnected; the
            re-subscribe after the next connect still covers keys the owner awaits).
        """
        frame_id = uuid.uuid4().hex
        slot = self._acks.open(frame_id)
        try:
            if not self.send(protocol.subscribe(keys, frame_id)):
                return False
            slot.event.wait(timeout)
            return self._acks.state(slot)[0]
        finally:
            self._acks.close(frame_id)

    def publish_outcome(self, frame: Dict[str, Any], timeout: float) -> None:
        """Send an outcome and block until the hub ACKs it (delivered or safely held).

        Waits at most ``timeout`` seconds in total. If the connection drops before the ACK, the
        outcome is sent again after the reconnect, while time is left (the hub may then see it
        twice; the receiving client drops the duplicate).

        Raises:
            AffinityUnavailable: not connected, the queue is full, no ACK, or the hub refused
                the frame, within ``timeout`` seconds. The message says which.
            AffinityError: the outcome is larger than the hub accepts (its HELLO says how large).
        """
        frame_id = uuid.uuid4().hex
        frame = dict(frame, id=frame_id)
        data = protocol.encode(frame).encode("utf-8")  # encoded once, sent on every attempt
        limit = int(self.hub_hello.get("maxFrameBytes") or defaults.HUB_MAX_FRAME_BYTES)
        if len(data) > limit:
            # sending it would only get the connection closed (1009), again on every retry
            raise AffinityError(
                f"outcome of process instance {frame.get('processInstanceKey')} is {len(data)} bytes, "
                f"over the hub's frame limit of {limit} bytes: fetch fewer variables in the relay "
                "task (fetch_variables=...) or raise the hub's --max-frame-bytes"
            )
        slot = self._acks.open(frame_id)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if not self.wait_connected(deadline - time.monotonic()):
                    raise AffinityUnavailable(
                        f"affinity hub at {self.url} not reachable within {timeout:g}s "
                        f"({self.last_error or 'no connection'}): the outcome was not handed over"
                    )
                self._acks.rearm(slot)
                if not self._writer.send_outcome(Outgoing(frame_id, data), deadline - time.monotonic()):
                    raise AffinityUnavailable(
                        f"affinity hub at {self.url}: the connection's send queue stayed full for "
                        f"{timeout:g}s (the hub does not read fast enough): the outcome was not handed over"
                    )
                slot.event.wait(max(0.0, deadline - time.monotonic()))
                acked, lost, error = self._acks.state(slot)
                if acked:
                    return
                if error is not None:
                    raise AffinityUnavailable(f"affinity hub at {self.url} refused the outcome: {error}")
                if lost and deadline > time.monotonic() and not self._stopping.is_set():
                    continue  # connection dropped before the ACK: send again once reconnected
                raise AffinityUnavailable(
                    f"affinity hub at {self.url} did not acknowledge the outcome within "
                    f"{timeout:g}s: it was not handed over"
                )
        finally:
            self._acks.close(frame_id)

    def _current_socket(self) -> Optional[socket.socket]:
        with self._sock_lock:
            return self._sock

    # ------------------------------------------------------------------ reader thread

    def _headers(self) -> List[str]:
        return [f"Authorization: Bearer {self._token}"] if self._token else []

    def _connect(self) -> socket.socket:
        ws = websocket.create_connection(
            self.url,
            timeout=self._connect_timeout,
            header=self._headers(),
            skip_utf8_validation=True,
        )
        sock = ws.sock
        try:
            sock.setblocking(False)  # from now on reader and writer each poll with their own deadline
            hello = protocol.hello(role=self._role, receipts=True) if self._receipts else protocol.hello(role=self._role)
            wire.send_all(sock, wire.encode_frame(protocol.encode(hello).encode("utf-8")),
                          time.monotonic() + self._connect_timeout)
        except BaseException:
            wire.shutdown(sock)
            raise
        return sock

    def _read_loop(self) -> None:
        backoff = self._reconnect_initial
        failures = 0
        while not self._stopping.is_set():
            try:
                sock = self._connect()
            except Exception as exc:  # any failure to connect is retried; its text is reported
                failures += 1
                self.last_error = _describe(exc)
                with self._state_cond:
                    self.refused = _status(exc) in _REFUSED
                    self._state_cond.notify_all()
                log = logger.warning if failures == 1 else logger.debug
                log("cannot connect to affinity hub %s: %s (retrying)", self.url, self.last_error)
                # full jitter between half and all of the backoff: replicas do not reconnect in step
                self._stopping.wait(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, self._reconnect_max)
                continue
            if failures:
                logger.info("connected to affinity hub %s after %d failed attempts", self.url, failures)
            failures = 0
            backoff = self._reconnect_initial
            with self._sock_lock:
                self._sock = sock
            if self._stopping.is_set():
                wire.shutdown(sock)  # stop() ran while we were connecting; it may have missed it
                return
            self._writer.control(RESUBSCRIBE)
            with self._state_cond:
                self.refused = False
                self._connected.set()
                self._state_cond.notify_all()
            try:
                self._read_frames(sock)
            except (OSError, ProtocolError, websocket.WebSocketException) as exc:
                if not self._stopping.is_set():
                    self.last_error = _describe(exc)
                    logger.warning("affinity hub connection %s lost: %s", self.url, self.last_error)
            finally:
                self._connected.clear()
                with self._sock_lock:
                    if self._sock is sock:
                        self._sock = None
                self._acks.lose_all()
                wire.shutdown(sock)

    def _read_frames(self, sock: socket.socket) -> None:
        limit = 4 * max(defaults.HUB_MAX_FRAME_BYTES, int(self.hub_hello.get("maxFrameBytes") or 0))
        parser = wire.FrameParser(limit)
        dead_after = self._ping_interval * 2.5
        last_seen = time.monotonic()
        while not self._stopping.is_set():
            silent = time.monotonic() - last_seen
            if silent > dead_after:
                raise OSError(f"no frame or pong from the hub for {silent:.1f}s")
            if not wire.wait_readable(sock, min(self._ping_interval, dead_after - silent)):
                continue
            try:
                data = sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                if _want_read(exc):
                    continue
                raise
            if not data:
                raise OSError("hub closed the connection")
            last_seen = time.monotonic()
            for opcode, payload in parser.feed(data):
                if opcode == wire.OP_TEXT:
                    self._dispatch(payload)
                elif opcode == wire.OP_PING:
                    self._writer.control(Pong(payload))  # the writer answers; never the reader
                elif opcode == wire.OP_CLOSE:
                    raise OSError("hub closed the connection" + _close_reason(payload))

    def _dispatch(self, payload: bytes) -> None:
        try:
            frame = protocol.decode(payload)
        except ProtocolError as exc:
            logger.warning("ignoring malformed frame from affinity hub: %s", exc)
            return
        kind = frame["type"]
        if kind == protocol.PROCESS_OUTCOME:
            try:
                self._on_outcome(frame)
            except Exception:  # one bad outcome must not take the connection down
                logger.exception("handling an outcome from the affinity hub failed")
        elif kind == protocol.ACK:
            self._acks.settle(frame["id"], acked=True)
        elif kind == protocol.ERROR:
            if frame.get("id") and self._acks.settle(str(frame["id"]), error=_error_text(frame)):
                return
            logger.warning("affinity hub reported an error: %s", _error_text(frame))
        elif kind == protocol.HELLO:
            self.hub_hello = frame

    def _drop(self, frames: List[Any]) -> None:
        """Frames that were not sent: wake whoever waits for their ACK (an outcome is sent again
        after the reconnect, a confirmed subscribe stops waiting)."""
        for frame in frames:
            frame_id = frame_id_of(frame)
            if frame_id:
                self._acks.lose(frame_id)


def _want_read(exc: OSError) -> bool:
    import ssl

    return isinstance(exc, (ssl.SSLWantReadError, ssl.SSLWantWriteError))


def _close_reason(payload: bytes) -> str:
    if len(payload) < 2:
        return ""
    code = int.from_bytes(payload[:2], "big")
    reason = payload[2:].decode("utf-8", "replace")
    return f" (close code {code}{': ' + reason if reason else ''})"


def _status(exc: BaseException) -> int:
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return int(getattr(exc, "status_code", 0) or 0)
    return 0


def _describe(exc: BaseException) -> str:
    status = _status(exc)
    if status:
        text = f"the hub answered the websocket upgrade with HTTP {status}"
        if status == 401:
            text += ": wrong or missing token (check affinity_token / ZEEBE_AFFINITY_TOKEN)"
        elif status == 403:
            text += ": forbidden (check affinity_token / ZEEBE_AFFINITY_TOKEN and the hub's access rules)"
        elif status == 404:
            text += ": wrong path, nothing serves websockets there (check affinity_url, e.g. 'ws://host:8089/')"
        return text
    return str(exc) or type(exc).__name__


def _error_text(frame: Mapping[str, Any]) -> str:
    return f"{frame.get('code', 'error')}: {frame.get('message', '')}"
