"""The hub's counters, rates and periodic maintenance loop (routing itself is in :mod:`.core`).

- :class:`Counters`: monotonic counters, bumped by the core under its routing lock.
- :class:`RateMeter`: outcomes/s over a short window, sampled by the maintenance thread.
- :class:`Maintenance`: the background loop (expire stored outcomes, sample rates, Redis
  heartbeat, the periodic stats log line), with ``start()``/``stop()``/``join()``.
"""
from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import Any, Callable, Deque, Dict, Optional, Tuple

__all__ = ["Counters", "RateMeter", "Maintenance", "MaintenanceMixin", "RATE_WINDOW", "snapshot",
           "stats_line"]

log = logging.getLogger(__name__)

RATE_WINDOW = 5.0  # s, rates in /stats are averaged over this window


class Counters:
    """Monotonic counters; guarded by HubCore._lock."""

    __slots__ = ("received", "routed", "broadcast", "held", "held_delivered", "refused",
                 "acks", "protocol_errors", "abuse_closes", "send_failures", "remote_received",
                 "remote_routed", "published", "connections_opened", "subscriptions_closed",
                 "receipts", "redelivered", "bad_outcomes", "queue_full_drops")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> Dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class RateMeter:
    """Rates of two counters over :data:`RATE_WINDOW` seconds.

    Samples are owned by the maintenance thread; :attr:`rates` is replaced whole, so readers
    need no lock.
    """

    def __init__(self) -> None:
        self._samples: Deque[Tuple[float, int, int]] = collections.deque()
        self.rates = (0.0, 0.0)

    def sample(self, now: float, first_count: int, second_count: int) -> None:
        sample = (now, first_count, second_count)
        self._samples.append(sample)
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        first = self._samples[0]
        span = now - first[0]
        if span > 0:
            self.rates = ((sample[1] - first[1]) / span, (sample[2] - first[2]) / span)


class Maintenance:
    """The periodic loop of one hub process: calls ``tick`` every ``interval`` seconds.

    Args:
        tick: The work of one round (expiry, rates, heartbeat, stats line); exceptions it
            raises are logged and the loop goes on.
        interval: Seconds between rounds.
        name: Thread name.
    """

    def __init__(self, tick: Callable[[], None], interval: float,
                 name: str = "zeebe-hub-maintenance") -> None:
        self._tick = tick
        self.interval = interval
        self.name = name
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._pid = os.getpid()

    def start(self) -> None:
        """Start the thread (idempotent; starts a new one after a fork)."""
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - a background loop must survive any bug in a round
                log.exception("hub maintenance failed")

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


class MaintenanceMixin:
    """The periodic work of :class:`~zeebe_affinity_sync.hub.core.HubCore` and its thread's
    ``start()``/``stop()``/``join()`` (needs the attributes HubCore sets in ``__init__``)."""

    _lock: Any
    _held: Any
    _n: Any
    _rates: RateMeter
    _maintenance: Maintenance
    _next_stats: float
    bridge: Any
    config: Any
    _heartbeat: Callable[[], None]  # RemoteMixin
    hand_held_to_redis: Callable[[], int]  # RemoteMixin
    stats_line: Callable[[], str]  # HubCore

    def expire(self) -> int:
        """Drop stored outcomes whose TTL passed; returns how many."""
        with self._lock:
            return self._held.expire()

    def sample_rates(self) -> None:
        """Record a rate sample (the maintenance thread calls this every second)."""
        with self._lock:
            received, routed = self._n.received, self._n.routed + self._n.remote_routed
        self._rates.sample(time.monotonic(), received, routed)

    def _tick(self) -> None:
        dropped = self.expire()
        if dropped:
            log.debug("dropped %d stored outcomes at their TTL", dropped)
        self.sample_rates()
        self.hand_held_to_redis()  # what a failed Redis call left in memory
        if self.bridge is not None and self.config.broadcast:
            self._heartbeat()
        if self.config.stats_interval:
            now = time.monotonic()
            if not self._next_stats:
                self._next_stats = now + self.config.stats_interval
            elif now >= self._next_stats:
                self._next_stats = now + self.config.stats_interval
                log.info("%s", self.stats_line())

    def start(self) -> Any:
        """Start the maintenance thread (idempotent; restarts after a fork)."""
        self._maintenance.start()
        return self

    def stop(self) -> None:
        """Ask the maintenance thread to stop (see :meth:`join`)."""
        self._maintenance.stop()

    def join(self, timeout: Optional[float] = None) -> None:
        self._maintenance.join(timeout)


def snapshot(core: Any) -> Dict[str, Any]:
    """``/stats`` of a :class:`~zeebe_affinity_sync.hub.core.HubCore` (read under its lock)."""
    with core._lock:
        roles = {"client": 0, "worker": 0, "unregistered": 0}
        subscriptions = 0
        receipt_conns = 0
        for conn in core._conns.values():
            roles[conn.counted_role] += 1
            subscriptions += len(conn.keys)
            receipt_conns += conn.receipts
        counters = core._n.as_dict()
        held = len(core._held)
        held_bytes = core._held.bytes
        expired = core._held.expired
        receipted = core._held.receipted
        evicted = core._held.evicted
        keys = len(core._by_key)
        seeds = len(core._broadcast)
    received_rate, routed_rate = core._rates.rates
    stats = {
        "hubId": core.hub_id,
        "pid": os.getpid(),
        "uptime": round(time.monotonic() - core.started_at, 3),
        "connections": dict(roles, total=sum(roles.values()), broadcast=seeds,
                            receipts=receipt_conns),
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
            "redelivered": counters["redelivered"],
            "receipted": receipted,
            "evicted": evicted,  # awaiting a receipt, dropped early to make room
            "expired": expired,
            "refused": counters["refused"],
            "published": counters["published"],
            "remoteReceived": counters["remote_received"],
            "badOutcomes": counters["bad_outcomes"],
        },
        "dropped": expired + counters["refused"],
        "acks": counters["acks"],
        "receipts": counters["receipts"],
        "protocolErrors": counters["protocol_errors"],
        "abuseCloses": counters["abuse_closes"],
        "sendFailures": counters["send_failures"],
        "slowPeerDrops": counters["queue_full_drops"],
        "connectionsOpened": counters["connections_opened"],
        "subscriptionsClosed": counters["subscriptions_closed"],  # removed with their socket
        "rates": {
            "outcomesPerSecond": round(received_rate, 1),
            "routedPerSecond": round(routed_rate, 1),
        },
        "threads": threading.active_count(),
        "threadCapacity": core.config.threads,
        "scaleOut": core.bridge is not None,
        "redisConnected": bool(core.bridge is not None and core.bridge.connected.is_set()),
        "remoteSeedClients": bool(core.bridge is not None and core._remote_seeds),
        "broadcastEnabled": core.config.broadcast,
    }
    if core.extra_stats is not None:
        stats.update(core.extra_stats())
    return stats


def stats_line(s: Dict[str, Any]) -> str:
    """The periodic log line (the seed's ``outputStats``, with our numbers) of a snapshot."""
    c = s["connections"]
    o = s["outcomes"]
    return (
        f"hub stats: {c['client']} clients, {c['worker']} workers, {c['unregistered']} "
        f"unregistered; {s['subscriptions']} subscriptions; {s['held']} stored; "
        f"received {o['received']}, routed {o['routed']}, broadcast {o['broadcast']}, "
        f"dropped {s['dropped']}; {s['rates']['outcomesPerSecond']} outcomes/s; "
        f"up {s['uptime']:.0f}s"
    )
