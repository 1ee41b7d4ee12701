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
from typing import Callable, Deque, Dict, Optional, Tuple

__all__ = ["Counters", "RateMeter", "Maintenance", "RATE_WINDOW"]

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
                 name: str = "zas-hub-maintenance") -> None:
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
