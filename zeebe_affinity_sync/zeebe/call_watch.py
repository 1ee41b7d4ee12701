"""A watch over the job calls a reader blocks on: one that gRPC leaves hanging gets its channel reopened.

Why it exists: grpcio (seen with 1.85, on a client whose gateway had just gone away) can fail a
server-streaming call at once -- its status, UNAVAILABLE "Connection refused", is in -- and yet
never complete the receive operations its iterator waits for. The reading thread then blocks
for good: past the call's deadline, and ``cancel()`` does nothing because the call is already
over. A job worker's poller stuck there never polls again and ``stop()`` cannot join it.
Closing the channel is the one public way to free that thread.

So every ActivateJobs and StreamActivatedJobs call is watched from its start until its reader is
done with it. It must be done by its deadline plus ``grace``, and within ``grace`` of a
``cancel()`` or (for a stream, which has no deadline) of gRPC reporting the call over. One that is not is declared wedged: a warning is logged and
its channel is closed through ``on_wedged`` (:meth:`.channel.LazyChannel.reopen`); the next call
opens a new channel. Other calls still on that channel end with CANCELLED, which their callers
already handle as a lost connection.

One thread per watch, started on the first call and gone after a second with nothing to watch
or at :meth:`CallWatch.close`. It sleeps until the earliest limit; a new call wakes it only if its
limit is earlier still, so a busy worker costs a lock per call, not a wakeup.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable, Dict, Optional

from .. import defaults

__all__ = ["CallWatch", "WatchedCall"]

log = logging.getLogger(__name__)

_IDLE_EXIT = 1.0  # s with nothing to watch before the thread ends (the next call starts another)


class WatchedCall:
    """One call; its reader says :meth:`reading` before it blocks on it and :meth:`done` after,
    a canceller :meth:`cancelled`. Only a call somebody reads can be wedged: one that is never
    iterated is never watched."""

    __slots__ = ("_watch", "channel", "what", "end_by")

    def __init__(self, watch: "CallWatch", channel: Any, what: str, end_by: float) -> None:
        self._watch = watch
        self.channel = channel
        self.what = what
        self.end_by = end_by  # monotonic; written under the watch's condition

    def reading(self) -> None:
        """A thread is about to block on the call: watch it from now until :meth:`done`."""
        self._watch._add(self)

    def done(self) -> None:
        """The reader is done with the call (ended, failed or left): stop watching it."""
        self._watch._forget(self)

    def cancelled(self) -> None:
        """The call was cancelled: its reader must be done within the grace period."""
        self._watch._shorten(self)

    def ended(self, _call: Any = None) -> None:
        """gRPC says the call is over (a done callback): the reader must be done within the grace
        period. Used for streams, which have no deadline to fall back on."""
        self._watch._shorten(self)


class CallWatch:
    """Declares calls wedged that their reader is not done with in time (see the module doc).

    Args:
        on_wedged: Called on the watch thread with the wedged call's channel; closes it.
        grace: Seconds a call may run past its deadline or its cancel.
    """

    def __init__(self, on_wedged: Callable[[Any], None], grace: float = defaults.WEDGED_CALL_GRACE) -> None:
        self._on_wedged = on_wedged
        self.grace = grace
        self._cond = threading.Condition()
        # all under _cond
        self._calls: Dict[int, WatchedCall] = {}
        self._thread: Optional[threading.Thread] = None
        self._wake_at = math.inf  # when the thread wakes next (inf: when notified)
        self._closed = False
        self.wedged = 0  # calls declared wedged so far (read by tests and logs)

    def watch(self, channel: Any, what: str, deadline: Optional[float]) -> WatchedCall:
        """A call on ``channel`` (``what`` names it in the log) that should end ``deadline``
        seconds from now (None: no deadline, a stream); watched from its :meth:`~WatchedCall.reading`."""
        end_by = math.inf if deadline is None else time.monotonic() + deadline + self.grace
        return WatchedCall(self, channel, what, end_by)

    def _add(self, call: WatchedCall) -> None:
        with self._cond:
            if self._closed:
                return
            self._calls[id(call)] = call
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zeebe-client-call-watch", daemon=True)
                self._thread.start()
            elif call.end_by < self._wake_at:
                self._cond.notify()

    def close(self) -> None:
        """Stop watching (the client is closing); the thread ends at once."""
        with self._cond:
            self._closed = True
            self._calls.clear()
            self._cond.notify()

    def _forget(self, call: WatchedCall) -> None:
        with self._cond:
            self._calls.pop(id(call), None)

    def _shorten(self, call: WatchedCall) -> None:
        with self._cond:
            call.end_by = min(call.end_by, time.monotonic() + self.grace)  # also before reading()
            if id(call) in self._calls and call.end_by < self._wake_at:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                overdue = self._wait_for_overdue()
                if overdue is None:
                    return
            for call in overdue:  # outside the lock: closing a channel may take a moment
                log.warning(
                    "%s was not done %.0fs past its deadline or cancel: gRPC left the call hanging "
                    "(seen after a gateway went away); reopening the gRPC channel", call.what, self.grace,
                )
                try:
                    self._on_wedged(call.channel)
                except Exception:  # the watch must outlive a failed close
                    log.exception("reopening the gRPC channel after a wedged call failed")

    def _wait_for_overdue(self) -> Optional[list]:
        """Under _cond: wait until some call is overdue (returned, and forgotten), or None when
        the thread should end (closed, or idle for a while)."""
        while True:
            if self._closed:
                self._thread = None
                return None
            if not self._calls:
                self._wake_at = math.inf
                self._cond.wait(_IDLE_EXIT)
                if not self._calls and not self._closed:
                    self._thread = None  # watch() starts a new one for the next call
                    return None
                continue
            now = time.monotonic()
            overdue = [call for call in self._calls.values() if call.end_by <= now]
            if overdue:
                for call in overdue:
                    del self._calls[id(call)]
                self.wedged += len(overdue)
                return overdue
            self._wake_at = min(call.end_by for call in self._calls.values())
            # a stream alone has no limit (inf): sleep until a cancel or a new call notifies
            self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)
