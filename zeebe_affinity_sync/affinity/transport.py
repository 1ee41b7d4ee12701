"""The seam between the request side and a transport (the hub, or Redis pub/sub).

An inbound outcome crosses each module once: the transport's reader thread decodes it, drops a
duplicate, calls ``deliver(frame)`` (the request side, :mod:`.requests`, which wakes the waiters
and returns what it woke), then does whatever the transport owes afterwards — stop watching the
keys, confirm the delivery (the hub's RECEIPT), or apply its **late-outcome policy** when nobody
waited. Each transport owns that policy, so the hub and Redis flavours mirror each other:

* :class:`~.hub_transport.HubTransport`: a timed-out request keeps its subscription for
  ``collect_ttl``; a late outcome is kept in this process for ``collect_ttl`` *and* handed back to
  the hub under its instance key, where any process can collect it for the hub's outcome TTL.
* :class:`~.redis_transport.RedisTransport`: the reply channel of the process always hears its
  requests' outcomes; a late one is kept in this process and stored on Redis under its instance
  key (TTL ``collect_ttl``), where any process can collect it.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence

from .waiters import Waiter

__all__ = ["Transport", "Deliver", "SeenSet"]

#: ``deliver(frame)`` -> the waiters the outcome completed (empty: nobody waited, it came late).
Deliver = Callable[[Dict[str, Any]], List[Waiter]]


class Transport:
    """How outcomes reach this process and how a relay worker hands one over.

    The methods called by request threads must not block for long (``watch`` with ``collect``
    may wait for one confirmation round trip). ``deliver`` (given to the constructor of a
    concrete transport) is called on the transport's reader thread with each outcome frame.
    """

    #: Where the transport connects to, for messages.
    target = ""
    #: Why the last connection attempt failed (``None`` if it did not).
    last_error: Optional[str] = None
    #: The server refused us for good (e.g. HTTP 401/403/404 on the upgrade): do not wait.
    refused = False

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, timeout: float) -> None:
        raise NotImplementedError

    def wait_ready(self, timeout: Optional[float]) -> bool:
        """Block until outcomes can flow (True), or ``timeout`` seconds passed / refused (False)."""
        raise NotImplementedError

    def watch(self, keys: Sequence[str], *, collect: bool = False, timeout: float = 0.0) -> Optional[Dict[str, Any]]:
        """Start routing outcomes for ``keys`` here.

        Args:
            keys: Routing keys (request ids, or an instance key when ``collect``).
            collect: Also look for an outcome already stored for the keys (``get_outcome``); may
                wait up to ``timeout`` seconds for the subscription to be confirmed first.

        Returns:
            A stored outcome frame found while collecting, else ``None``.
        """
        raise NotImplementedError

    def unwatch(self, keys: Sequence[str]) -> None:
        """Stop routing outcomes for ``keys`` here (the request gave up or was answered)."""
        raise NotImplementedError

    def linger(self, keys: Sequence[str], ttl: float) -> None:
        """A request timed out: keep hearing its outcome for ``ttl`` seconds (late-outcome policy).

        The default stops watching at once; a transport that keeps a watch overrides it.
        """
        self.unwatch(keys)

    def publish_outcome(self, frame: Dict[str, Any], timeout: float) -> None:
        """Hand an outcome over; return only once it is delivered or safely stored.

        Raises:
            AffinityUnavailable: it could not be handed over within ``timeout`` seconds.
        """
        raise NotImplementedError

    def new_request_id(self) -> str:
        return uuid.uuid4().hex


class SeenSet:
    """A bounded memory of ids already handled (delivery ids, answered request ids).

    Used by the reader thread to drop duplicate outcomes: the hub sends a stored outcome again
    on every re-subscribe until it is receipted, and a relay worker whose ACK was lost sends it
    twice. Oldest ids are forgotten first (count bound) and after ``ttl`` seconds.
    """

    def __init__(self, max_size: int, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max(1, int(max_size))
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._ids: "OrderedDict[str, float]" = OrderedDict()  # id -> expiry; guarded by _lock

    def add(self, value: str) -> bool:
        """Remember ``value``; False if it was already there (a duplicate)."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            if value in self._ids:
                return False
            self._ids[value] = now + self._ttl
            while len(self._ids) > self._max:
                self._ids.popitem(last=False)
            return True

    def __contains__(self, value: object) -> bool:
        with self._lock:
            self._expire(self._clock())
            return value in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def _expire(self, now: float) -> None:
        while self._ids:
            key, expiry = next(iter(self._ids.items()))
            if expiry > now:
                break
            del self._ids[key]
