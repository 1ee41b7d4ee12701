"""The background websocket connection of one process to the affinity hub.

Two daemon threads per connection:

* the **reader** (``<name>-reader``) connects, reconnects with capped exponential backoff and
  jitter, reads frames and dispatches them (outcomes to ``on_outcome``, ACKs to the worker side
  waiting in :meth:`HubConnection.publish_outcome`);
* the **writer** (``<name>-writer``) sends what other threads hand it through a queue
  (:meth:`HubConnection.send` never blocks): it batches consecutive SUBSCRIBE frames into one,
  sends keepalive pings, and after each (re)connect re-subscribes every key the owner still waits
  for (``pending_keys()``). It asks ``is_pending(key)`` at send time, so a key that stopped being
  awaited is never subscribed late, whatever the order of the queued frames.

UNSUBSCRIBEs are not urgent (a stray outcome for a finished request is handed back for
collection by the owner), so they do not wake the writer: they ride along with its next batch,
or go out when enough have piled up, 50 ms after the last activity, or at once if the writer
is idle. That keeps the writer asleep at the
moment an outcome arrives, when the request thread it wakes needs the CPU. A request's SUBSCRIBE
is sent by the request thread itself when the send lock is free and the socket writable (it
never waits), else queued. Relay workers send their outcomes themselves
(:meth:`HubConnection.publish_outcome`).

Frames queued while disconnected are dropped: subscriptions are covered by the re-subscribe after
the next connect, and an outcome frame is reported lost to its :meth:`publish_outcome` call, which
sends it again once the hub is back (within its ACK timeout).
"""
from __future__ import annotations

import logging
import queue
import random
import select
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import websocket

from .. import defaults, protocol
from ..errors import AffinityError, AffinityUnavailable, ProtocolError

__all__ = ["HubConnection"]

logger = logging.getLogger(__name__)

#: Keys per SUBSCRIBE frame when re-subscribing many at once (keeps frames well under the limit).
_KEYS_PER_FRAME = 500
#: Frames the writer takes from its queue per batch.
_BATCH = 256
#: Seconds the writer waits after activity before sending the last UNSUBSCRIBEs of a burst.
_LINGER = 0.05

_STOP = object()
_RESUBSCRIBE = object()
_FLUSH = object()


class _AckSlot:
    """One outcome waiting for the hub's ACK. Fields written under ``HubConnection._acks_lock``."""

    __slots__ = ("event", "acked", "lost", "error")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.acked = False
        self.lost = False
        self.error: Optional[str] = None


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
        connect_timeout: Seconds for one connect attempt (TCP + websocket handshake).
        ping_interval: Seconds between keepalive pings; the connection is considered dead after
            2.5 intervals without any frame or pong from the hub.
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
        connect_timeout: float = defaults.AFFINITY_CONNECT_TIMEOUT,
        ping_interval: float = defaults.AFFINITY_PING_INTERVAL,
        reconnect_initial: float = defaults.AFFINITY_RECONNECT_INITIAL,
        reconnect_max: float = defaults.AFFINITY_RECONNECT_MAX,
        name: str = "zeebe-affinity-hub",
    ) -> None:
        self.url = url
        self._token = token
        self._on_outcome = on_outcome
        self._pending_keys = pending_keys
        self._is_pending = is_pending or (lambda key: True)
        self._unsub_lock = threading.Lock()
        self._unsub: List[str] = []  # keys to UNSUBSCRIBE with the next batch; under _unsub_lock
        self._writer_idle = True  # the writer is in its long sleep (written by it, read racily)
        self._role = role
        self._connect_timeout = connect_timeout
        self._ping_interval = ping_interval
        self._reconnect_initial = reconnect_initial
        self._reconnect_max = reconnect_max
        self._name = name

        self._stopping = threading.Event()
        self._connected = threading.Event()
        # notified when connected, stopping, or refused for a wrong token (a reason to stop waiting)
        self._state_cond = threading.Condition()
        self.refused = False  # the hub answered 401/403 on the last attempt; under _state_cond
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()  # any thread puts, writer gets
        self._ws_lock = threading.Lock()
        # held while sending (writer batches, relay outcomes, direct subscribes): a request thread
        # only ever try-acquires it, so it never waits behind another sender
        self._send_lock = threading.Lock()
        self._ws: Optional[websocket.WebSocket] = None  # guarded by _ws_lock; set by the reader
        self._acks_lock = threading.Lock()
        self._acks: Dict[str, _AckSlot] = {}  # frame id -> slot; guarded by _acks_lock
        self.last_error: Optional[str] = None  # why the last connect / connection failed
        self.hub_hello: Dict[str, Any] = {}  # the hub's HELLO frame (limits), reader-written
        self._threads: List[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "HubConnection":
        """Start the reader and writer threads (connecting happens in the background)."""
        if self._threads:
            return self
        reader = threading.Thread(target=self._read_loop, name=f"{self._name}-reader", daemon=True)
        writer = threading.Thread(target=self._write_loop, name=f"{self._name}-writer", daemon=True)
        self._threads = [reader, writer]
        reader.start()
        writer.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection and stop both threads (idempotent)."""
        self._stopping.set()
        with self._state_cond:
            self._state_cond.notify_all()
        self._queue.put(_STOP)
        with self._ws_lock:
            ws = self._ws
        if ws is not None:
            try:
                ws.send_close()
            except Exception:  # already broken: nothing to say goodbye to
                pass
            ws.abort()
        self.join(timeout)
        self._fail_acks(lost=True)

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
        """Block until connected (True) or ``timeout`` seconds passed / stopping (False)."""
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

    def send(self, frame: Mapping[str, Any]) -> None:
        """Queue a frame for the writer thread; never blocks."""
        self._queue.put(frame)

    def subscribe(self, keys: Iterable[Any]) -> None:
        """Subscribe to ``keys`` (which the owner's ``pending_keys()`` already lists); never blocks.

        Sent right here when nobody else is sending and the socket can take it at once (no
        writer wake-up on a request's path); otherwise queued for the writer. While disconnected
        nothing is sent: the re-subscribe after the next connect includes the keys.
        """
        frame = protocol.subscribe(keys)
        if self._send_lock.acquire(blocking=False):
            try:
                with self._ws_lock:
                    ws = self._ws
                if ws is None:
                    return  # covered by the re-subscribe queued at the next connect
                if _writable(ws):
                    try:
                        ws.send(protocol.encode(frame))
                    except Exception as exc:
                        logger.debug("sending to affinity hub failed: %s", _describe(exc))
                        ws.abort()  # the reader reconnects, then everything pending is re-subscribed
                    return
            finally:
                self._send_lock.release()
        self._queue.put(frame)

    def unsubscribe(self, keys: Iterable[Any]) -> None:
        """Queue keys to unsubscribe; sent with the writer's next batch (see the module doc)."""
        with self._unsub_lock:
            self._unsub.extend(str(k) for k in keys)
            full = len(self._unsub) >= _KEYS_PER_FRAME
        if full or self._writer_idle:
            self._queue.put(_FLUSH)  # a full frame's worth, or nothing else would send it soon

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
        slot = _AckSlot()
        with self._acks_lock:
            self._acks[frame_id] = slot
        try:
            self._queue.put(protocol.subscribe(keys, frame_id))
            slot.event.wait(timeout)
            with self._acks_lock:
                return slot.acked
        finally:
            with self._acks_lock:
                self._acks.pop(frame_id, None)

    def publish_outcome(self, frame: Dict[str, Any], timeout: float) -> None:
        """Send an outcome and block until the hub ACKs it (delivered or safely held).

        If the connection drops before the ACK, the outcome is sent again after the reconnect,
        as long as ``timeout`` has not passed (the hub may then see it twice; the client side
        ignores the duplicate).

        Raises:
            AffinityUnavailable: not connected, no ACK, or the hub refused the frame, within
                ``timeout`` seconds. The message says which.
            AffinityError: the outcome is larger than the hub accepts (its HELLO says how large).
        """
        frame_id = uuid.uuid4().hex
        frame = dict(frame, id=frame_id)
        text = protocol.encode(frame)  # encoded once, sent on every attempt
        size = len(text.encode("utf-8"))
        limit = int(self.hub_hello.get("maxFrameBytes") or defaults.HUB_MAX_FRAME_BYTES)
        if size > limit:
            # sending it would only get the connection closed (1009), again on every retry
            raise AffinityError(
                f"outcome of process instance {frame.get('processInstanceKey')} is {size} bytes, over "
                f"the hub's frame limit of {limit} bytes: fetch fewer variables in the relay task "
                "(fetch_variables=...) or raise the hub's --max-frame-bytes"
            )
        slot = _AckSlot()
        with self._acks_lock:
            self._acks[frame_id] = slot
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if not self.wait_connected(remaining):
                    raise AffinityUnavailable(
                        f"affinity hub at {self.url} not reachable within {timeout:g}s "
                        f"({self.last_error or 'no connection'}): the outcome was not handed over"
                    )
                with self._acks_lock:
                    slot.event.clear()
                    slot.lost = False
                self._send_now(frame, text)
                slot.event.wait(max(0.0, deadline - time.monotonic()))
                with self._acks_lock:
                    acked, lost, error = slot.acked, slot.lost, slot.error
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
            with self._acks_lock:
                self._acks.pop(frame_id, None)

    def _send_now(self, frame: Dict[str, Any], text: str) -> None:
        """Send ``frame`` (encoded as ``text``) on the calling thread (a relay worker's handler:
        latency matters, and it may block, unlike a request thread). websocket-client serialises
        concurrent sends."""
        with self._ws_lock:
            ws = self._ws
        if ws is None:
            self._drop([frame])
            return
        try:
            with self._send_lock:
                ws.send(text)
        except Exception as exc:
            logger.debug("sending an outcome to affinity hub failed: %s", _describe(exc))
            self._drop([frame])
            ws.abort()  # the reader notices, reconnects and re-subscribes

    # ------------------------------------------------------------------ reader thread

    def _headers(self) -> List[str]:
        return [f"Authorization: Bearer {self._token}"] if self._token else []

    def _connect(self) -> websocket.WebSocket:
        ws = websocket.create_connection(
            self.url,
            timeout=self._connect_timeout,
            header=self._headers(),
            enable_multithread=True,
            skip_utf8_validation=True,
        )
        # a dead peer shows up as silence: pings go out every interval, pongs must come back
        ws.settimeout(self._ping_interval * 2.5)
        ws.send(protocol.encode(protocol.hello(role=self._role)))
        return ws

    def _read_loop(self) -> None:
        backoff = self._reconnect_initial
        failures = 0
        while not self._stopping.is_set():
            try:
                ws = self._connect()
            except Exception as exc:
                failures += 1
                self.last_error = _describe(exc)
                with self._state_cond:
                    self.refused = _status(exc) in (401, 403)
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
            with self._ws_lock:
                self._ws = ws
            if self._stopping.is_set():
                # stop() ran while we were connecting; it may have missed this socket
                ws.shutdown()
                return
            self._queue.put(_RESUBSCRIBE)
            with self._state_cond:
                self.refused = False
                self._connected.set()
                self._state_cond.notify_all()
            try:
                self._read_frames(ws)
            except Exception as exc:
                if not self._stopping.is_set():
                    self.last_error = _describe(exc)
                    logger.warning("affinity hub connection %s lost: %s", self.url, self.last_error)
            finally:
                self._connected.clear()
                with self._ws_lock:
                    if self._ws is ws:
                        self._ws = None
                self._fail_acks(lost=True)
                try:
                    ws.abort()
                finally:
                    ws.shutdown()  # closes the socket whatever state the websocket is in

    def _read_frames(self, ws: websocket.WebSocket) -> None:
        while not self._stopping.is_set():
            text = ws.recv()
            if text is None or text == "":
                raise websocket.WebSocketConnectionClosedException("hub closed the connection")
            try:
                frame = protocol.decode(text)
            except ProtocolError as exc:
                logger.warning("ignoring malformed frame from affinity hub: %s", exc)
                continue
            kind = frame["type"]
            if kind == protocol.PROCESS_OUTCOME:
                try:
                    self._on_outcome(frame)
                except Exception:  # one bad outcome must not take the connection down
                    logger.exception("handling an outcome from the affinity hub failed")
            elif kind == protocol.ACK:
                self._settle(frame["id"], acked=True)
            elif kind == protocol.ERROR:
                if frame.get("id") and self._settle(str(frame["id"]), error=_error_text(frame)):
                    continue
                logger.warning("affinity hub reported an error: %s", _error_text(frame))
            elif kind == protocol.HELLO:
                self.hub_hello = frame

    def _settle(self, frame_id: str, *, acked: bool = False, error: Optional[str] = None) -> bool:
        with self._acks_lock:
            slot = self._acks.get(frame_id)
            if slot is None:
                return False
            slot.acked = slot.acked or acked
            if error is not None:
                slot.error = error
            slot.event.set()
        return True

    def _fail_acks(self, *, lost: bool) -> None:
        with self._acks_lock:
            for slot in self._acks.values():
                slot.lost = lost
                slot.event.set()

    # ------------------------------------------------------------------ writer thread

    def _write_loop(self) -> None:
        last_ping = time.monotonic()
        busy = False
        while True:
            # After activity, wake once more shortly after it ends, to send the UNSUBSCRIBEs of
            # the last requests of a burst; when idle, sleep until the next keepalive.
            self._writer_idle = not busy
            try:
                item = self._queue.get(timeout=_LINGER if busy else self._ping_interval)
            except queue.Empty:
                item = None
            busy = item is not None
            batch: List[Any] = [] if item is None else [item]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if any(item is _STOP for item in batch):
                return
            with self._unsub_lock:
                unsub, self._unsub = self._unsub, []
            with self._ws_lock:
                ws = self._ws
            frames = self._coalesce(unsub, batch)
            if ws is None:
                self._drop(frames)
                continue
            sent = 0
            try:
                with self._send_lock:
                    for frame in frames:
                        ws.send(protocol.encode(frame))
                        sent += 1
                    if time.monotonic() - last_ping >= self._ping_interval:
                        ws.ping()
                        last_ping = time.monotonic()
            except Exception as exc:
                logger.debug("sending to affinity hub failed: %s", _describe(exc))
                self._drop(frames[sent:])
                ws.abort()  # the reader notices, reconnects and re-subscribes

    def _coalesce(self, unsub: List[str], batch: List[Any]) -> List[Dict[str, Any]]:
        """Turn queued items into frames: the unsubscriptions first (minus keys awaited again),
        then the batch, SUBSCRIBE runs merged and filtered to keys still awaited."""
        frames: List[Dict[str, Any]] = []
        gone = [k for k in dict.fromkeys(unsub) if not self._is_pending(k)]
        for start in range(0, len(gone), _KEYS_PER_FRAME):
            frames.append(protocol.unsubscribe(gone[start:start + _KEYS_PER_FRAME]))
        for item in batch:
            if item is _FLUSH:
                continue
            if item is _RESUBSCRIBE:
                keys = self._pending_keys()
                for start in range(0, len(keys), _KEYS_PER_FRAME):
                    frames.append(protocol.subscribe(keys[start:start + _KEYS_PER_FRAME]))
                continue
            kind = item.get("type")
            if kind == protocol.SUBSCRIBE and "id" not in item:
                keys = [k for k in item["keys"] if self._is_pending(k)]
                if not keys:
                    continue
                last = frames[-1] if frames else None
                if last is not None and last["type"] == kind and len(last["keys"]) < _KEYS_PER_FRAME:
                    last["keys"].extend(keys)
                else:
                    frames.append(protocol.subscribe(keys))
            else:
                frames.append(item)
        return frames

    def _drop(self, frames: List[Dict[str, Any]]) -> None:
        """Frames that were not sent: wake whoever waits for their ACK (an outcome is sent again
        after the reconnect, a confirmed subscribe stops waiting)."""
        for frame in frames:
            frame_id = frame.get("id")
            if frame_id:
                with self._acks_lock:
                    slot = self._acks.get(frame_id)
                    if slot is not None and not slot.acked:
                        slot.lost = True
                        slot.event.set()


def _writable(ws: websocket.WebSocket) -> bool:
    """Whether a small frame can be sent on ``ws`` without blocking."""
    sock = ws.sock
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            return bool(poller.poll(0))
        return bool(select.select([], [sock], [], 0)[1])
    except (OSError, ValueError):
        return False


def _status(exc: BaseException) -> int:
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return int(getattr(exc, "status_code", 0) or 0)
    return 0


def _describe(exc: BaseException) -> str:
    status = _status(exc)
    if status:
        text = f"the hub answered the websocket upgrade with HTTP {status}"
        if status in (401, 403):
            text += ": wrong or missing token (check affinity_token / ZEEBE_AFFINITY_TOKEN)"
        return text
    return str(exc) or type(exc).__name__


def _error_text(frame: Mapping[str, Any]) -> str:
    return f"{frame.get('code', 'error')}: {frame.get('message', '')}"
