"""The routing core of the affinity hub: who is connected, who wants which key, what is stored.

No Flask and no sockets here: a connection is anything with a non-blocking ``send(data)``,
``close(code, reason)`` and ``abort()`` (:class:`Peer`), so the core is unit-testable with plain
objects. The transport (:mod:`zeebe_affinity_sync.hub.websocket`) gives each connection a bounded
outbound queue drained by that connection's own thread, so nothing here ever waits on a socket:
a worker's outcome is queued for its subscribers and ACKed at once, whatever they do.

Delivery (contract C1, ``docs/protocol.md``): to a connection whose HELLO said
``"receipts": true`` an outcome goes with a ``deliveryId`` and stays stored (here, or in Redis
with ``--redis``) until a ``RECEIPT`` names it, the subscriber unsubscribes, or the TTL passes;
seed connections get it handed over once, as before.

Concurrency: one lock, :attr:`HubCore._lock`, guards the routing table (connections, key ->
subscribers, the broadcast set), the held store and the counters. It is held only for dict and
set operations, never while queueing to a peer or talking to Redis.

HubCore is assembled from one mixin per seam, each in its own module: the connection table and
shutdown (:mod:`.connection`), the Redis side (:mod:`.remote`), counters, rates, the stats
snapshot and the maintenance loop (:mod:`.stats`). This module is the routing of frames.
"""
from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .. import defaults, protocol
from ..errors import ProtocolError
from .config import HubConfig
from .connection import ROLE_CLIENT, ROLE_WORKER, Connection, ConnectionsMixin, Peer, Requeue
from .held import HeldStore
from .remote import RemoteMixin
from .stats import Counters, Maintenance, MaintenanceMixin, RateMeter, snapshot, stats_line

__all__ = ["Peer", "Connection", "HubCore"]

log = logging.getLogger(__name__)

_REFUSED = "refused"  # internal: not held (store full); the sender gets ERROR hub-full
# internal: not held because this hub is shutting down (its memory goes with it); the sender gets
# no ACK and its connection is closed, so it sends the outcome again to the next hub
_GOING_AWAY = "going-away"

def _frame_id_of(data: Any) -> Optional[str]:
    """The ``id`` of a frame that failed validation, if it has a usable one (for the ERROR)."""
    try:
        frame = json.loads(data)
    except (TypeError, ValueError, RecursionError):
        return None
    frame_id = frame.get("id") if isinstance(frame, dict) else None
    if isinstance(frame_id, bool) or not isinstance(frame_id, (str, int)):
        return None
    return str(frame_id)[:protocol.MAX_KEY_LENGTH]


def _has_escaped_surrogate(text: str) -> bool:
    # A lone surrogate can only arrive as a JSON escape (wsproto rejects it as raw UTF-8).
    return "\\ud" in text or "\\uD" in text


class HubCore(ConnectionsMixin, RemoteMixin, MaintenanceMixin):
    """Routes each outcome to the connections subscribed to one of its keys.

    Args:
        config: The hub's settings.
        bridge: A :class:`~zeebe_affinity_sync.hub.redis_bridge.RedisBridge` for scale-out, or
            ``None`` for a single-process hub. The core calls it outside its lock.
        hub_id: Identifies this hub on Redis (random if not given).
        clock: Monotonic clock for TTLs (unit tests replace it).
    """

    def __init__(
        self,
        config: HubConfig,
        *,
        bridge: Any = None,
        hub_id: Optional[str] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.bridge = bridge
        # What a bridge call raises when Redis is unreachable or refuses (nothing without one).
        self._redis_errors: Tuple[type, ...] = tuple(getattr(bridge, "ERRORS", ()))
        self.hub_id = hub_id or uuid.uuid4().hex[:12]
        self.started_at = time.monotonic()
        self._ids = itertools.count(1)
        self._deliveries = itertools.count(1)  # next() is atomic under the GIL
        self._lock = threading.Lock()
        self._closed_cond = threading.Condition(self._lock)  # notified when a connection closes
        # Guarded by _lock; written by connection handler threads and the Redis dispatchers.
        self._conns: Dict[int, Connection] = {}
        self._by_key: Dict[str, Set[Connection]] = {}
        self._broadcast: Set[Connection] = set()
        self._closing = False  # shutdown() began: hold nothing more in memory; under _lock
        self._held = HeldStore(config.outcome_ttl, config.max_held, config.max_held_bytes, clock)
        self._n = Counters()
        self._rates = RateMeter()  # sampled by the maintenance thread
        # Whether another hub (over Redis) has seed clients; set by the maintenance thread.
        self._remote_seeds = bridge is not None
        self._maintenance = Maintenance(
            self._tick, min(defaults.HUB_REAP_INTERVAL, config.outcome_ttl / 4))
        self._next_stats = 0.0  # maintenance thread only
        self._capacity_warned = 0.0  # monotonic time of the last capacity warning (racy, harmless)
        self._redis_warned = 0.0  # same, for Redis warnings
        # One hand-over of held outcomes to Redis at a time (the tick, a resync, the shutdown):
        # each puts a failed entry back as the oldest, which holds only for a single hand-over
        self._handover_lock = threading.Lock()
        #: Extra fields for :meth:`stats`, supplied by the transport (e.g. its thread counts).
        self.extra_stats: Optional[Callable[[], Dict[str, Any]]] = None
        self.hello_text = protocol.encode(protocol.hello(
            "hub",
            hubId=self.hub_id,
            maxFrameBytes=config.max_frame_bytes,
            maxSubscriptions=config.max_subscriptions,
            maxProtocolErrors=config.max_protocol_errors,
            outcomeTtl=config.outcome_ttl,
            pingInterval=config.ping_interval,
            broadcast=config.broadcast,
            scaleOut=bridge is not None,
            receipts=True,
        ))

    def _new_delivery_id(self) -> str:
        return f"{self.hub_id}-{next(self._deliveries)}"

    # ------------------------------------------------------------------ frames

    def receive(self, conn: Connection, data: Any) -> None:
        """Handle one frame received on ``conn`` (bad frames get an ``ERROR`` frame back)."""
        try:
            frame = protocol.decode(data)
        except ProtocolError as exc:
            self._protocol_error(conn, exc.code, str(exc), _frame_id_of(data))
            return
        kind = frame["type"]
        if kind == protocol.PROCESS_OUTCOME:
            self._outcome(conn, frame, data if isinstance(data, str) else None)
        elif kind == protocol.RECEIPT:
            self._receipt(frame["deliveryIds"])
        elif kind == protocol.SUBSCRIBE:
            self._subscribe(conn, frame)
        elif kind == protocol.UNSUBSCRIBE:
            self._unsubscribe(conn, frame)
        elif kind == protocol.REGISTER_CLIENT:
            with self._lock:
                conn.role = ROLE_CLIENT
                if self.config.broadcast and not conn.subscribed and not conn.closed:
                    self._broadcast.add(conn)
            self._ack_if_asked(conn, frame)
        elif kind == protocol.REGISTER_WORKER:
            # Only SUBSCRIBE ends the broadcast: a seed service registers one connection as
            # client and worker, and keeps getting the broadcast (protocol.md, routing rule 2).
            with self._lock:
                if conn.role is None:
                    conn.role = ROLE_WORKER
            self._ack_if_asked(conn, frame)
        elif kind == protocol.HELLO:
            self._hello(conn, frame)
        elif kind == protocol.ERROR:
            log.debug("peer %r reported an error: %s", conn, frame)
        # ACK from a peer needs nothing.

    def _hello(self, conn: Connection, frame: Dict[str, Any]) -> None:
        role = frame.get("role")
        with self._lock:
            if role in (ROLE_CLIENT, ROLE_WORKER):
                conn.hello_role = role  # counted in /stats; unlike REGISTER_CLIENT, no broadcast
            conn.receipts = bool(frame.get("receipts", False))
        conn.version = frame.get("version", protocol.PROTOCOL_VERSION)
        if conn.version != protocol.PROTOCOL_VERSION:
            self._send(conn, protocol.encode_utf8(protocol.encode(protocol.error(
                protocol.ERROR_UNSUPPORTED_VERSION,
                f"this hub speaks protocol version {protocol.PROTOCOL_VERSION}, the peer "
                f"announced {conn.version}: upgrade the older side",
            ))))

    def _ack_if_asked(self, conn: Connection, frame: Dict[str, Any]) -> None:
        frame_id = frame.get("id")
        if frame_id is not None and isinstance(frame_id, (str, int)) and not isinstance(frame_id, bool):
            self._send(conn, protocol.encode_ack(frame_id).encode("utf-8"))

    def _error_to(self, conn: Connection, code: str, message: str,
                  frame_id: Optional[str] = None) -> None:
        text = protocol.encode(protocol.error(code, message, frame_id=frame_id))
        self._send(conn, text.encode("utf-8", "backslashreplace"))

    def _protocol_error(self, conn: Connection, code: str, message: str,
                        frame_id: Optional[str] = None) -> None:
        with self._lock:
            conn.errors += 1
            errors = conn.errors
            self._n.protocol_errors += 1
            abusive = errors >= self.config.max_protocol_errors
            if abusive:
                self._n.abuse_closes += 1
        self._error_to(conn, code, message, frame_id)
        if abusive:
            log.warning("closing %r after %d bad frames (last: %s)", conn, errors, message)
            conn.peer.close(protocol.CLOSE_POLICY_VIOLATION, f"too many bad frames ({errors})")

    def _send(self, conn: Connection, data: bytes, requeue: Optional[Requeue] = None) -> bool:
        """Queue ``data`` to ``conn``; a full queue or a gone peer drops the connection."""
        if conn.peer.send(data, requeue):
            return True
        # Its queue is full (it does not read) or it is gone: drop it now, not when its thread
        # gets round to it, so no further outcome is queued to it. What was routed to it stays
        # stored (receipts) or is held again by the caller / by requeue().
        log.debug("dropping %r: its outbound queue is full or it is gone", conn)
        # Forget it before the abort: the abort wakes its handler thread, whose own close()
        # must not win the race and make this drop go uncounted.
        dropped = self.close(conn)  # False if it had closed already, or another sender dropped it
        conn.peer.abort()
        with self._lock:
            self._n.send_failures += 1
            if dropped:
                self._n.queue_full_drops += 1
        return False

    def _subscribe(self, conn: Connection, frame: Dict[str, Any]) -> None:
        keys: List[str] = frame["keys"]
        frame_id = frame.get("id")
        limit = self.config.max_subscriptions
        with self._lock:
            if conn.closed:
                return
            new = [k for k in dict.fromkeys(keys) if k not in conn.keys]
            too_many = len(conn.keys) + len(new) > limit
            if not too_many:
                for key in new:
                    conn.keys.add(key)
                    subscribers = self._by_key.get(key)
                    if subscribers is None:
                        self._by_key[key] = {conn}
                    else:
                        subscribers.add(conn)
                conn.subscribed = True
                self._broadcast.discard(conn)
                stored = self._held.take(keys, keep=conn.receipts)
                taken = [(e.delivery_id, e.text) for e in stored]
                self._n.held_delivered += len(taken)
                if conn.receipts:
                    self._n.redelivered += sum(1 for e in stored if e.awaiting_receipt)
            receipts = conn.receipts
        if too_many:
            self._error_to(
                conn, protocol.ERROR_TOO_MANY_SUBSCRIPTIONS,
                f"a connection may subscribe to at most {limit} keys; it has {len(conn.keys)} "
                f"and asked for {len(new)} more: UNSUBSCRIBE keys it no longer waits for",
                None if frame_id is None else str(frame_id))
            return
        if self._hand_over(conn, receipts, taken) and self.bridge is not None:
            try:
                remote = self.bridge.take(keys, keep=receipts)
            except self._redis_errors as exc:  # redis errors; the hub goes on without it
                self._warn_redis("could not take stored outcomes from Redis: %s", exc)
                remote = []
            if remote:
                with self._lock:
                    self._n.held_delivered += len(remote)
                self._hand_over(conn, receipts, remote)
        if frame_id is not None:
            # After the stored outcomes: "ACK" means "everything stored for these keys is queued".
            self._send(conn, protocol.encode_ack(frame_id).encode("utf-8"))

    def _hand_over(self, conn: Connection, receipts: bool, items: List[Tuple[str, str]]) -> bool:
        """Queue stored outcomes ``(delivery id, text)`` to a subscriber; ``False`` if it is gone."""
        for i, (delivery_id, text) in enumerate(items):
            if receipts:
                ok = self._send(conn, protocol.with_delivery_id(text, delivery_id).encode("utf-8"))
            else:
                ok = self._send(conn, text.encode("utf-8"), self._requeue_info(text))
            if not ok:
                if not receipts:  # receipt entries are still stored; seed ones were taken
                    for _, rest in items[i:]:
                        info = self._requeue_info(rest)
                        if info is not None:
                            self._hold_or_publish(info[0], rest, self._new_delivery_id())
                return False
        return True

    @staticmethod
    def _requeue_info(text: str) -> Optional[Requeue]:
        try:
            return protocol.routing_keys(protocol.decode(text)), text
        except ProtocolError:
            return None

    def _unsubscribe(self, conn: Connection, frame: Dict[str, Any]) -> None:
        released: List[str] = []
        with self._lock:
            for key in frame["keys"]:
                if key in conn.keys:
                    conn.keys.discard(key)
                    self._drop_subscriber(key, conn)
                    released.append(key)
            if released and conn.receipts:
                self._held.release(released)
            receipts = conn.receipts
        if released and receipts and self.bridge is not None:
            try:
                self.bridge.release(released)
            except self._redis_errors as exc:  # redis errors; the TTL removes it anyway
                self._warn_redis("could not release stored outcomes on Redis: %s", exc)
        frame_id = frame.get("id")
        if frame_id is not None:
            self._send(conn, protocol.encode_ack(frame_id).encode("utf-8"))

    def _receipt(self, delivery_ids: List[str]) -> None:
        with self._lock:
            self._n.receipts += len(delivery_ids)
            self._held.receipt(delivery_ids)
        if self.bridge is not None:
            try:
                self.bridge.receipt(delivery_ids)
            except self._redis_errors as exc:  # redis errors; the TTL removes it anyway
                self._warn_redis("could not remove receipted outcomes from Redis: %s", exc)

    def _outcome(self, conn: Connection, frame: Dict[str, Any], text: Optional[str]) -> None:
        keys = protocol.routing_keys(frame)
        frame_id = frame.pop("id", None)
        # Delivered as received, minus the id: cut out of the text when it is written as our
        # senders write it (the common case, no re-encoding), else the decoded frame re-encoded.
        cut = None if text is None or frame_id is None else protocol.without_trailing_id(text, frame_id)
        if cut is not None:
            text = cut
        elif frame_id is not None or text is None:
            text = protocol.encode(frame)
        try:
            data = protocol.encode_utf8(text)
            if _has_escaped_surrogate(text):
                protocol.encode_utf8(protocol.encode(frame))
        except ProtocolError as exc:
            # Refused to its sender; never queued to a subscriber (it would fail there).
            with self._lock:
                self._n.bad_outcomes += 1
            self._protocol_error(conn, exc.code, str(exc),
                                 None if frame_id is None else str(frame_id))
            return
        delivery_id = self._new_delivery_id()
        bridge = self.bridge
        held = False
        with self._lock:
            self._n.received += 1
            if frame_id is not None:
                # counted here, not in a second locked section after the send (the common path
                # ACKs); the paths that send no ACK take it back
                self._n.acks += 1
            targets = self._subscribers_of(keys)
            seeds = [s for s in self._broadcast if s is not conn] if self._broadcast else []
            closing = self._closing
            keepers = [t for t in targets if t.receipts]
            if targets:
                self._n.routed += len(targets)
            if bridge is None:
                if keepers:
                    # Stored until its receipt; a full store degrades to "handed over once".
                    self._held.put(keys, text, delivery_id, len(data), awaiting_receipt=True)
                elif not targets and not closing:
                    held = self._hold(keys, text, delivery_id, len(data))
            if seeds:
                self._n.broadcast += len(seeds)
        status = protocol.ACK_DELIVERED
        if targets:
            kept_remotely = keepers and bridge is not None and self._store_remote(
                delivery_id, keys, text)
            if keepers and bridge is not None and not kept_remotely:
                with self._lock:  # Redis is down: keep it here instead
                    self._held.put(keys, text, delivery_id, len(data), awaiting_receipt=True)
            sent = self._deliver(targets, keys, text, data, delivery_id)
            if not sent and not keepers:
                status = self._hold_or_publish(keys, text, delivery_id)
            elif not sent:
                status = protocol.ACK_HELD  # stored for the re-subscribe of its receipt subscriber
            elif bridge is not None and self.config.broadcast and self._remote_seeds:
                self._publish(keys, text, None)  # for the seed clients of other hubs
        elif bridge is not None:
            status = self._hold_or_publish(keys, text, delivery_id)
        elif held:
            status = protocol.ACK_HELD
        else:
            status = _GOING_AWAY if closing else _REFUSED
        if frame_id is not None and status in (_GOING_AWAY, _REFUSED):
            with self._lock:
                self._n.acks -= 1
        if status == _GOING_AWAY:
            # An ACK "held" now would be a lie: the held store dies with this process. No ACK,
            # and the connection closes: the worker sends the outcome again after reconnecting.
            log.info("hub shutting down: outcome for %s not held; its sender will resend it", keys)
            conn.peer.close(protocol.CLOSE_GOING_AWAY, "hub shutting down: send it again")
            self.close(conn)
        elif frame_id is not None:
            if status == _REFUSED:
                self._error_to(
                    conn, protocol.ERROR_HUB_FULL,
                    f"outcome {frame_id} was not delivered: nobody subscribed to {keys} and the "
                    f"hub already holds {self.config.max_held} outcomes / "
                    f"{self.config.max_held_bytes} bytes: retry later", str(frame_id))
            else:
                self._send(conn, protocol.encode_ack(frame_id, status).encode("utf-8"))
        elif status == _REFUSED:
            log.warning("dropped outcome for %s: the held store is full", keys)
        # Broadcast copies last: they never delay the targeted copies or the ACK.
        for seed in seeds:
            self._send(seed, data)

    def _deliver(self, targets: List[Connection], keys: List[str], text: str, data: bytes,
                 delivery_id: str) -> int:
        """Queue an outcome to its subscribers; returns how many queues took it."""
        sent = 0
        receipt_data: Optional[bytes] = None
        requeue = (keys, text)
        for target in targets:
            if target.receipts:
                if receipt_data is None:
                    receipt_data = protocol.with_delivery_id_utf8(data, delivery_id)
                ok = self._send(target, receipt_data)
            else:
                ok = self._send(target, data, requeue)
            sent += ok
        return sent

    def _hold_or_publish(self, keys: List[str], text: str, delivery_id: str) -> str:
        """No subscriber took the outcome: store it in Redis (or hold it here)."""
        if self.bridge is not None and self._publish(keys, text, delivery_id):
            return protocol.ACK_PUBLISHED
        with self._lock:
            if self._closing:
                return _GOING_AWAY
            held = self._hold(keys, text, delivery_id, len(text.encode("utf-8")))
        return protocol.ACK_HELD if held else _REFUSED

    def _hold(self, keys: List[str], text: str, delivery_id: str, size: int) -> bool:
        """Hold an outcome here and count it as held or refused (caller holds ``_lock``)."""
        held = self._held.put(keys, text, delivery_id, size)
        if held:
            self._n.held += 1
        else:
            self._n.refused += 1
        return held

    # ------------------------------------------------------------------ stats

    def stats(self) -> Dict[str, Any]:
        """A JSON-able snapshot: connections by role, subscriptions, stored, counters, rates."""
        return snapshot(self)

    def stats_line(self) -> str:
        """The periodic log line (the seed's ``outputStats``, with our numbers)."""
        return stats_line(self.stats())
