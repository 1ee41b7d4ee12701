"""The writer of a hub connection: the only thread that writes to its socket.

Other threads hand it frames through a bounded queue (never blocking, except a relay worker
waiting for room within its own deadline). It batches consecutive SUBSCRIBE frames into one, adds
the pending UNSUBSCRIBE and RECEIPT ids, sends keepalive pings and the pongs the reader asks for,
and after each (re)connect re-subscribes every key the owner still waits for (``pending_keys()``).
It asks ``is_pending(key)`` at send time, so a key that stopped being awaited is never subscribed
late, whatever the order of the queued frames. Every frame must leave the socket within
``write_timeout``; if it does not (the hub does not read), the socket is shut down and the reader
reconnects.

UNSUBSCRIBEs and RECEIPTs are not urgent, so they do not wake the writer: UNSUBSCRIBEs ride along
with its next batch, or go out when enough have piled up, 50 ms after the last activity, or at
once if the writer is idle. That keeps the writer asleep at the moment an outcome arrives, when
the request thread it wakes needs the CPU. RECEIPTs wait longer: they go out once a frame's worth
(:data:`KEYS_PER_FRAME`) has piled up, or :data:`~zeebe_affinity_sync.defaults.AFFINITY_RECEIPT_LINGER`
after the first of them, in as few frames as that allows, whatever else the writer sends
meanwhile. Each RECEIPT frame costs the hub a wakeup of two of its threads, far more than the
ids in it, and a receipt only frees the hub's copy early (a receipt not yet sent when the
connection drops goes out on the next one; the outcome sent again meanwhile is dropped here as a
duplicate).
"""
from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from .. import defaults, protocol
from . import wire

__all__ = ["HubWriter", "Outgoing", "Pong", "KEYS_PER_FRAME"]

logger = logging.getLogger(__name__)

#: Keys (or delivery ids) per SUBSCRIBE / UNSUBSCRIBE / RECEIPT frame (well under the frame limit).
KEYS_PER_FRAME = 500
#: Frames the writer takes from its queue per batch.
_BATCH = 256
#: Seconds the writer waits after activity before sending the last UNSUBSCRIBEs of a burst.
_LINGER = 0.05

#: Receipts kept across a reconnect at most (only outcomes received before the drop are due).
_MAX_KEPT_RECEIPTS = 10_000

STOP = object()
RESUBSCRIBE = object()
FLUSH = object()
WAKE = object()  # look at the receipt deadline again (the writer may be in its long sleep)


class Pong:
    """A pong the reader asks the writer to send (the reader never writes)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Outgoing:
    """An outcome frame already encoded (a relay worker encodes it once for all its attempts)."""

    __slots__ = ("frame_id", "data")

    def __init__(self, frame_id: str, data: bytes) -> None:
        self.frame_id = frame_id
        self.data = data


class HubWriter:
    """The writing half of :class:`~.hub_connection.HubConnection`.

    Args:
        url: For messages.
        current_socket: Returns the live socket (``None`` while disconnected).
        pending_keys / is_pending: As for the connection.
        on_unsent: Called with the frames that were not sent (their ACK waiters learn it).
        ping_interval: Seconds between keepalive pings.
        write_timeout: Seconds one frame may take to leave the socket.
        max_queue: Frames the queue holds at most.
        receipt_linger: Seconds receipts may wait to be batched (default
            :data:`~zeebe_affinity_sync.defaults.AFFINITY_RECEIPT_LINGER`).
    """

    def __init__(
        self,
        url: str,
        *,
        current_socket: Callable[[], Optional[socket.socket]],
        pending_keys: Callable[[], List[str]],
        is_pending: Callable[[str], bool],
        on_unsent: Callable[[List[Any]], None],
        ping_interval: float,
        write_timeout: float,
        max_queue: int,
        receipt_linger: float = defaults.AFFINITY_RECEIPT_LINGER,
    ) -> None:
        self._url = url
        self._current_socket = current_socket
        self._pending_keys = pending_keys
        self._is_pending = is_pending
        self._on_unsent = on_unsent
        self._ping_interval = ping_interval
        self._write_timeout = write_timeout
        # any thread puts, the writer thread gets; bounded: a full queue means the writer cannot
        # keep up with the hub, and callers are told instead of piling up frames
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max_queue)
        self._lazy_lock = threading.Lock()
        self._unsub: List[str] = []  # keys to UNSUBSCRIBE with the next batch; under _lazy_lock
        self._receipted: List[str] = []  # delivery ids to RECEIPT when due; same lock
        # monotonic time by which the pending receipts go out (None: none pending); same lock
        self._receipt_due: Optional[float] = None
        self._receipt_linger = receipt_linger
        self._idle = True  # the writer is in its long sleep (written by it, read racily)
        self._resubscribe_due = False  # a SUBSCRIBE did not fit the queue: re-subscribe all
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ any thread

    def send(self, frame: Mapping[str, Any]) -> bool:
        """Queue a frame; never blocks. False if the queue was full (logged)."""
        try:
            self._queue.put_nowait(frame)
            return True
        except queue.Full:
            logger.warning("affinity hub connection %s: send queue full, frame %s dropped",
                           self._url, frame.get("type"))
            return False

    def send_outcome(self, item: Outgoing, timeout: float) -> bool:
        """Queue an encoded outcome, waiting at most ``timeout`` for room. False if none came."""
        try:
            self._queue.put(item, timeout=max(0.0, timeout))
            return True
        except queue.Full:
            return False

    def subscribe(self, keys: Iterable[Any]) -> None:
        try:
            self._queue.put_nowait(protocol.subscribe(keys))
        except queue.Full:
            self._resubscribe_due = True
            self.control(FLUSH)

    def unsubscribe(self, keys: Iterable[Any]) -> None:
        with self._lazy_lock:
            self._unsub.extend(str(k) for k in keys)
            full = len(self._unsub) >= KEYS_PER_FRAME
        if full or self._idle:
            self.control(FLUSH)  # a full frame's worth, or nothing else would send it soon

    def receipt(self, delivery_ids: Iterable[str]) -> None:
        with self._lazy_lock:
            first = not self._receipted
            self._receipted.extend(str(d) for d in delivery_ids)
            if first and self._receipted:
                self._receipt_due = time.monotonic() + self._receipt_linger
            full = len(self._receipted) >= KEYS_PER_FRAME
        if full:
            self.control(FLUSH)
        elif first and self._idle:
            self.control(WAKE)  # its long sleep would outlast the linger

    def control(self, item: Any) -> None:
        """Queue a marker (pong, re-subscribe, flush); a full queue already keeps the writer busy,
        so dropping one then is harmless."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            pass

    def stop(self) -> None:
        self._stopping.set()
        self.control(STOP)

    # ------------------------------------------------------------------ writer thread

    def run(self) -> None:
        last_ping = time.monotonic()
        busy = False
        while not self._stopping.is_set():
            # After activity, wake once more shortly after it ends, to send the UNSUBSCRIBEs of
            # the last requests of a burst; when idle, sleep until the next keepalive.
            self._idle = not busy
            # set idle first, then look: an unsubscribe/receipt added before the flag was set
            # (its caller saw "busy", so it queued no FLUSH / WAKE) is seen here
            with self._lazy_lock:
                busy = busy or bool(self._unsub)
                due = self._receipt_due
            timeout = _LINGER if busy else self._ping_interval
            if due is not None:
                timeout = min(timeout, max(0.0, due - time.monotonic()))
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            busy = item is not None and item is not WAKE
            batch: List[Any] = [] if item is None else [item]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if any(entry is STOP for entry in batch) or self._stopping.is_set():
                return
            if self._resubscribe_due:
                self._resubscribe_due = False
                batch.append(RESUBSCRIBE)
            with self._lazy_lock:
                unsub, self._unsub = self._unsub, []
                receipts: List[str] = []
                if self._receipted and (len(self._receipted) >= KEYS_PER_FRAME
                                        or time.monotonic() >= (self._receipt_due or 0.0)):
                    receipts, self._receipted = self._receipted, []
                    self._receipt_due = None
            batch = [entry for entry in batch if entry is not WAKE]
            if not (batch or unsub or receipts) and time.monotonic() - last_ping < self._ping_interval:
                continue  # woken for receipts that are not due yet
            frames = self._coalesce(unsub, batch, receipts)
            sock = self._current_socket()
            if sock is None:
                self._unsent(frames)
                continue
            sent = 0
            try:
                for entry in frames:
                    wire.send_all(sock, _encoded(entry), time.monotonic() + self._write_timeout)
                    sent += 1
                if time.monotonic() - last_ping >= self._ping_interval:
                    wire.send_all(sock, wire.encode_frame(b"", wire.OP_PING), time.monotonic() + self._write_timeout)
                    last_ping = time.monotonic()
            except OSError as exc:
                logger.warning("sending to affinity hub %s failed: %s (reconnecting)", self._url, exc)
                self._unsent(frames[sent:])
                wire.shutdown(sock)  # the reader notices, reconnects and re-subscribes

    def _unsent(self, frames: List[Any]) -> None:
        """Frames that did not go out: receipts are kept for the next connection (else the hub
        would keep those outcomes stored until its TTL), the rest is reported to the owner."""
        kept = [i for f in frames if isinstance(f, dict) and f.get("type") == protocol.RECEIPT
                for i in f["deliveryIds"]]
        if kept:
            with self._lazy_lock:
                self._receipted[:0] = kept[-_MAX_KEPT_RECEIPTS:]
                del self._receipted[_MAX_KEPT_RECEIPTS:]
                if self._receipt_due is None:
                    self._receipt_due = time.monotonic() + self._receipt_linger
        self._on_unsent([f for f in frames if not (isinstance(f, dict) and f.get("type") == protocol.RECEIPT)])

    def _coalesce(self, unsub: List[str], batch: List[Any], receipts: Optional[List[str]] = None) -> List[Any]:
        """Turn queued items into frames: pongs and receipts first, then the unsubscriptions
        (minus keys awaited again), then the batch, SUBSCRIBE runs merged and filtered to keys
        still awaited."""
        frames: List[Any] = [item for item in batch if isinstance(item, Pong)]
        ids = list(dict.fromkeys(receipts or ()))
        for start in range(0, len(ids), KEYS_PER_FRAME):
            frames.append(protocol.receipt(ids[start:start + KEYS_PER_FRAME]))
        gone = [k for k in dict.fromkeys(unsub) if not self._is_pending(k)]
        for start in range(0, len(gone), KEYS_PER_FRAME):
            frames.append(protocol.unsubscribe(gone[start:start + KEYS_PER_FRAME]))
        for item in batch:
            if item is FLUSH or isinstance(item, Pong):
                continue
            if item is RESUBSCRIBE:
                keys = self._pending_keys()
                for start in range(0, len(keys), KEYS_PER_FRAME):
                    frames.append(protocol.subscribe(keys[start:start + KEYS_PER_FRAME]))
                continue
            if isinstance(item, Outgoing):
                frames.append(item)
                continue
            kind = item.get("type")
            if kind == protocol.SUBSCRIBE and "id" not in item:
                keys = [k for k in item["keys"] if self._is_pending(k)]
                if not keys:
                    continue
                last = frames[-1] if frames else None
                if isinstance(last, dict) and last["type"] == kind and "id" not in last \
                        and len(last["keys"]) < KEYS_PER_FRAME:
                    # a key the re-subscribe after a connect already carries is not sent twice
                    merged = set(last["keys"])
                    last["keys"].extend(k for k in keys if k not in merged)
                else:
                    frames.append(protocol.subscribe(keys))
            else:
                frames.append(item)
        return frames


def frame_id_of(entry: Any) -> Optional[str]:
    """The ACK id of a queued entry, if it asks for one."""
    if isinstance(entry, Outgoing):
        return entry.frame_id
    if isinstance(entry, dict):
        value: Dict[str, Any] = entry
        return value.get("id")
    return None


def _encoded(entry: Any) -> bytes:
    if isinstance(entry, Pong):
        return wire.encode_frame(entry.payload, wire.OP_PONG)
    if isinstance(entry, Outgoing):
        return wire.encode_frame(entry.data)
    return wire.encode_frame(protocol.encode(entry).encode("utf-8"))
