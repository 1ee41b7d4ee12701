"""Outcomes the hub keeps for a subscriber: a TTL store bounded in count and in bytes.

Two kinds of entry live here, both under *all* the outcome's routing keys:

- **held**: the outcome arrived before anyone subscribed to any of its keys. A legacy (seed)
  subscriber takes it (removed under every key: handed over once); a receipt-capable subscriber
  gets a copy and the entry becomes *awaiting receipt*.
- **awaiting receipt**: the outcome was handed to a connection that said ``"receipts": true``.
  It stays until a ``RECEIPT`` names its delivery id (from any connection), the subscriber
  ``UNSUBSCRIBE``-s one of its keys, or the TTL (counted from arrival) passes; every new
  ``SUBSCRIBE`` to one of its keys gets it again, same delivery id.

The store is not thread-safe on its own: :class:`~zeebe_affinity_sync.hub.core.HubCore` calls it
only while holding its routing lock, so that "nobody subscribed, hold it" and "subscribe, take
what is held" can never interleave.
"""
from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

__all__ = ["HeldOutcome", "HeldStore"]


class HeldOutcome:
    """One stored outcome: its frame text (without deliveryId), keys and delivery id."""

    __slots__ = ("seq", "keys", "text", "delivery_id", "size", "expires_at", "awaiting_receipt")

    def __init__(self, seq: int, keys: Tuple[str, ...], text: str, delivery_id: str,
                 size: int, expires_at: float) -> None:
        self.seq = seq
        self.keys = keys
        self.text = text
        self.delivery_id = delivery_id
        self.size = size
        self.expires_at = expires_at
        self.awaiting_receipt = False


class HeldStore:
    """Stored outcomes by routing key and by delivery id, oldest first, bounded.

    Args:
        ttl: Seconds an outcome is kept (from when it was stored).
        max_count: Most outcomes stored at once; :meth:`put` refuses beyond it.
        max_bytes: Most UTF-8 bytes of frame text stored at once; :meth:`put` refuses beyond it.
        clock: Monotonic clock (seconds), replaceable in unit tests.
    """

    def __init__(
        self,
        ttl: float,
        max_count: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = float(ttl)
        self.max_count = int(max_count)
        self.max_bytes = int(max_bytes)
        self._clock = clock
        self._seq = itertools.count(1)
        # All guarded by the caller's lock (HubCore._lock); insertion order == expiry order.
        self._entries: "OrderedDict[int, HeldOutcome]" = OrderedDict()
        # key -> the one entry stored under it, or a list of them (oldest first) when several:
        # nearly every key has one, and a list per key costs more than the rest of put()
        self._by_key: Dict[str, Union[HeldOutcome, List[HeldOutcome]]] = {}
        self._by_delivery: Dict[str, HeldOutcome] = {}
        # The awaiting-receipt subset, oldest first: evicted first when the store is full, since
        # each was handed over at least once (an unsubscribed outcome never was).
        self._awaiting: "OrderedDict[int, HeldOutcome]" = OrderedDict()
        self._bytes = 0
        # when the oldest entry expires (+inf when empty); may be early (the oldest was removed
        # since), never late: put() calls expire() only once it has passed
        self._next_expiry = float("inf")
        self.expired = 0  # outcomes dropped at their TTL, ever
        self.receipted = 0  # outcomes removed by a RECEIPT or an UNSUBSCRIBE, ever
        self.evicted = 0  # awaiting-receipt outcomes dropped early to make room, ever

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """UTF-8 bytes of frame text stored right now."""
        return self._bytes

    def put(self, keys: Sequence[str], text: str, delivery_id: Optional[str] = None,
            size: Optional[int] = None, *, awaiting_receipt: bool = False) -> bool:
        """Store ``text`` under every key in ``keys``.

        Args:
            keys: The outcome's routing keys.
            text: The frame text, without ``deliveryId``.
            delivery_id: The outcome's delivery id (unique across hubs); default a local one.
            size: ``len(text.encode("utf-8"))`` if the caller has it already (computed if not).
            awaiting_receipt: Already handed to a receipt-capable subscriber.

        Returns:
            ``True`` if stored; ``False`` if the count or byte bound would be exceeded even after
            evicting every awaiting-receipt outcome (oldest first; each was handed over at least
            once): the caller reports the outcome as refused, it is *not* stored.
        """
        now = self._clock()
        entries = self._entries
        if now >= self._next_expiry:
            self.expire()
        if size is None:
            size = len(text.encode("utf-8", "surrogatepass"))
        if self._full(size):
            while self._awaiting and self._full(size):
                self._remove(next(iter(self._awaiting.values())))
                self.evicted += 1
            if self._full(size):
                return False
        seq = next(self._seq)
        if delivery_id is None:
            delivery_id = f"held-{seq}"
        entry_keys = tuple(keys)
        if len(entry_keys) > 2 or (len(entry_keys) == 2 and entry_keys[0] == entry_keys[1]):
            entry_keys = tuple(dict.fromkeys(entry_keys))  # (routing_keys gives them unique)
        entry = HeldOutcome(seq, entry_keys, text, delivery_id, size, now + self.ttl)
        if not entries:
            self._next_expiry = entry.expires_at  # the oldest entry expires first
        entries[seq] = entry
        if awaiting_receipt:
            entry.awaiting_receipt = True
        self._index(entry, oldest=False)
        return True

    def take(self, keys: Iterable[str], *, keep: bool) -> List[HeldOutcome]:
        """The outcomes (oldest first) stored under any of ``keys``.

        Args:
            keys: The keys subscribed.
            keep: ``True`` for a receipt-capable subscriber: entries stay (now awaiting its
                receipt); ``False`` for a legacy one: entries are removed (handed over once).
        """
        if not self._by_key:
            return []
        found: Dict[int, HeldOutcome] = {}
        for key in keys:
            for entry in self._under(key):
                found[entry.seq] = entry
        if not found:
            return []
        now = self._clock()
        taken = []
        for seq in sorted(found):
            entry = found[seq]
            if entry.expires_at <= now:
                self._remove(entry)
                self.expired += 1
                continue
            if keep:
                self._mark_awaiting(entry)
            else:
                self._remove(entry)
            taken.append(entry)
        return taken

    def receipt(self, delivery_ids: Iterable[str]) -> int:
        """Remove the outcomes with these delivery ids (unknown ids are ignored); how many."""
        removed = 0
        for delivery_id in delivery_ids:
            entry = self._by_delivery.get(delivery_id)
            if entry is not None:
                self._remove(entry)
                removed += 1
        self.receipted += removed
        return removed

    def release(self, keys: Iterable[str]) -> int:
        """A subscriber gave up these keys: drop what awaits a receipt under them; how many."""
        removed = 0
        for key in keys:
            for entry in self._under(key):
                if entry.awaiting_receipt:
                    self._remove(entry)
                    removed += 1
        self.receipted += removed
        return removed

    def get(self, delivery_id: str) -> Optional[HeldOutcome]:
        return self._by_delivery.get(delivery_id)

    def pending(self) -> List[HeldOutcome]:
        """Everything not yet expired, oldest first, left in place (see :meth:`check_out`)."""
        self.expire()
        return list(self._entries.values())

    def check_out(self, entry: HeldOutcome) -> bool:
        """Remove ``entry`` to hand it elsewhere (Redis); ``False`` if it is no longer stored
        (taken, receipted or expired since :meth:`pending`)."""
        if self._entries.get(entry.seq) is not entry:
            return False
        self._remove(entry)
        return True

    def check_in(self, entry: HeldOutcome) -> None:
        """Put back an entry :meth:`check_out` removed (the hand-over failed) as the *oldest*
        one, with its own expiry: callers hand entries over oldest first and stop at the first
        failure, so everything older is gone. It is put back even if the store filled up in
        the meantime (one entry over the bound at most): it was counted when it came in."""
        if entry.seq in self._entries or entry.expires_at <= self._clock():
            return
        self._entries[entry.seq] = entry
        self._entries.move_to_end(entry.seq, last=False)
        self._index(entry, oldest=True)
        self._next_expiry = min(self._next_expiry, entry.expires_at)

    def expire(self) -> int:
        """Drop the outcomes whose TTL passed; returns how many were dropped."""
        now = self._clock()
        dropped = 0
        entries = self._entries
        while entries:
            entry = next(iter(entries.values()))
            if entry.expires_at > now:
                break
            self._remove(entry)
            dropped += 1
        self._next_expiry = next(iter(entries.values())).expires_at if entries else float("inf")
        self.expired += dropped
        return dropped

    def _full(self, size: int) -> bool:
        return len(self._entries) >= self.max_count or self._bytes + size > self.max_bytes

    def _mark_awaiting(self, entry: HeldOutcome) -> None:
        entry.awaiting_receipt = True
        self._awaiting[entry.seq] = entry

    def _index(self, entry: HeldOutcome, *, oldest: bool) -> None:
        """Count and index an entry just put in ``_entries``: as the newest (``put``) or, with
        ``oldest``, as the oldest (``check_in``), so every index stays oldest first."""
        if entry.awaiting_receipt:
            self._awaiting[entry.seq] = entry
            if oldest:
                self._awaiting.move_to_end(entry.seq, last=False)
        self._by_delivery[entry.delivery_id] = entry
        self._bytes += entry.size
        by_key = self._by_key
        for key in entry.keys:
            found = by_key.get(key)
            if found is None:
                by_key[key] = entry
            elif type(found) is list:
                if oldest:
                    found.insert(0, entry)  # type: ignore[union-attr]
                else:
                    found.append(entry)  # type: ignore[union-attr]
            else:
                by_key[key] = [entry, found] if oldest else [found, entry]  # type: ignore[list-item]

    def _under(self, key: str) -> List[HeldOutcome]:
        """The entries stored under ``key`` (a new list: callers may remove while iterating)."""
        found = self._by_key.get(key)
        if found is None:
            return []
        if type(found) is list:
            return list(found)
        return [found]  # type: ignore[list-item]

    def _remove(self, entry: HeldOutcome) -> None:
        if self._entries.pop(entry.seq, None) is None:
            return
        if entry.awaiting_receipt:
            self._awaiting.pop(entry.seq, None)
        self._by_delivery.pop(entry.delivery_id, None)
        self._bytes -= entry.size
        by_key = self._by_key
        for key in entry.keys:
            found = by_key.get(key)
            if found is entry:
                del by_key[key]
            elif type(found) is list:
                found.remove(entry)  # type: ignore[union-attr]
                if len(found) == 1:  # type: ignore[arg-type]
                    by_key[key] = found[0]  # type: ignore[index]
