"""The job commands: activation (one answer, an open long poll, a stream) and a job's outcome.

:class:`JobCommands` is a mixin of :class:`~.client.ZeebeClient`; :class:`~.worker.JobWorker`
builds on :meth:`~JobCommands.activate_jobs_stream` and :meth:`~JobCommands.stream_activated_jobs`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from .. import defaults
from .encoding import check_key, check_seconds, check_text, encode_variables, to_ms, variable_names
from .gateway_calls import GatewayCalls
from .grpc_errors import from_grpc_error
from .job_streams import ActivationStream, JobStream
from .types import Job, _from_activated_job

__all__ = ["JobCommands"]


class JobCommands(GatewayCalls):
    """Job activation and the commands that end, fail or change one job."""

    def _activate_request(
        self,
        task_type: str,
        worker: str,
        timeout: float,
        max_jobs_to_activate: int,
        request_timeout: Optional[float],
        fetch_variables: Optional[Sequence[str]],
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> pb.ActivateJobsRequest:
        check_text(task_type, "task_type")
        if not isinstance(worker, str):
            raise TypeError(f"worker must be a str, got {worker!r}")
        if isinstance(max_jobs_to_activate, bool) or not isinstance(max_jobs_to_activate, int) or max_jobs_to_activate < 1:
            raise ValueError(f"max_jobs_to_activate must be an int >= 1, got {max_jobs_to_activate!r}")
        return pb.ActivateJobsRequest(
            type=task_type,
            worker=worker,
            timeout=to_ms(check_seconds(timeout, "timeout", allow_zero=False)),
            maxJobsToActivate=max_jobs_to_activate,
            fetchVariable=variable_names(fetch_variables, "fetch_variables"),
            requestTimeout=-1 if request_timeout is None else to_ms(check_seconds(request_timeout, "request_timeout")),
            tenantIds=self._tenants(tenant_ids),
        )

    def _activation_deadline(self, request_timeout: Optional[float]) -> float:
        if request_timeout is None:
            return self.config.request_timeout
        wait = request_timeout if request_timeout > 0 else defaults.WORKER_POLL_REQUEST_TIMEOUT
        return wait + defaults.ACTIVATE_DEADLINE_MARGIN

    def activate_jobs_stream(
        self,
        task_type: str,
        *,
        worker: str = defaults.WORKER_NAME,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        max_jobs_to_activate: int = defaults.WORKER_MAX_JOBS_TO_ACTIVATE,
        request_timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> ActivationStream:
        """Open one ActivateJobs call without reading it; the job worker's building block.

        Same arguments as :meth:`activate_jobs`. Not retried: the caller owns the loop.
        """
        request = self._activate_request(
            task_type, worker, timeout, max_jobs_to_activate, request_timeout, fetch_variables, tenant_ids
        )
        deadline = self._activation_deadline(request_timeout)
        stub, watched = self._channel.watched_stub(f"ActivateJobs of {task_type!r}", deadline)
        try:
            call = stub.ActivateJobs(request, timeout=deadline)
        except grpc.RpcError as exc:  # an interceptor can fail before the call starts
            raise from_grpc_error(exc, operation="ActivateJobs", subject="job") from exc
        return ActivationStream(call, self._after_error, self, watched)

    def activate_jobs(
        self,
        task_type: str,
        *,
        worker: str = defaults.WORKER_NAME,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        max_jobs_to_activate: int = defaults.WORKER_MAX_JOBS_TO_ACTIVATE,
        request_timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> List[Job]:
        """Activate up to ``max_jobs_to_activate`` jobs of a type and return them.

        Args:
            task_type: The service task type.
            worker: Worker name recorded on the jobs.
            timeout: Job lock in seconds; after it the job can go to another worker.
            max_jobs_to_activate: Upper bound of jobs returned.
            request_timeout: ``None`` answers at once (possibly with no job); a number of seconds
                long-polls that long for the first job (``0``: the gateway's default).
            fetch_variables: Only fetch these variables (default: all visible ones).
            tenant_ids: Only jobs of these tenants (default: the client's :attr:`tenant_id`, or
                the gateway's default tenant).

        Raises:
            InvalidArgumentError: The gateway refused the request.
            ZeebeError: Any other gateway error (retried first if UNAVAILABLE).
        """
        request = self._activate_request(
            task_type, worker, timeout, max_jobs_to_activate, request_timeout, fetch_variables, tenant_ids
        )
        deadline = self._activation_deadline(request_timeout)

        def once() -> List[Job]:
            stub, watched = self._channel.watched_stub(f"ActivateJobs of {task_type!r}", deadline)
            watched.reading()
            try:
                call = stub.ActivateJobs(request, timeout=deadline)
                return [_from_activated_job(job, self) for response in call for job in response.jobs]
            finally:
                watched.done()

        try:
            return self.retry_policy.call(once, operation="ActivateJobs")
        except grpc.RpcError as exc:
            error = from_grpc_error(exc, operation="ActivateJobs", subject="job")
            self._after_error(error)
            raise error from exc

    def stream_activated_jobs(
        self,
        task_type: str,
        *,
        worker: str = defaults.WORKER_NAME,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> JobStream:
        """Open a StreamActivatedJobs call: the gateway pushes each new job of ``task_type`` the
        moment it is activatable, activated for ``worker`` with a ``timeout`` second lock.

        The call has no deadline (it stays open until :meth:`JobStream.cancel`). It only sees
        jobs that become activatable while it is open; long-poll :meth:`activate_jobs` beside it
        for jobs that were already waiting. Not retried: the caller owns the loop.

        Raises:
            TypeError / ValueError: A bad argument (before any I/O).
        """
        check_text(task_type, "task_type")
        if not isinstance(worker, str):
            raise TypeError(f"worker must be a str, got {worker!r}")
        request = pb.StreamActivatedJobsRequest(
            type=task_type,
            worker=worker,
            timeout=to_ms(check_seconds(timeout, "timeout", allow_zero=False)),
            fetchVariable=variable_names(fetch_variables, "fetch_variables"),
            tenantIds=self._tenants(tenant_ids),
        )
        stub, watched = self._channel.watched_stub(f"StreamActivatedJobs of {task_type!r}", None)
        try:
            call = stub.StreamActivatedJobs(request)
        except grpc.RpcError as exc:  # an interceptor can fail before the call starts
            raise from_grpc_error(exc, operation="StreamActivatedJobs", subject="job") from exc
        return JobStream(call, self._after_error, self, watched)

    def complete_job(self, job_key: int, variables: Optional[Dict[str, Any]] = None) -> None:
        """Complete a job, merging ``variables`` into the process.

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            JobNotFoundError: The job is gone (completed, timed out and taken, cancelled).
        """
        request = pb.CompleteJobRequest(
            jobKey=check_key(job_key, "job_key"), variables=encode_variables(variables)
        )
        self._call("CompleteJob", request, subject="job", retry=True)

    def fail_job(
        self,
        job_key: int,
        retries: int,
        error_message: str = "",
        *,
        retry_backoff: float = 0.0,
        variables: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Fail a job; with ``retries`` 0 an incident is raised.

        Args:
            retries: Retries left after this failure (usually ``job.retries - 1``).
            retry_backoff: Seconds before the job can be activated again.

        Raises:
            JobNotFoundError: No such job.
        """
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(f"retries must be an int, got {retries!r}")
        request = pb.FailJobRequest(
            jobKey=check_key(job_key, "job_key"),
            retries=retries,
            errorMessage=str(error_message),
            retryBackOff=to_ms(check_seconds(retry_backoff, "retry_backoff")),
            variables=encode_variables(variables),
        )
        self._call("FailJob", request, subject="job", retry=True)

    def throw_error(
        self, job_key: int, error_code: str, error_message: str = "", variables: Optional[Dict[str, Any]] = None
    ) -> None:
        """Throw a BPMN error from a job (caught by a matching error event, else an incident).

        Raises:
            JobNotFoundError: No such job.
        """
        request = pb.ThrowErrorRequest(
            jobKey=check_key(job_key, "job_key"),
            errorCode=check_text(error_code, "error_code"),
            errorMessage=str(error_message),
            variables=encode_variables(variables),
        )
        self._call("ThrowError", request, subject="job", retry=True)

    def update_job_retries(self, job_key: int, retries: int) -> None:
        """Set a job's retries (then resolve its incident to retry it).

        Raises:
            JobNotFoundError: No such job.
        """
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(f"retries must be an int, got {retries!r}")
        request = pb.UpdateJobRetriesRequest(jobKey=check_key(job_key, "job_key"), retries=retries)
        self._call("UpdateJobRetries", request, subject="job", retry=True)

    def update_job_timeout(self, job_key: int, timeout: float) -> None:
        """Move a job's deadline to ``timeout`` seconds from now.

        Raises:
            JobNotFoundError: No such job.
        """
        request = pb.UpdateJobTimeoutRequest(
            jobKey=check_key(job_key, "job_key"), timeout=to_ms(check_seconds(timeout, "timeout"))
        )
        self._call("UpdateJobTimeout", request, subject="job", retry=True)
