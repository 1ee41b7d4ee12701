"""The routing core of the affinity hub: who is connected, who wants which key, what is held.

No Flask and no sockets here: a connection is anything with ``send(text)`` and
``close(code, reason)`` (:class:`Peer`), so the core is unit-testable with plain objects and the
Flask app (:mod:`zeebe_affinity_sync.hub.app`) only moves frames between sockets and
:meth:`HubCore.receive`.

Concurrency: one lock, :attr:`HubCore._lock`, guards the routing table (connections, key ->
subscribers, the broadcast set), the held store and the counters. It is held only for dict and
set operations, never while sending or talking to Redis. Each connection's sends are serialised
by its peer (the app wraps the socket with a per-connection lock), so several threads may send to
one connection at once safely. The maintenance thread (``start()``/``stop()``) expires held
outcomes, samples rates and logs the periodic stats line.
"""
from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import threading
import time
import uuid
from typing import Any, Callable, Deque, Dict, List, Optional, Protocol, Set, Tuple

from .. import defaults, protocol
from ..errors import ProtocolError
from .config import HubConfig
from .held import HeldStore

__all__ = ["Peer", "Connection", "HubCore", "CLOSE_GOING_AWAY", "CLOSE_POLICY_VIOLATION",
           "CLOSE_MESSAGE_TOO_BIG"]

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = protocol.CLOSE_GOING_AWAY
CLOSE_POLICY_VIOLATION = protocol.CLOSE_POLICY_VIOLATION
CLOSE_MESSAGE_TOO_BIG = protocol.CLOSE_MESSAGE_TOO_BIG

ROLE_CLIENT = "client"
ROLE_WORKER = "worker"

_REFUSED = "refused"  # internal: not held (store full); the sender gets ERROR hub-full
# internal: not held because this hub is shutting down (its memory goes with it); the sender gets
# no ACK and its connection is closed, so it sends the outcome again to the next hub
_GOING_AWAY = "going-away"
_RATE_WINDOW = 5.0  # s, rates in /stats are averaged over this window


def _frame_id_of(data: Any) -> Optional[str]:
    """The ``id`` of a frame that failed validation, if it has a usable one (for the ERROR)."""
    try:
        frame = json.loads(data)
    except (TypeError, ValueError):
        return None
    frame_id = frame.get("id") if isinstance(frame, dict) else None
    if isinstance(frame_id, bool) or not isinstance(frame_id, (str, int)):
        return None
    return str(frame_id)[:protocol.MAX_KEY_LENGTH]


class Peer(Protocol):
    """What the core needs from a connection's transport."""

    def send(self, text: str) -> None:
        """Send one text frame; raise any exception if the peer is gone."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a websocket close code."""

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (a send to it failed)."""


class Connection:
    """The core's view of one connection. Fields are guarded by the core's lock."""

    __slots__ = ("id", "peer", "remote", "role", "keys", "subscribed", "errors", "closed",
                 "opened_at", "version")

    def __init__(self, conn_id: int, peer: Peer, remote: str) -> None:
        self.id = conn_id
        self.peer = peer
        self.remote = remote
        self.role: Optional[str] = None
        self.keys: Set[str] = set()
        self.subscribed = False  # ever subscribed: then no broadcast copies
        self.errors = 0
        self.closed = False
        self.opened_at = time.time()
        self.version: Optional[int] = None

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.role or 'unregistered'} {self.remote}>"


class _Counters:
    """Monotonic counters; guarded by HubCore._lock."""

    __slots__ = ("received", "routed", "broadcast", "held", "held_delivered", "refused",
                 "acks", "protocol_errors", "abuse_closes", "send_failures", "remote_received",
                 "remote_routed", "published", "connections_opened", "subscriptions_closed")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> Dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class HubCore:
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
        self.hub_id = hub_id or uuid.uuid4().hex[:12]
        self.started_at = time.monotonic()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Guarded by _lock; written by connection handler threads and the Redis listener.
        self._conns: Dict[int, Connection] = {}
        self._by_key: Dict[str, Set[Connection]] = {}
        self._broadcast: Set[Connection] = set()
        self._closing = False  # shutdown() began: hold nothing more in memory; under _lock
        self._held = HeldStore(config.outcome_ttl, config.max_held, config.max_held_bytes, clock)
        self._n = _Counters()
        # Rate samples (time, received, routed): owned by the maintenance thread.
        self._samples: Deque[Tuple[float, int, int]] = collections.deque()
        self._rates = (0.0, 0.0)  # (received/s, routed/s); replaced whole, read without lock
        # Whether another hub (over Redis) has seed clients; set by the maintenance thread.
        self._remote_seeds = bridge is not None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._pid = os.getpid()
        self._capacity_warned = 0.0  # monotonic time of the last capacity warning (racy, harmless)
        self._redis_warned = 0.0  # same, for Redis warnings
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
        ))

    # ------------------------------------------------------------------ connections

    def open(self, peer: Peer, remote: str = "") -> Connection:
        """Register a new connection (the app then sends it :attr:`hello_text`)."""
        conn = Connection(next(self._ids), peer, remote)
        with self._lock:
            self._conns[conn.id] = conn
            self._n.connections_opened += 1
            count = len(self._conns)
        capacity = self.config.threads
        if capacity and count >= capacity - max(2, capacity // 10):
            now = time.monotonic()
            if now - self._capacity_warned > 10.0:  # at most one warning per 10 s
                self._capacity_warned = now
                log.warning(
                    "%d open websockets and %d gunicorn threads: each socket holds a thread, so "
                    "new connections will wait for one; raise --threads (ZEEBE_AFFINITY_THREADS) "
                    "or add hub workers with --redis", count, capacity)
        return conn

    def close(self, conn: Connection) -> None:
        """Forget a connection and all its subscriptions (idempotent)."""
        with self._lock:
            if conn.closed:
                return
            conn.closed = True
            self._conns.pop(conn.id, None)
            self._broadcast.discard(conn)
            self._n.subscriptions_closed += len(conn.keys)
            for key in conn.keys:
                self._drop_subscriber(key, conn)
            conn.keys.clear()

    def _subscribers_of(self, keys: List[str]) -> List[Connection]:
        """The connections subscribed to any of ``keys``, each once (caller holds ``_lock``)."""
        targets: List[Connection] = []
        for key in keys:
            subscribers = self._by_key.get(key)
            if subscribers:
                for sub in subscribers:
                    if sub not in targets:
                        targets.append(sub)
        return targets

    def _drop_subscriber(self, key: str, conn: Connection) -> None:
        """Remove ``conn`` from the subscribers of ``key`` (caller holds ``_lock``)."""
        subscribers = self._by_key.get(key)
        if subscribers is not None:
            subscribers.discard(conn)
            if not subscribers:
                del self._by_key[key]

    # ------------------------------------------------------------------ frames

    def receive(self, conn: Connection, data: Any) -> None:
        """Handle one frame received on ``conn`` (bad frames get an ``ERROR`` frame back)."""
        if isinstance(data, (bytes, bytearray)):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                pass  # decode() reports it
        try:
            frame = protocol.decode(data)
        except ProtocolError as exc:
            self._protocol_error(conn, exc.code, str(exc), _frame_id_of(data))
            return
        kind = frame["type"]
        if kind == protocol.PROCESS_OUTCOME:
            self._outcome(conn, frame, data)
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
            with self._lock:
                conn.role = ROLE_WORKER
                self._broadcast.discard(conn)
            self._ack_if_asked(conn, frame)
        elif kind == protocol.HELLO:
            role = frame.get("role")
            if role in (ROLE_CLIENT, ROLE_WORKER):
                with self._lock:
                    if conn.role is None:
                        conn.role = role  # counted in /stats; unlike REGISTER_CLIENT, no broadcast
            conn.version = frame.get("version", protocol.PROTOCOL_VERSION)
            if conn.version != protocol.PROTOCOL_VERSION:
                self._send(conn, protocol.encode(protocol.error(
                    protocol.ERROR_UNSUPPORTED_VERSION,
                    f"this hub speaks protocol version {protocol.PROTOCOL_VERSION}, the peer "
                    f"announced {conn.version}: upgrade the older side",
                )))
        elif kind == protocol.ERROR:
            log.debug("peer %r reported an error: %s", conn, frame)
        # ACK from a peer needs nothing.

    def _ack_if_asked(self, conn: Connection, frame: Dict[str, Any]) -> None:
        frame_id = frame.get("id")
        if frame_id is not None and isinstance(frame_id, (str, int)) and not isinstance(frame_id, bool):
            self._send(conn, protocol.encode_ack(frame_id))

    def _protocol_error(self, conn: Connection, code: str, message: str,
                        frame_id: Optional[str] = None) -> None:
        with self._lock:
            conn.errors += 1
            errors = conn.errors
            self._n.protocol_errors += 1
            abusive = errors >= self.config.max_protocol_errors
            if abusive:
                self._n.abuse_closes += 1
        self._send(conn, protocol.encode(protocol.error(code, message, frame_id=frame_id)))
        if abusive:
            log.warning("closing %r after %d bad frames (last: %s)", conn, errors, message)
            try:
                conn.peer.close(CLOSE_POLICY_VIOLATION, f"too many bad frames ({errors})")
            except Exception:  # the peer may be gone already
                pass

    def _send(self, conn: Connection, text: str) -> bool:
        try:
            conn.peer.send(text)
            return True
        except Exception as exc:
            # A failed or timed-out send may have left half a frame on the wire: the connection
            # is unusable, drop it (its handler then unregisters it).
            log.debug("send to %r failed: %s", conn, exc)
            with self._lock:
                self._n.send_failures += 1
            abort = getattr(conn.peer, "abort", None)
            if abort is not None:
                try:
                    abort()
                except Exception:
                    pass
            # Unregister it now, not when its handler thread gets round to it: until then every
            # outcome for its keys would be sent to it, fail, and be held or published again.
            self.close(conn)
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
                held = self._held.take(keys)
                self._n.held_delivered += len(held)
        if too_many:
            self._send(conn, protocol.encode(protocol.error(
                protocol.ERROR_TOO_MANY_SUBSCRIPTIONS,
                f"a connection may subscribe to at most {limit} keys; it has {len(conn.keys)} "
                f"and asked for {len(new)} more: UNSUBSCRIBE keys it no longer waits for",
                frame_id=None if frame_id is None else str(frame_id),
            )))
            return
        self._hand_over(conn, keys, held)
        if self.bridge is not None:
            try:
                remote_held = self.bridge.take(keys)
            except Exception as exc:
                self._warn_redis("could not take held outcomes from Redis: %s", exc)
                remote_held = []
            if remote_held:
                with self._lock:
                    self._n.held_delivered += len(remote_held)
                self._hand_over(conn, keys, remote_held)
        if frame_id is not None:
            # After the held outcomes: "ACK" means "everything held for these keys is yours now".
            self._send(conn, protocol.encode_ack(frame_id))

    def _hand_over(self, conn: Connection, keys: List[str], texts: List[str]) -> None:
        for i, text in enumerate(texts):
            if not self._send(conn, text):
                # The subscriber vanished while we handed over: hold the rest again.
                with self._lock:
                    for rest in texts[i:]:
                        self._held.put(protocol.routing_keys(protocol.decode(rest)), rest)
                return

    def _unsubscribe(self, conn: Connection, frame: Dict[str, Any]) -> None:
        with self._lock:
            for key in frame["keys"]:
                if key in conn.keys:
                    conn.keys.discard(key)
                    self._drop_subscriber(key, conn)
        frame_id = frame.get("id")
        if frame_id is not None:
            self._send(conn, protocol.encode_ack(frame_id))

    def _outcome(self, conn: Connection, frame: Dict[str, Any], text: str) -> None:
        keys = protocol.routing_keys(frame)
        frame_id = frame.pop("id", None)
        if frame_id is not None:
            text = protocol.encode(frame)  # delivered as received, minus the id
        bridge = self.bridge
        held = False
        with self._lock:
            self._n.received += 1
            targets = self._subscribers_of(keys)
            seeds = list(self._broadcast) if self._broadcast else []
            closing = self._closing
            if targets:
                self._n.routed += len(targets)
            elif bridge is None and not closing:
                held = self._hold(keys, text)
            if seeds:
                self._n.broadcast += len(seeds)
        status = protocol.ACK_DELIVERED
        if targets:
            sent = 0
            for target in targets:
                if self._send(target, text):
                    sent += 1
            if not sent:
                status = self._hold_or_publish(keys, text)
            elif bridge is not None and self.config.broadcast and self._remote_seeds:
                self._publish(keys, text, stored=False)  # for the seed clients of other hubs
        elif bridge is not None:
            status = self._hold_or_publish(keys, text)
        elif held:
            status = protocol.ACK_HELD
        else:
            status = _GOING_AWAY if closing else _REFUSED
        for seed in seeds:
            if seed is not conn:
                self._send(seed, text)
        if status == _GOING_AWAY:
            # An ACK "held" now would be a lie: the held store dies with this process. No ACK,
            # and the connection closes: the worker sends the outcome again after reconnecting.
            log.info("hub shutting down: outcome for %s not held; its sender will resend it", keys)
            try:
                conn.peer.close(CLOSE_GOING_AWAY, "hub shutting down: send it again")
            except Exception:  # the peer may be gone already
                pass
            self.close(conn)
            return
        if frame_id is not None:
            if status == _REFUSED:
                self._send(conn, protocol.encode(protocol.error(
                    protocol.ERROR_HUB_FULL,
                    f"outcome {frame_id} was not delivered: nobody subscribed to {keys} and the "
                    f"hub already holds {self.config.max_held} outcomes / "
                    f"{self.config.max_held_bytes} bytes: retry later",
                    frame_id=str(frame_id),
                )))
            else:
                with self._lock:
                    self._n.acks += 1
                self._send(conn, protocol.encode_ack(frame_id, status))
        elif status == _REFUSED:
            log.warning("dropped outcome for %s: the held store is full", keys)

    def _hold_or_publish(self, keys: List[str], text: str) -> str:
        """No local subscriber took the outcome: store it in Redis (or hold it here)."""
        if self.bridge is not None and self._publish(keys, text, stored=True):
            return protocol.ACK_PUBLISHED
        with self._lock:
            if self._closing:
                return _GOING_AWAY
            held = self._hold(keys, text)
        return protocol.ACK_HELD if held else _REFUSED

    def _hold(self, keys: List[str], text: str) -> bool:
        """Hold an outcome here and count it as held or refused (caller holds ``_lock``)."""
        held = self._held.put(keys, text)
        if held:
            self._n.held += 1
        else:
            self._n.refused += 1
        return held

    def _publish(self, keys: List[str], text: str, *, stored: bool) -> bool:
        try:
            self.bridge.publish(keys, text, store=stored)
        except Exception as exc:
            self._warn_redis("could not publish an outcome to Redis (%s); holding outcomes "
                             "locally until it is back", exc)
            return False
        with self._lock:
            self._n.published += 1
        return True

    def _warn_redis(self, message: str, *args: Any) -> None:
        """Log a Redis problem at most every 10 s (an outage must not flood the log)."""
        now = time.monotonic()
        if now - self._redis_warned > 10.0:
            self._redis_warned = now
            log.warning(message, *args)
        else:
            log.debug(message, *args)

    # ------------------------------------------------------------------ from Redis

    def on_remote(self, outcome_id: Optional[str], keys: List[str], text: str, origin: str) -> None:
        """An outcome published on Redis (by any hub, this one included).

        If ``outcome_id`` is set the outcome is stored in Redis unclaimed: a hub with a local
        subscriber claims it atomically and delivers it; every other hub leaves it alone. Seed
        clients of the *other* hubs get a broadcast copy.
        """
        with self._lock:
            self._n.remote_received += 1
            targets = self._subscribers_of(keys) if outcome_id is not None else []
            seeds = list(self._broadcast) if (self._broadcast and origin != self.hub_id) else []
            if seeds:
                self._n.broadcast += len(seeds)
        if targets and outcome_id is not None:
            try:
                won = self.bridge.claim(outcome_id)
            except Exception as exc:
                log.warning("could not claim outcome %s on Redis: %s", outcome_id, exc)
                won = False
            if won:
                sent = sum(1 for target in targets if self._send(target, text))
                with self._lock:
                    self._n.remote_routed += sent
                if not sent:
                    self._hold_or_publish(keys, text)
        for seed in seeds:
            self._send(seed, text)

    def resync(self) -> None:
        """The Redis listener (re)subscribed: take what was stored for our subscribers meanwhile."""
        if self.bridge is None:
            return
        with self._lock:
            keys = list(self._by_key)
        for start in range(0, len(keys), 500):
            try:
                texts = self.bridge.take(keys[start:start + 500])
            except Exception as exc:
                log.warning("could not take held outcomes from Redis after reconnecting: %s", exc)
                return
            for text in texts:
                self._deliver_taken(text)

    def _deliver_taken(self, text: str) -> None:
        try:
            keys = protocol.routing_keys(protocol.decode(text))
        except ProtocolError:
            return
        with self._lock:
            targets = self._subscribers_of(keys)
            self._n.held_delivered += 1
        if not any([self._send(target, text) for target in targets]):
            self._hold_or_publish(keys, text)

    # ------------------------------------------------------------------ maintenance

    def expire(self) -> int:
        """Drop held outcomes whose TTL passed; returns how many."""
        with self._lock:
            return self._held.expire()

    def sample_rates(self) -> None:
        """Record a rate sample (the maintenance thread calls this every second)."""
        now = time.monotonic()
        with self._lock:
            sample = (now, self._n.received, self._n.routed + self._n.remote_routed)
        self._samples.append(sample)
        while len(self._samples) > 2 and now - self._samples[0][0] > _RATE_WINDOW:
            self._samples.popleft()
        first = self._samples[0]
        span = now - first[0]
        if span > 0:
            self._rates = ((sample[1] - first[1]) / span, (sample[2] - first[2]) / span)

    def _heartbeat(self) -> None:
        with self._lock:
            seeds = len(self._broadcast)
        try:
            self._remote_seeds = self.bridge.heartbeat(seeds)
        except Exception as exc:
            self._remote_seeds = True  # unsure: keep publishing broadcast copies
            log.debug("seed-client heartbeat on Redis failed: %s", exc)

    def start(self) -> "HubCore":
        """Start the maintenance thread (idempotent; restarts after a fork)."""
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return self
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="zas-hub-maintenance", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        interval = min(defaults.HUB_REAP_INTERVAL, self.config.outcome_ttl / 4)
        next_stats = time.monotonic() + self.config.stats_interval
        while not self._stop.wait(interval):
            try:
                dropped = self.expire()
                if dropped:
                    log.debug("dropped %d held outcomes at their TTL", dropped)
                self.sample_rates()
                if self.bridge is not None and self.config.broadcast:
                    self._heartbeat()
                if self.config.stats_interval and time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + self.config.stats_interval
                    log.info("%s", self.stats_line())
            except Exception:  # keep the loop alive whatever happens
                log.exception("hub maintenance failed")

    def stop(self) -> None:
        """Ask the maintenance thread to stop (see :meth:`join`)."""
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def shutdown(self, reason: str = "hub shutting down") -> None:
        """Stop the maintenance thread and close every connection with 1001 (going away).

        From here on nothing new is held in memory (it would die with the process): an outcome
        nobody takes at once gets no ACK and its sender's connection is closed, so the sender
        hands it to the next hub instead.
        """
        self.stop()
        with self._lock:
            self._closing = True
            conns = list(self._conns.values())
        for conn in conns:
            try:
                conn.peer.close(CLOSE_GOING_AWAY, reason)
            except Exception:
                pass
            self.close(conn)
        self.join(5.0)

    # ------------------------------------------------------------------ stats

    def stats(self) -> Dict[str, Any]:
        """A JSON-able snapshot: connections by role, subscriptions, held, counters, rates."""
        with self._lock:
            roles = {"client": 0, "worker": 0, "unregistered": 0}
            subscriptions = 0
            for conn in self._conns.values():
                roles[conn.role or "unregistered"] += 1
                subscriptions += len(conn.keys)
            counters = self._n.as_dict()
            held = len(self._held)
            held_bytes = self._held.bytes
            expired = self._held.expired
            keys = len(self._by_key)
            seeds = len(self._broadcast)
        received_rate, routed_rate = self._rates
        reader_threads = sum(1 for t in threading.enumerate() if t.name.startswith("zas-hub-ws"))
        return {
            "hubId": self.hub_id,
            "pid": os.getpid(),
            "uptime": round(time.monotonic() - self.started_at, 3),
            "connections": dict(roles, total=sum(roles.values()), broadcast=seeds),
            "subscriptions": subscriptions,
            "subscribedKeys": keys,
            "held": held,
            "heldBytes": held_bytes,
            "outcomes": {
                "received": counters["received"],
                "routed": counters["routed"] + counters["remote_routed"],
                "routedRemote": counters["remote_routed"],
                "broadcast": counters["broadcast"],
                "held": counters["held"],
                "heldDelivered": counters["held_delivered"],
                "expired": expired,
                "refused": counters["refused"],
                "published": counters["published"],
                "remoteReceived": counters["remote_received"],
            },
            "dropped": expired + counters["refused"],
            "acks": counters["acks"],
            "protocolErrors": counters["protocol_errors"],
            "abuseCloses": counters["abuse_closes"],
            "sendFailures": counters["send_failures"],
            "connectionsOpened": counters["connections_opened"],
            "subscriptionsClosed": counters["subscriptions_closed"],  # removed with their socket
            "rates": {
                "outcomesPerSecond": round(received_rate, 1),
                "routedPerSecond": round(routed_rate, 1),
            },
            "threads": threading.active_count(),
            "threadCapacity": self.config.threads,
            "readerThreads": reader_threads,
            "scaleOut": self.bridge is not None,
            "redisConnected": bool(self.bridge is not None and self.bridge.connected.is_set()),
            "remoteSeedClients": bool(self.bridge is not None and self._remote_seeds),
            "broadcastEnabled": self.config.broadcast,
        }

    def stats_line(self) -> str:
        """The periodic log line (the seed's ``outputStats``, with our numbers)."""
        s = self.stats()
        c = s["connections"]
        o = s["outcomes"]
        return (
            f"hub stats: {c['client']} clients, {c['worker']} workers, {c['unregistered']} "
            f"unregistered; {s['subscriptions']} subscriptions; {s['held']} held; "
            f"received {o['received']}, routed {o['routed']}, broadcast {o['broadcast']}, "
            f"dropped {s['dropped']}; {s['rates']['outcomesPerSecond']} outcomes/s; "
            f"up {s['uptime']:.0f}s"
        )
