"""The frames of one hub connection that wait for the hub's answer (``ACK`` or ``ERROR``).

A caller that needs the hub's confirmation (:meth:`~.hub_connection.HubConnection.publish_outcome`,
:meth:`~.hub_connection.HubConnection.subscribe_confirmed`) opens a slot under the frame's id
before sending it and waits on the slot's event; the reader thread settles it when the answer
comes, and a lost connection (or a frame the writer could not send) marks it lost, so the caller
sends again or gives up within its own timeout.
"""
from __future__ import annotations

import threading
from typing import Dict, Optional, Tuple

__all__ = ["AckSlot", "AckTable"]


class AckSlot:
    """One frame waiting for the hub's answer. Fields written under :class:`AckTable`'s lock."""

    __slots__ = ("event", "acked", "lost", "error")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.acked = False
        self.lost = False
        self.error: Optional[str] = None


class AckTable:
    """Frame id -> :class:`AckSlot`; every method is thread-safe (one lock, held briefly)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: Dict[str, AckSlot] = {}  # guarded by _lock

    def __len__(self) -> int:
        with self._lock:
            return len(self._slots)

    def open(self, frame_id: str) -> AckSlot:
        """A new slot for ``frame_id``; :meth:`close` it when done waiting."""
        slot = AckSlot()
        with self._lock:
            self._slots[frame_id] = slot
        return slot

    def close(self, frame_id: str) -> None:
        with self._lock:
            self._slots.pop(frame_id, None)

    def rearm(self, slot: AckSlot) -> None:
        """Before sending the frame again: forget that the last attempt was lost."""
        with self._lock:
            slot.event.clear()
            slot.lost = False

    def state(self, slot: AckSlot) -> Tuple[bool, bool, Optional[str]]:
        """``(acked, lost, error)`` of the slot, read under the lock."""
        with self._lock:
            return slot.acked, slot.lost, slot.error

    def settle(self, frame_id: str, *, acked: bool = False, error: Optional[str] = None) -> bool:
        """The hub answered ``frame_id`` (reader thread). False if nobody waits for it."""
        with self._lock:
            slot = self._slots.get(frame_id)
            if slot is None:
                return False
            slot.acked = slot.acked or acked
            if error is not None:
                slot.error = error
            slot.event.set()
        return True

    def lose(self, frame_id: str) -> None:
        """The frame was not sent: wake its waiter unless the hub already answered it."""
        with self._lock:
            slot = self._slots.get(frame_id)
            if slot is not None and not slot.acked:
                slot.lost = True
                slot.event.set()

    def lose_all(self) -> None:
        """The connection is gone (or stopping): wake every waiter, marked lost."""
        with self._lock:
            for slot in self._slots.values():
                slot.lost = True
                slot.event.set()
