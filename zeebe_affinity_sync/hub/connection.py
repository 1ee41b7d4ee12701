"""One connection as the routing core sees it, and what the core needs from its transport."""
from __future__ import annotations

import itertools
import logging
import time
from typing import Any, Dict, List, Optional, Protocol, Set, Tuple

from .. import defaults, protocol

__all__ = ["Peer", "Connection", "ConnectionsMixin", "Requeue", "ROLE_CLIENT", "ROLE_WORKER"]

log = logging.getLogger(__name__)

ROLE_CLIENT = "client"
ROLE_WORKER = "worker"

#: What a peer's queue keeps beside an outcome sent to a seed (legacy) subscriber, so that if the
#: connection dies before the frame is written the outcome is held again: (keys, frame text).
Requeue = Tuple[List[str], str]


class Peer(Protocol):
    """What the core needs from a connection's transport. No method may block."""

    def send(self, data: bytes, requeue: Optional[Requeue] = None) -> bool:
        """Queue one UTF-8 text frame; ``False`` if the queue is full or the peer is gone."""

    def close(self, code: int, reason: str) -> None:
        """Ask for a close handshake with this code (done by the connection's own thread)."""

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake."""


class Connection:
    """The core's view of one connection. Fields are guarded by the core's lock."""

    __slots__ = ("id", "peer", "remote", "role", "hello_role", "keys", "subscribed", "errors",
                 "closed", "opened_at", "version", "receipts")

    def __init__(self, conn_id: int, peer: Peer, remote: str) -> None:
        self.id = conn_id
        self.peer = peer
        self.remote = remote
        self.role: Optional[str] = None  # from REGISTER_CLIENT / REGISTER_WORKER
        self.hello_role: Optional[str] = None  # from HELLO; wins over role in /stats
        self.keys: Set[str] = set()
        self.subscribed = False  # ever subscribed: then no broadcast copies
        self.errors = 0
        self.closed = False
        self.opened_at = time.time()
        self.version: Optional[int] = None
        self.receipts = False  # its HELLO said "receipts": true (contract C1)

    @property
    def counted_role(self) -> str:
        return self.hello_role or self.role or "unregistered"

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.counted_role} {self.remote}>"


class ConnectionsMixin:
    """The connection table of :class:`~zeebe_affinity_sync.hub.core.HubCore`: open, close,
    who subscribes to what, and shutdown (needs the attributes HubCore sets in ``__init__``)."""

    _lock: Any
    _closed_cond: Any
    _conns: Dict[int, Connection]
    _by_key: Dict[str, Set[Connection]]
    _broadcast: Set[Connection]
    _closing: bool
    _ids: "itertools.count[int]"
    _n: Any
    _capacity_warned: float
    config: Any
    stop: Any
    join: Any
    _hold_or_publish: Any
    _new_delivery_id: Any
    hand_held_to_redis: Any  # RemoteMixin

    def open(self, peer: Peer, remote: str = "") -> Connection:
        """Register a new connection (the transport then sends it :attr:`hello_text`)."""
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

    def close(self, conn: Connection) -> bool:
        """Forget a connection and all its subscriptions (idempotent: ``True`` from the call
        that closed it, ``False`` from any later one).

        What awaits this connection's receipt stays stored: it gets it again when it (or its
        successor after a reconnect) subscribes again.
        """
        with self._lock:
            if conn.closed:
                return False
            conn.closed = True
            self._conns.pop(conn.id, None)
            self._broadcast.discard(conn)
            self._n.subscriptions_closed += len(conn.keys)
            for key in conn.keys:
                self._drop_subscriber(key, conn)
            conn.keys.clear()
            self._closed_cond.notify_all()
        return True

    def requeue(self, items: List[Requeue]) -> None:
        """Outcomes queued to a seed subscriber whose connection died before they were written:
        hold them again for its re-subscribe (the transport calls this)."""
        for keys, text in items:
            self._hold_or_publish(keys, text, self._new_delivery_id())

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

    def shutdown(self, reason: str = "hub shutting down",
                 timeout: float = defaults.HUB_SHUTDOWN_TIMEOUT) -> None:
        """Stop the maintenance thread and close every connection with 1001 (going away).

        Each connection's own thread sends its close, all at once; whatever has not closed
        after ``timeout`` seconds is dropped. From here on nothing new is held in memory (it
        would die with the process): an outcome nobody takes at once gets no ACK and its
        sender's connection is closed, so the sender hands it to the next hub instead.
        """
        self.stop()
        with self._lock:
            self._closing = True
            conns = list(self._conns.values())
        for conn in conns:
            conn.peer.close(protocol.CLOSE_GOING_AWAY, reason)
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(not c.closed for c in conns):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._closed_cond.wait(min(left, 0.2))
            stuck = [c for c in conns if not c.closed]
        for conn in stuck:
            conn.peer.abort()
            self.close(conn)
        self.join(5.0)
        # In Redis mode, what a failed Redis call left in memory would die with this process
        self.hand_held_to_redis(final=True)
