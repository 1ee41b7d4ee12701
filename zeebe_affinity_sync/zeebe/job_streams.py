"""The two open job calls a worker reads from: one ActivateJobs long poll, one StreamActivatedJobs.

:meth:`~.client.ZeebeClient.activate_jobs_stream` and
:meth:`~.client.ZeebeClient.stream_activated_jobs` hand these out; both turn each activated
job into a :class:`~.types.Job` bound to the client, map gRPC errors once (and tell the client,
which drops a rejected OAuth token), and can be cancelled from any thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import grpc

from ..errors import ZeebeError
from .call_watch import WatchedCall
from .grpc_errors import from_grpc_error
from .types import Job, _from_activated_job

if TYPE_CHECKING:  # pragma: no cover
    from .client import ZeebeClient

__all__ = ["ActivationStream", "JobStream"]


class _JobCall:
    """What both open job calls share: the gRPC call, its error mapping, ``cancel()`` from any
    thread, and the call watch (see :mod:`.call_watch`: a call gRPC leaves hanging gets its
    channel reopened) told when reading starts and ends."""

    _operation = ""

    def __init__(self, call: Any, on_error: Optional[Callable[[ZeebeError], None]] = None,
                 client: Optional["ZeebeClient"] = None, watched: Optional[WatchedCall] = None) -> None:
        self._call = call
        self._on_error = on_error
        self._client = client
        self._watched = watched

    def __iter__(self) -> Iterator[Job]:
        if self._watched is not None:
            self._watched.reading()
        try:
            yield from self._jobs()
        except grpc.RpcError as exc:
            if self._ends_quietly(exc):
                return
            error = from_grpc_error(exc, operation=self._operation, subject="job")
            if self._on_error is not None:
                self._on_error(error)
            raise error from exc
        finally:
            if self._watched is not None:
                self._watched.done()

    def _jobs(self) -> Iterator[Job]:  # pragma: no cover - each call type reads its own messages
        raise NotImplementedError

    def _ends_quietly(self, exc: grpc.RpcError) -> bool:
        return False

    def cancel(self) -> None:
        """End the call."""
        if self._watched is not None:
            self._watched.cancelled()
        cancel = getattr(self._call, "cancel", None)
        if cancel is not None:
            cancel()


class ActivationStream(_JobCall):
    """One ActivateJobs call in flight: iterate for jobs, ``cancel()`` from any thread.

    The worker keeps one per task type so that ``stop()`` can end a long poll at once.
    Iteration raises :class:`~zeebe_affinity_sync.errors.ZeebeError` on a gateway error
    (``GatewayUnavailableError`` after ``cancel()``). ``cancel()`` ends the call (the gateway
    hands back jobs it could not deliver).
    """

    _operation = "ActivateJobs"

    def _jobs(self) -> Iterator[Job]:
        for response in self._call:
            for job in response.jobs:
                yield _from_activated_job(job, self._client)


class JobStream(_JobCall):
    """An open StreamActivatedJobs call: iterate for jobs as the gateway pushes them.

    The stream has no end of its own: it runs until :meth:`cancel` (from any thread), the
    gateway closes it, or an error. Iteration raises
    :class:`~zeebe_affinity_sync.errors.ZeebeError` on a gateway error and simply ends after
    :meth:`cancel`. A stream only receives jobs created (or made activatable again) while it is
    open: poll beside it for the rest, as :class:`JobWorker` does.
    """

    _operation = "StreamActivatedJobs"

    def __init__(self, call: Any, on_error: Optional[Callable[[ZeebeError], None]] = None,
                 client: Optional["ZeebeClient"] = None, watched: Optional[WatchedCall] = None) -> None:
        super().__init__(call, on_error, client, watched)
        self._cancelled = False
        add_done_callback = getattr(call, "add_done_callback", None)
        if watched is not None and add_done_callback is not None:
            add_done_callback(watched.ended)  # no deadline: the call's end starts the reader's grace

    def _jobs(self) -> Iterator[Job]:
        for message in self._call:
            yield _from_activated_job(message, self._client)

    def _ends_quietly(self, exc: grpc.RpcError) -> bool:
        return self._cancelled and exc.code() == grpc.StatusCode.CANCELLED

    def cancel(self) -> None:
        """Close the stream; jobs pushed but not yet read go back to the gateway (they time out
        there if they were already on the wire)."""
        self._cancelled = True
        super().cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

