"""The routing core's Redis side (scale-out): store, publish, claim, take, hand over.

A mixin of :class:`~zeebe_affinity_sync.hub.core.HubCore`: the same lock and counters, kept in a
module of its own so routing on one hub (core.py) and routing across hubs (here) each read in
one place. Every bridge call happens outside the core's lock; what Redis raises is caught as the
bridge's ``ERRORS`` and logged at most every 10 s (:meth:`RemoteMixin._warn_redis`).
"""
from __future__ import annotations

import logging
import time
from typing import Any, List, Optional

from .. import defaults


__all__ = ["RemoteMixin"]

log = logging.getLogger(__name__)


class RemoteMixin:
    """Redis paths of the hub core (needs the attributes HubCore sets in ``__init__``)."""

    _lock: Any
    _n: Any
    _held: Any
    bridge: Any
    hub_id: str
    _redis_errors: Any
    _redis_warned: float
    _remote_seeds: bool
    _broadcast: Any
    _handover_lock: Any

    def _store_remote(self, delivery_id: str, keys: List[str], text: str) -> bool:
        try:
            self.bridge.store(delivery_id, keys, text)
            return True
        except self._redis_errors as exc:  # redis errors; stored locally instead
            self._warn_redis("could not store an outcome on Redis (%s); keeping it locally", exc)
            return False

    def _publish(self, keys: List[str], text: str, delivery_id: Optional[str]) -> bool:
        """Publish to all hubs; with a ``delivery_id`` also store it, claimable, in Redis."""
        try:
            self.bridge.publish(keys, text, outcome_id=delivery_id)
        except self._redis_errors as exc:  # redis errors; held locally instead
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
        """An outcome published on Redis by any hub (called on a bridge dispatcher thread).

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
        data = text.encode("utf-8", "backslashreplace")
        if targets and outcome_id is not None:
            keep = any(t.receipts for t in targets)
            try:
                won = self.bridge.claim(outcome_id, consume=not keep)
            except self._redis_errors as exc:  # redis errors; it stays stored for a take
                self._warn_redis("could not claim outcome %s on Redis: %s", outcome_id, exc)
                won = False
            if won:
                sent = self._deliver(targets, keys, text, data, outcome_id)
                with self._lock:
                    self._n.remote_routed += sent
                if not sent and not keep:
                    self._hold_or_publish(keys, text, outcome_id)
        for seed in seeds:
            self._send(seed, data)

    def resync(self) -> None:
        """The Redis listener (re)subscribed: hand what this hub kept in memory while Redis was
        unreachable to Redis, then take what was stored for our subscribers meanwhile."""
        if self.bridge is None:
            return
        self._push_local_to_redis()
        with self._lock:
            by_kind = {True: [], False: []}  # type: Dict[bool, List[str]]
            for key, subs in self._by_key.items():
                by_kind[any(s.receipts for s in subs)].append(key)
        for keep, keys in by_kind.items():
            for start in range(0, len(keys), 500):
                try:
                    items = self.bridge.take(keys[start:start + 500], keep=keep)
                except self._redis_errors as exc:  # redis errors; retried on next resync
                    log.warning("could not take stored outcomes from Redis after reconnecting: %s",
                                exc)
                    return
                for delivery_id, text in items:
                    self._deliver_taken(delivery_id, text, keep)

    def _push_local_to_redis(self, wait: float = defaults.HUB_REDIS_HANDOVER_WAIT) -> int:
        """Hand what this hub holds in memory to Redis, where every hub finds it; returns how
        many outcomes moved.

        In Redis mode the hub holds an outcome in memory only when Redis failed it (a store, a
        publish). That may be one failed call while the listener stayed connected, so this runs
        not only on a resync but on every maintenance tick that finds something held, and once
        more at shutdown, when memory is about to go. Oldest first, one at a time: each is
        checked out of the store while it is handed over, and the first one Redis refuses goes
        back as it was (same expiry) with everything after it left in place.
        """
        # one at a time; waiting for a running one at most ``wait`` s (0: not at all)
        if not self._handover_lock.acquire(timeout=wait):
            return 0  # still running: it, or the next tick, takes care of everything
        try:
            with self._lock:
                entries = self._held.pending()
            moved = 0
            for entry in entries:
                with self._lock:
                    if not self._held.check_out(entry):
                        continue  # taken, receipted or expired meanwhile
                keys = list(entry.keys)
                try:
                    if entry.awaiting_receipt:
                        self.bridge.store(entry.delivery_id, keys, entry.text)
                    else:
                        self.bridge.publish(keys, entry.text, outcome_id=entry.delivery_id)
                except self._redis_errors as exc:  # redis errors: keep it and the rest here
                    with self._lock:
                        self._held.check_in(entry)
                    self._warn_redis("could not hand outcomes held here to Redis (%s); keeping "
                                     "them until it takes them", exc)
                    break
                moved += 1
        finally:
            self._handover_lock.release()
        if moved:
            log.info("handed %d outcomes held in memory (Redis had failed them) to Redis", moved)
        return moved

    def hand_held_to_redis(self, *, final: bool = False) -> int:
        """The maintenance tick's (and, with ``final``, the shutdown's) hand-over of what is
        held in memory; a no-op without Redis or with nothing held. ``final`` tries even within
        the bridge's back-off after a failure: it is the last chance."""
        if self.bridge is None or not len(self._held):  # len: a racy read is fine here
            return 0
        if final:
            self.bridge.forget_failure()
            return self._push_local_to_redis()
        if not self.bridge.connected.is_set():
            return 0  # the resync after the listener reconnects does it
        return self._push_local_to_redis(wait=0)  # the tick never waits for another hand-over

    def _deliver_taken(self, delivery_id: str, text: str, kept: bool) -> None:
        info = self._requeue_info(text)
        if info is None:
            return
        keys = info[0]
        with self._lock:
            targets = self._subscribers_of(keys)
            self._n.held_delivered += 1
        sent = self._deliver(targets, keys, text, text.encode("utf-8", "backslashreplace"),
                             delivery_id)
        if not sent and not kept:
            self._hold_or_publish(keys, text, delivery_id)

    def _heartbeat(self) -> None:
        with self._lock:
            seeds = len(self._broadcast)
        try:
            self._remote_seeds = self.bridge.heartbeat(seeds)
        except self._redis_errors as exc:  # redis errors
            self._remote_seeds = True  # unsure: keep publishing broadcast copies
            log.debug("seed-client heartbeat on Redis failed: %s", exc)
