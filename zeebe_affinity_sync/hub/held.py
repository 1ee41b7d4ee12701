"""Outcomes waiting for their subscriber: a TTL store bounded in count and in bytes.

An outcome that arrives before anyone subscribed to any of its routing keys is held under *all*
of them. The first subscription to any of those keys takes it, which removes it from every key
(each outcome is handed over once). After ``ttl`` seconds it is dropped and counted as expired.

The store is not thread-safe on its own: :class:`~zeebe_affinity_sync.hub.core.HubCore` calls it
only while holding its routing lock, so that "nobody subscribed, hold it" and "subscribe, take
what is held" can never interleave.
"""
from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

__all__ = ["HeldOutcome", "HeldStore"]


class HeldOutcome:
    """One held outcome: the frame text to deliver and the keys it is held under."""

    __slots__ = ("seq", "keys", "text", "size", "expires_at")

    def __init__(self, seq: int, keys: Tuple[str, ...], text: str, expires_at: float) -> None:
        self.seq = seq
        self.keys = keys
        self.text = text
        self.size = len(text)
        self.expires_at = expires_at


class HeldStore:
    """Held outcomes by routing key, oldest first, bounded in count and bytes.

    Args:
        ttl: Seconds an outcome is held.
        max_count: Most outcomes held at once; :meth:`put` refuses beyond it.
        max_bytes: Most frame characters held at once; :meth:`put` refuses beyond it.
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
        # All three guarded by the caller's lock (HubCore._lock); insertion order == expiry order.
        self._entries: "OrderedDict[int, HeldOutcome]" = OrderedDict()
        self._by_key: Dict[str, List[HeldOutcome]] = {}
        self._bytes = 0
        self.expired = 0  # outcomes dropped at their TTL, ever

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """Characters of frame text held right now."""
        return self._bytes

    def put(self, keys: Sequence[str], text: str) -> bool:
        """Hold ``text`` under every key in ``keys``.

        Returns:
            ``True`` if held; ``False`` if the count or byte bound would be exceeded (the caller
            reports the outcome as refused: it is *not* held).
        """
        self.expire()
        size = len(text)
        if len(self._entries) >= self.max_count or self._bytes + size > self.max_bytes:
            return False
        entry = HeldOutcome(next(self._seq), tuple(dict.fromkeys(keys)), text,
                            self._clock() + self.ttl)
        self._entries[entry.seq] = entry
        self._bytes += size
        for key in entry.keys:
            self._by_key.setdefault(key, []).append(entry)
        return True

    def take(self, keys: Iterable[str]) -> List[str]:
        """Remove and return (oldest first) the frames held under any of ``keys``."""
        if not self._by_key:
            return []
        found: Dict[int, HeldOutcome] = {}
        for key in keys:
            entries = self._by_key.get(key)
            if entries:
                for entry in entries:
                    found[entry.seq] = entry
        if not found:
            return []
        now = self._clock()
        texts = []
        for seq in sorted(found):
            entry = found[seq]
            self._remove(entry)
            if entry.expires_at > now:
                texts.append(entry.text)
            else:
                self.expired += 1
        return texts

    def expire(self) -> int:
        """Drop the outcomes whose TTL passed; returns how many were dropped."""
        if not self._entries:
            return 0
        now = self._clock()
        dropped = 0
        while self._entries:
            entry = next(iter(self._entries.values()))
            if entry.expires_at > now:
                break
            self._remove(entry)
            dropped += 1
        self.expired += dropped
        return dropped

    def clear(self) -> None:
        """Forget everything (shutdown)."""
        self._entries.clear()
        self._by_key.clear()
        self._bytes = 0

    def _remove(self, entry: HeldOutcome) -> None:
        if self._entries.pop(entry.seq, None) is None:
            return
        self._bytes -= entry.size
        for key in entry.keys:
            entries = self._by_key.get(key)
            if entries is None:
                continue
            if len(entries) == 1:
                del self._by_key[key]
            else:
                entries.remove(entry)
