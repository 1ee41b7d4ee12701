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


class ActivationStream:
    """One ActivateJobs call in flight: iterate for jobs, ``cancel()`` from any thread.

    The worker keeps one per task type so that ``stop()`` can end a long poll at once.
    Iteration raises :class:`~zeebe_affinity_sync.errors.ZeebeError` on a gateway error
    (``GatewayUnavailableError`` after ``cancel()``).
    """

    def __init__(self, call: Any, on_error: Optional[Callable[[ZeebeError], None]] = None,
                 client: Optional["ZeebeClient"] = None, watched: Optional[WatchedCall] = None) -> None:
        self._call = call
        self._on_error = on_error
        self._client = client
        self._watched = watched  # see call_watch: a call gRPC leaves hanging gets its channel reopened

    def __iter__(self) -> Iterator[Job]:
        if self._watched is not None:
            self._watched.reading()
        try:
            for response in self._call:
                for job in response.jobs:
                    yield _from_activated_job(job, self._client)
        except grpc.RpcError as exc:
            error = from_grpc_error(exc, operation="ActivateJobs", subject="job")
            if self._on_error is not None:
                self._on_error(error)
            raise error from exc
        finally:
            if self._watched is not None:
                self._watched.done()

    def cancel(self) -> None:
        """End the call (the gateway hands back jobs it could not deliver)."""
        if self._watched is not None:
            self._watched.cancelled()
        cancel = getattr(self._call, "cancel", None)
        if cancel is not None:
            cancel()


class JobStream:
    """An open StreamActivatedJobs call: iterate for jobs as the gateway pushes them.

    The stream has no end of its own: it runs until :meth:`cancel` (from any thread), the
    gateway closes it, or an error. Iteration raises
    :class:`~zeebe_affinity_sync.errors.ZeebeError` on a gateway error and simply ends after
    :meth:`cancel`. A stream only receives jobs created (or made activatable again) while it is
    open: poll beside it for the rest, as :class:`JobWorker` does.
    """

    def __init__(self, call: Any, on_error: Optional[Callable[[ZeebeError], None]] = None,
                 client: Optional["ZeebeClient"] = None, watched: Optional[WatchedCall] = None) -> None:
        self._call = call
        self._on_error = on_error
        self._client = client
        self._watched = watched  # see call_watch: a call gRPC leaves hanging gets its channel reopened
        self._cancelled = False

    def __iter__(self) -> Iterator[Job]:
        if self._watched is not None:
            self._watched.reading()
        try:
            for message in self._call:
                yield _from_activated_job(message, self._client)
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() == grpc.StatusCode.CANCELLED:
                return
            error = from_grpc_error(exc, operation="StreamActivatedJobs", subject="job")
            if self._on_error is not None:
                self._on_error(error)
            raise error from exc
        finally:
            if self._watched is not None:
                self._watched.done()

    def cancel(self) -> None:
        """Close the stream; jobs pushed but not yet read go back to the gateway (they time out
        there if they were already on the wire)."""
        self._cancelled = True
        if self._watched is not None:
            self._watched.cancelled()
        cancel = getattr(self._call, "cancel", None)
        if cancel is not None:
            cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

