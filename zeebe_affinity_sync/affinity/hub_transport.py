"""The hub flavour of :class:`~.transport.Transport`: routing keys are hub subscriptions.

What happens to one inbound outcome (reader thread, once through each step):

1. a duplicate is dropped: a ``deliveryId`` seen before (the hub sends a stored outcome again on
   every re-subscribe until it is receipted), or the request id of a request already answered
   (a relay worker whose ACK was lost sent it twice). A dropped duplicate is receipted again, so
   the hub stops sending it;
2. ``deliver(frame)`` wakes the waiters (:mod:`.requests`);
3. answered: their keys are unsubscribed; nobody waited (late): the **late-outcome policy**
   below; either way a ``RECEIPT`` for its ``deliveryId`` follows — only now, once the outcome is
   in a waiter's hands or in this process's collect-later store.

Late-outcome policy (issue 13, README "Collect-later"): a request that timed out keeps its
subscription for ``collect_ttl`` (:meth:`HubTransport.linger`, at most ``max_lingering`` keys and
half the hub's ``maxSubscriptions``, oldest dropped first). Its late outcome then arrives *here*: the waiter registry keeps it for
``collect_ttl`` (``get_outcome`` in this process returns it), and it is handed back to the hub
without its request id, routed by its instance key only, so the hub holds it (``--outcome-ttl``)
for ``get_outcome`` in any other process. Outcomes without a request id are never handed back, so
nothing can loop.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

from .. import defaults, protocol
from .hub_connection import HubConnection
from .outcome import request_id_of
from .transport import Deliver, SeenSet, Transport
from .waiters import WaiterRegistry

__all__ = ["HubTransport"]

logger = logging.getLogger(__name__)


class HubTransport(Transport):
    """One :class:`HubConnection` per process; outcomes are handed over with an ACK."""

    def __init__(
        self,
        url: str,
        *,
        deliver: Deliver,
        registry: WaiterRegistry,
        max_seen: int = defaults.AFFINITY_MAX_SEEN,
        seen_ttl: float = defaults.AFFINITY_COLLECT_TTL,
        max_lingering: int = defaults.AFFINITY_MAX_LINGERING,
        **connection_options: Any,
    ) -> None:
        self._deliver = deliver
        self._registry = registry
        self._seen = SeenSet(max_seen, max(seen_ttl, 1.0))  # delivery ids and answered request ids
        self._max_lingering = max(0, int(max_lingering))
        self._linger_lock = threading.Lock()
        # timed-out request id -> expiry (time.monotonic()); guarded by _linger_lock
        self._lingering: "OrderedDict[str, float]" = OrderedDict()
        self.connection = HubConnection(
            url,
            on_outcome=self._on_outcome,
            pending_keys=self._pending_keys,
            is_pending=self._is_pending,
            receipts=True,
            **connection_options,
        )
        self.target = url

    # ------------------------------------------------------------------ reader thread

    def _on_outcome(self, frame: Dict[str, Any]) -> None:
        delivery_id = frame.get("deliveryId")
        delivery_id = str(delivery_id) if delivery_id else None
        request_id = request_id_of(frame)
        if (delivery_id is not None and delivery_id in self._seen) or (
            request_id is not None and request_id in self._seen
        ):
            logger.debug("dropping a duplicate outcome (delivery %s, request %s)", delivery_id, request_id)
            if delivery_id is not None:
                self.connection.receipt([delivery_id])
            return
        woken = self._deliver(frame)
        for waiter in woken:
            self.connection.unsubscribe(waiter.keys)
        if request_id is not None:
            self._stop_lingering(request_id)
            self._seen.add(request_id)
            if not woken:
                self._hand_back(frame)
        if delivery_id is not None:
            self._seen.add(delivery_id)
            self.connection.receipt([delivery_id])

    def _stop_lingering(self, request_id: str) -> None:
        with self._linger_lock:
            lingered = self._lingering.pop(request_id, None) is not None
        if lingered:
            self.connection.unsubscribe([request_id])

    def _hand_back(self, frame: Dict[str, Any]) -> None:
        """Nobody waits any more (the registry kept it here): a copy for other processes."""
        self.connection.send(protocol.process_outcome(
            frame["processInstanceKey"], frame.get("variables") or {},
            status=frame.get("status") or protocol.STATUS_OK,
        ))

    # ------------------------------------------------------------------ keys to (re-)subscribe

    def _pending_keys(self) -> List[str]:
        self._expire_lingering()
        with self._linger_lock:
            lingering = list(self._lingering)
        return list(dict.fromkeys(self._registry.pending_keys() + lingering))

    def _is_pending(self, key: str) -> bool:
        if self._registry.is_pending(key):
            return True
        with self._linger_lock:
            expiry = self._lingering.get(key)
        return expiry is not None and expiry > time.monotonic()

    def _lingering_limit(self) -> int:
        """At most half of what the hub lets one connection subscribe to (its HELLO says), so
        lingering watches never crowd out the subscriptions of new requests."""
        hub_limit = self.connection.hub_hello.get("maxSubscriptions")
        if isinstance(hub_limit, int) and not isinstance(hub_limit, bool) and hub_limit > 0:
            return min(self._max_lingering, hub_limit // 2)
        return self._max_lingering

    def _expire_lingering(self) -> None:
        now = time.monotonic()
        limit = self._lingering_limit()
        expired: List[str] = []
        with self._linger_lock:
            while self._lingering:
                key, expiry = next(iter(self._lingering.items()))
                if expiry > now and len(self._lingering) <= limit:
                    break
                del self._lingering[key]
                expired.append(key)
        if expired:
            self.connection.unsubscribe(expired)

    @property
    def lingering_count(self) -> int:
        """Timed-out requests still listening for their late outcome."""
        with self._linger_lock:
            return len(self._lingering)

    # ------------------------------------------------------------------ Transport

    @property  # type: ignore[override]
    def last_error(self) -> Optional[str]:
        return self.connection.last_error

    @property  # type: ignore[override]
    def refused(self) -> bool:
        return self.connection.refused

    def start(self) -> None:
        self.connection.start()

    def stop(self, timeout: float) -> None:
        self.connection.stop(timeout)

    def wait_ready(self, timeout: Optional[float]) -> bool:
        return self.connection.wait_connected(timeout)

    def watch(self, keys: Sequence[str], *, collect: bool = False, timeout: float = 0.0) -> Optional[Dict[str, Any]]:
        self._expire_lingering()  # activity is when old lingering watches are let go
        if collect:
            # get_outcome: wait until what the hub holds for the keys is here (one round trip)
            self.connection.subscribe_confirmed(keys, timeout)
            return None
        # No confirmation round trip for a new request: the hub handles one connection's frames
        # in order and holds outcomes that arrive before any subscription, handing them to the
        # first subscriber.
        self.connection.subscribe(keys)
        return None

    def unwatch(self, keys: Sequence[str]) -> None:
        self.connection.unsubscribe(keys)

    def linger(self, keys: Sequence[str], ttl: float) -> None:
        if self._max_lingering <= 0:
            self.unwatch(keys)
            return
        expiry = time.monotonic() + ttl
        with self._linger_lock:
            for key in keys:
                self._lingering.pop(key, None)
                self._lingering[key] = expiry
        self._expire_lingering()  # also enforces max_lingering (oldest first)

    def publish_outcome(self, frame: Dict[str, Any], timeout: float) -> None:
        self.connection.publish_outcome(frame, timeout)
