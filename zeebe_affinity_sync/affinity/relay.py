"""The relay side: the affinity worker that hands each relay job's variables to its requester.

The handler builds the outcome the moment the job arrives, routed by the job's
``_affinity_request_id`` (and its instance key, for seed clients), hands it to the transport and
waits until the hub / Redis confirms the hand-over (at most ``ack_timeout`` in total), and only
then completes the job. If it cannot hand the outcome over, the job is failed with a clear message
and a retry backoff (an incident appears when retries run out). The relay job's lock
(``relay_job_timeout``, default 10 s) is short on purpose: when a relay worker dies, another one
re-activates its jobs well inside a request's timeout.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, Tuple

from .. import defaults, protocol
from ..errors import AffinityUnavailable
from ..zeebe.types import Job
from ..zeebe.worker import JobWorker
from .checks import check_encodable
from .outcome import strip_reserved
from .transport import Transport

if TYPE_CHECKING:  # pragma: no cover
    from .base import ProcessState

__all__ = ["RelaySide"]

logger = logging.getLogger(__name__)


class RelaySide:
    """``create_affinity_worker`` and its job handler (a mixin of :class:`~.base.AffinityClientBase`)."""

    affinity_timeout: float
    ack_timeout: float
    relay_job_timeout: float

    def _process_state(self, *, start_transport: bool = True) -> "ProcessState":  # pragma: no cover
        raise NotImplementedError

    def _ready_transport(self, timeout: float, *, connect_wait: Optional[float] = None,
                         role: str = "client") -> Tuple["ProcessState", Transport]:  # pragma: no cover
        raise NotImplementedError

    def create_affinity_worker(self, task_type: str = defaults.AFFINITY_TASK_TYPE, **worker_options: Any) -> JobWorker:
        """Start a worker that relays each job's variables to the waiting request.

        A task header ``affinity-status: error`` marks the outcome as a failure
        (``ProcessFailed``). Variables that cannot be sent as UTF-8 JSON text (a lone surrogate)
        fail the job at once with a message naming the variable, before anything is sent.

        Args:
            task_type: The relay task's type (default ``"publish-outcome"``).
            **worker_options: ``timeout`` (the relay job's lock, default the client's
                ``relay_job_timeout``, 10 s), ``fetch_variables``, ``max_jobs_to_activate`` and
                ``retry_backoff`` (default 1 s) go to the task; the rest (``name``,
                ``max_running_jobs``, ``poll_request_timeout``, ``tenant_ids``...) to
                :class:`JobWorker`. ``stream`` defaults to True: the relay task is on every
                request's path, so its jobs are pushed (StreamActivatedJobs, with the long
                poll beside it) rather than waited for; ``stream=False`` polls only.

        Returns:
            The started :class:`~zeebe_affinity_sync.zeebe.worker.JobWorker` (stop it, or
            ``close()`` this client, to end it).

        Raises:
            AffinityUnavailable: The hub / Redis cannot be reached within ``affinity_timeout``.
        """
        task_options = {
            k: worker_options.pop(k)
            for k in ("timeout", "fetch_variables", "max_jobs_to_activate", "retry_backoff")
            if k in worker_options
        }
        task_options.setdefault("retry_backoff", defaults.AFFINITY_WORKER_RETRY_BACKOFF)
        task_options.setdefault("timeout", self.relay_job_timeout)
        # a service starting up may wait for the hub longer than a request would
        # (a process whose first use is a relay worker says role "worker" in its HELLO)
        state, _ = self._ready_transport(self.affinity_timeout, connect_wait=self.affinity_timeout, role="worker")
        worker_options.setdefault("stream", True)
        worker = JobWorker(self, **worker_options)
        worker.register(task_type, self._relay, **task_options)
        state.add_worker(worker)
        worker.start()
        return worker

    def _relay(self, job: Job) -> None:
        """Relay handler: hand the job's variables over as the outcome, then complete the job."""
        variables = job.variables or {}
        request_id = variables.get(protocol.REQUEST_ID_VARIABLE)
        if not isinstance(request_id, str) or not request_id:
            request_id = None
        header = str((job.custom_headers or {}).get(defaults.AFFINITY_STATUS_HEADER, "")).strip().lower()
        status = protocol.STATUS_ERROR if header == protocol.STATUS_ERROR else protocol.STATUS_OK
        outcome = strip_reserved(variables)
        # refused here, before anything is sent: the job fails with this text (an incident when
        # its retries run out) instead of aborting every subscriber of the outcome
        check_encodable(outcome, f"the outcome variables of process instance {job.process_instance_key}")
        frame = protocol.process_outcome(job.process_instance_key, outcome, request_id=request_id, status=status)
        state = self._process_state()
        assert state.transport is not None
        try:
            state.transport.publish_outcome(frame, self.ack_timeout)
        except AffinityUnavailable as exc:
            raise AffinityUnavailable(
                f"outcome of process instance {job.process_instance_key} not handed over, job "
                f"failed so that it is retried: {exc}"
            ) from exc
        return None
