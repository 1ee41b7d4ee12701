"""Jobs: creation, activation (polling, long polling, streaming), completion, failure, errors.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`: every method runs under the
engine lock (public ones take it). Dispatch is push-based: the moment a job becomes activatable
(created, failed with retries, backoff elapsed, timed out, incident resolved, given back) it is
handed to an open job stream of its type, else to the oldest parked long poll of its type, else
queued in ``_activatable[(type, tenant)]`` (an insertion-ordered dict: O(1) pop of the oldest and
O(1) removal by key). A parked request's own gRPC thread is woken through its ``Event``. A job
only ever goes to a request that names its tenant (its process definition's tenant).
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any, Deque, Dict, Iterable, List, Optional, Tuple

from . import rejections, state
from .expressions import type_name
from .records import JOB_ACTIVATED, JOB_COMPLETED, JOB_CREATED, job_stub
from .variables import select, visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

KEY_BASE = state.KEY_BASE
_time = time.time

__all__ = ["ActivatedJobData", "JobsMixin"]


class ActivatedJobData:
    """What an ActivatedJob message carries; built under the lock, serialised outside it."""

    __slots__ = ("key", "type", "process_instance_key", "bpmn_process_id", "process_definition_version",
                 "process_definition_key", "element_id", "element_instance_key", "custom_headers",
                 "worker", "retries", "deadline", "variables", "tenant_id")

    def __init__(self, key: int, type: str, process_instance_key: int, bpmn_process_id: str,
                 process_definition_version: int, process_definition_key: int, element_id: str,
                 element_instance_key: int, custom_headers: str, worker: str, retries: int, deadline: int,
                 variables: Dict[str, Any], tenant_id: str) -> None:
        # plain stores: a setattr() loop over **fields cost ~30k instructions per instance
        self.key = key
        self.type = type
        self.process_instance_key = process_instance_key
        self.bpmn_process_id = bpmn_process_id
        self.process_definition_version = process_definition_version
        self.process_definition_key = process_definition_key
        self.element_id = element_id
        self.element_instance_key = element_instance_key
        self.custom_headers = custom_headers
        self.worker = worker
        self.retries = retries
        self.deadline = deadline
        self.variables = variables
        self.tenant_id = tenant_id

    def as_dict(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _tenant_of(job: state.Job) -> str:
    return job.element_instance.instance.definition.tenant_id


class JobsMixin:
    def __init__(self) -> None:
        # all guarded by the engine lock
        self._jobs: Dict[int, state.Job] = {}
        self._activatable: Dict[Tuple[str, str], "OrderedDict[int, state.Job]"] = {}  # (type, tenant)
        self._pollers: Dict[str, Deque[state.JobRequest]] = {}
        self._streams: Dict[str, List[state.JobRequest]] = {}
        self._stream_turn = itertools.count()

    # ------------------------------------------------------------------ creation and dispatch
    def _create_job(self: "Engine", ei: state.ElementInstance, headers: Optional[str] = None) -> None:
        """Create the job of ``ei`` (``headers``: JSON text, else the element's static headers)."""
        element = ei.element
        assert element is not None and element.job_type is not None
        context = None
        job_type = element.job_type.static
        if element.job_type.is_expression:
            context = visible(ei)
            job_type = element.job_type.evaluate(context)
            if not isinstance(job_type, str) or not job_type:
                raise state.StepFailure("EXTRACT_VALUE_ERROR",
                               f"Expected result of the expression '{element.job_type.expression_text}' to be "
                               f"'STRING', but was '{type_name(job_type)}'.")
        retries_value = element.job_retries
        retries = 3
        if retries_value is not None:
            retries = retries_value.static
            if retries_value.is_expression:
                retries = retries_value.evaluate(context if context is not None else visible(ei))
                if isinstance(retries, bool) or not isinstance(retries, (int, float)):
                    raise state.StepFailure("EXTRACT_VALUE_ERROR",
                                   f"Expected result of the expression '{retries_value.expression_text}' to be "
                                   f"'NUMBER', but was '{type_name(retries)}'.")
        self._counter += 1  # _next_key, inlined
        key = KEY_BASE + self._counter
        if headers is None:
            headers = element.headers
        retries = int(retries)
        job = state.Job(key, job_type, retries, ei, headers)
        ei.job = job
        self._activated(ei)
        self._jobs[key] = job
        kinds = self._kinds
        if kinds is not None:  # _rec_job, inlined (records.job_stub, then the fields of a new job)
            job.rec = stub = (key, ei.key, element.id, ei.instance.info, job_type, headers)
            kinds.append(JOB_CREATED)
            self._items(stub + (retries, 0, "", ""))
        self._job_activatable(job)

    def _job_activatable(self: "Engine", job: state.Job) -> None:
        """Make ``job`` activatable and hand it to a waiting stream or long poll at once."""
        job.state = state.ACTIVATABLE
        job.worker = ""
        job.deadline = 0
        tenant = job.element_instance.instance.definition.tenant_id
        streams = self._streams.get(job.type)
        if streams:
            open_to = [r for r in streams if tenant in r.tenant_ids]
            if open_to:
                request = open_to[next(self._stream_turn) % len(open_to)]
                request.jobs.append(self._activate(job, request))
                request.event.set()
                return
        pollers = self._pollers.get(job.type)
        if pollers:
            request = next((r for r in pollers if tenant in r.tenant_ids), None)
            if request is not None:
                request.jobs.append(self._activate(job, request))
                if len(request.jobs) >= request.max_jobs:
                    pollers.remove(request)
                    if not pollers:
                        del self._pollers[job.type]
                request.event.set()
                return
        queue = self._activatable.get((job.type, tenant))
        if queue is None:
            queue = self._activatable[(job.type, tenant)] = OrderedDict()
        queue[job.key] = job

    def _activate(self: "Engine", job: state.Job, request: state.JobRequest) -> ActivatedJobData:
        job.state = state.ACTIVATED
        job.worker = worker = request.worker
        # _start_deadline, inlined
        timeout_ms = request.timeout_ms
        job.deadline = deadline = int((_time() + self._clock.offset) * 1000) + timeout_ms
        job.timeout_handle = self._scheduler.call_later(timeout_ms / 1000.0, self._job_timed_out, job.key, deadline)
        kinds = self._kinds
        if kinds is not None:  # _rec_job, inlined
            kinds.append(JOB_ACTIVATED)
            self._items((job.rec or job_stub(job)) + (job.retries, deadline, worker, job.error_message))
        ei = job.element_instance
        instance = ei.instance
        definition = instance.definition
        variables = visible(ei)
        if request.fetch:
            variables = select(variables, request.fetch)
        return ActivatedJobData(
            job.key, job.type, instance.key, definition.bpmn_process_id, definition.version, definition.key,
            ei.element.id if ei.element else "", ei.key, job.headers, worker, job.retries, deadline, variables,
            definition.tenant_id)

    def _start_deadline(self: "Engine", job: state.Job, timeout_ms: int) -> None:
        """Set the deadline of an activated job ``timeout_ms`` from now and schedule its timeout."""
        job.deadline = self._clock.now_ms() + timeout_ms
        job.timeout_handle = self._scheduler.call_later(timeout_ms / 1000.0, self._job_timed_out, job.key,
                                                        job.deadline)

    def _take_activatable(self: "Engine", request: state.JobRequest) -> None:
        tenant_ids = request.tenant_ids
        if len(tenant_ids) == 1:  # one queue to take from: oldest first is its order
            key = (request.type, tenant_ids[0])
            queue = self._activatable.get(key)
            if queue:
                jobs, max_jobs = request.jobs, request.max_jobs
                while len(jobs) < max_jobs:
                    jobs.append(self._activate(queue.popitem(last=False)[1], request))
                    if not queue:
                        del self._activatable[key]
                        break
            return
        queues = [(tenant, q) for tenant in request.tenant_ids
                  for q in (self._activatable.get((request.type, tenant)),) if q]
        while queues and len(request.jobs) < request.max_jobs:
            # oldest first across the requested tenants: the queue whose head has the lowest key
            index = min(range(len(queues)), key=lambda i: next(iter(queues[i][1])))
            tenant, queue = queues[index]
            _, job = queue.popitem(last=False)
            request.jobs.append(self._activate(job, request))
            if not queue:
                del self._activatable[(request.type, tenant)]
                del queues[index]

    def _unqueue(self: "Engine", job: state.Job) -> None:
        """Take ``job`` out of its type's activatable queue, if it is queued."""
        key = (job.type, _tenant_of(job))
        queue = self._activatable.get(key)
        if queue is not None and queue.pop(job.key, None) is not None and not queue:
            del self._activatable[key]

    def _remove_job(self: "Engine", job: state.Job) -> None:
        self._jobs.pop(job.key, None)
        if job.state is not state.ACTIVATED:  # an activated job is never queued
            self._unqueue(job)
        if job.timeout_handle is not None:
            self._scheduler.cancel(job.timeout_handle)
            job.timeout_handle = None
        if job.backoff_handle is not None:
            self._scheduler.cancel(job.backoff_handle)
            job.backoff_handle = None
        if job.incident is not None:
            self._drop_incident(job.incident)

    def _job_timed_out(self: "Engine", job_key: int, deadline: int) -> None:
        with self._lock:
            job = self._jobs.get(job_key)
            if job is None or job.state != state.ACTIVATED or job.deadline != deadline:
                return
            job.timeout_handle = None
            self._lock.log_later(logger, logging.DEBUG, "job %d (%s) timed out at worker '%s'", job.key, job.type,
                                 job.worker)
            self._rec_job(job, "TIMED_OUT")
            self._job_activatable(job)

    def _backoff_elapsed(self: "Engine", job_key: int) -> None:
        with self._lock:
            job = self._jobs.get(job_key)
            if job is None or job.state != state.FAILED or job.incident is not None or job.retries <= 0:
                return
            job.backoff_handle = None
            self._rec_job(job, "RECURRED_AFTER_BACKOFF")
            self._job_activatable(job)

    # ------------------------------------------------------------------ activation requests
    def activate_jobs(self: "Engine", request: state.JobRequest, long_poll: Optional[float]) -> List[ActivatedJobData]:
        """Activate up to ``request.max_jobs`` jobs; park up to ``long_poll`` seconds if none.

        Returns as soon as at least one job was handed over, at the long-poll timeout, or when
        ``request.event`` is set from outside (client gone, server stopping).
        """
        with self._lock:
            self._take_activatable(request)
            if request.jobs or long_poll is None or long_poll <= 0 or self._closed:
                request.closed = True
                return list(request.jobs)
            self._pollers.setdefault(request.type, deque()).append(request)
        try:
            request.event.wait(long_poll)
        finally:  # whatever ends the wait, the request never stays parked (no ghost polls)
            with self._lock:
                request.closed = True
                pollers = self._pollers.get(request.type)
                if pollers is not None:
                    try:
                        pollers.remove(request)
                    except ValueError:
                        pass
                    if not pollers:
                        del self._pollers[request.type]
                jobs = list(request.jobs)
        return jobs

    def give_back(self, jobs: Iterable[ActivatedJobData]) -> None:
        """Return jobs whose requester went away: activatable again, retries unchanged."""
        with self._lock:
            for data in jobs:
                job = self._jobs.get(data.key)
                if job is not None and job.state == state.ACTIVATED and job.deadline == data.deadline:
                    self._scheduler.cancel(job.timeout_handle)
                    job.timeout_handle = None
                    self._lock.log_later(logger, logging.DEBUG, "job %d given back (its requester went away)", job.key)
                    self._rec_job(job, "YIELDED")  # type: ignore[attr-defined]
                    self._job_activatable(job)  # type: ignore[attr-defined]

    def job_too_large(self: "Engine", job_key: int, size: int, limit: int) -> None:
        """An activated job does not fit a gRPC message: fail it with a MESSAGE_SIZE_EXCEEDED incident."""
        with self._lock:
            job = self._jobs.get(job_key)
            if job is None or job.state != state.ACTIVATED:
                return
            self._scheduler.cancel(job.timeout_handle)
            job.timeout_handle = None
            job.state = state.FAILED
            job.worker = ""
            job.deadline = 0
            self._raise_incident(
                job.element_instance, "MESSAGE_SIZE_EXCEEDED",
                f"The job with key '{job_key}' can not be activated: it is {size} bytes, more than the {limit} "
                "bytes a gRPC message may carry. Reduce its variables (or fetch fewer) and resolve the incident.",
                job)

    def open_stream(self: "Engine", request: state.JobRequest) -> None:
        with self._lock:
            self._streams.setdefault(request.type, []).append(request)

    def stream_take(self: "Engine", request: state.JobRequest, timeout: Optional[float]) -> List[ActivatedJobData]:
        """Wait for pushed jobs (or until the event is set from outside); take them all."""
        request.event.wait(timeout)
        with self._lock:
            request.event.clear()
            jobs = list(request.jobs)
            request.jobs.clear()
            if request.closed:
                request.event.set()
            return jobs

    def close_stream(self: "Engine", request: state.JobRequest) -> None:
        with self._lock:
            request.closed = True
            streams = self._streams.get(request.type)
            if streams is not None and request in streams:
                streams.remove(request)
                if not streams:
                    del self._streams[request.type]
            leftover = list(request.jobs)
            request.jobs.clear()
        if leftover:
            self.give_back(leftover)

    def close_streams(self: "Engine") -> int:
        """End every open job stream, as the gateway does when it loses its broker; clients
        reopen them. Jobs pushed but not yet sent are given back. Returns how many were open."""
        with self._lock:
            count = 0
            for streams in self._streams.values():
                for request in streams:
                    request.closed = True
                    request.event.set()
                    count += 1
            return count

    def _wake_all_requests(self: "Engine") -> None:
        for pollers in self._pollers.values():
            for request in pollers:
                request.event.set()
        for streams in self._streams.values():
            for request in streams:
                request.closed = True
                request.event.set()

    # ------------------------------------------------------------------ job commands
    def _job(self: "Engine", job_key: int, intent: str, verb: str) -> state.Job:
        job = self._jobs.get(job_key)
        if job is None:
            raise rejections.job_not_found(
                intent, f"Expected to {verb} job with key '{job_key}', but no such job was found")
        return job

    @staticmethod
    def _require_active(job: state.Job, intent: str, verb: str) -> None:
        if job.state in (state.FAILED, state.ERROR_THROWN):
            raise rejections.invalid_state(
                intent, f"Expected to {verb} job with key '{job.key}', but it is in state '{job.state}'")

    def complete_job(self: "Engine", job_key: int, variables: Dict[str, Any]) -> None:
        """CompleteJob. Raises JobNotFoundError / FailedPreconditionError."""
        with self._lock:
            job = self._jobs.get(job_key)
            if job is None or job.state is not state.ACTIVATED:  # the checks of the other states
                job = self._job(job_key, "COMPLETE", "complete")
                self._require_active(job, "COMPLETE", "complete")
            self._remove_job(job)
            kinds = self._kinds
            if kinds is not None:  # _rec_job, inlined
                kinds.append(JOB_COMPLETED)
                self._items((job.rec or job_stub(job)) + (job.retries, job.deadline, job.worker, job.error_message))
            ei = job.element_instance
            ei.job = None
            if ei.listener is None or not self._listener_job_done(ei, variables or None):
                self._complete(ei, variables or None)
            self._drain()

    def fail_job(self: "Engine", job_key: int, retries: int, error_message: str = "", retry_backoff_ms: int = 0,
                 variables: Optional[Dict[str, Any]] = None) -> None:
        """FailJob: new retries, optional backoff; an incident when no retries are left."""
        with self._lock:
            job = self._job(job_key, "FAIL", "fail")
            self._require_active(job, "FAIL", "fail")
            self._unqueue(job)
            self._scheduler.cancel(job.timeout_handle)
            job.timeout_handle = None
            job.retries = retries
            job.error_message = error_message
            job.worker = ""
            job.deadline = 0
            if variables:
                self._set_variables(job.element_instance, variables, True)
            self._rec_job(job, "FAILED")
            if retries > 0 and retry_backoff_ms > 0:
                job.state = state.FAILED
                job.backoff_handle = self._scheduler.call_later(retry_backoff_ms / 1000.0, self._backoff_elapsed,
                                                                job.key)
            elif retries > 0:
                self._job_activatable(job)
            else:
                job.state = state.FAILED
                self._raise_incident(job.element_instance, "JOB_NO_RETRIES",
                                     error_message or "No more retries left.", job)

    def throw_error(self: "Engine", job_key: int, error_code: str, error_message: str = "",
                    variables: Optional[Dict[str, Any]] = None) -> None:
        """ThrowError: caught by an error boundary event, else an UNHANDLED_ERROR_EVENT incident."""
        with self._lock:
            job = self._job(job_key, "THROW_ERROR", "throw an error for")
            self._require_active(job, "THROW_ERROR", "throw an error for")
            job.error_message = error_message
            self._rec_job(job, "ERROR_THROWN")
            if self._throw_error(job.element_instance, error_code, variables):
                self._remove_job(job)
                self._drain()
                return
            self._unqueue(job)
            self._scheduler.cancel(job.timeout_handle)
            job.timeout_handle = None
            job.state = state.ERROR_THROWN
            job.error_message = error_message
            with_message = f" with message '{error_message}'" if error_message else ""
            self._raise_incident(
                job.element_instance, "UNHANDLED_ERROR_EVENT",
                f"Expected to throw an error event with the code '{error_code}'{with_message}, but it was not "
                "caught. No error events are available in the scope.", job)

    def update_job_retries(self: "Engine", job_key: int, retries: int) -> None:
        with self._lock:
            job = self._job(job_key, "UPDATE_RETRIES", "update retries for")
            if retries < 1:
                raise rejections.invalid(
                    "UPDATE_RETRIES", f"Expected to update retries for job with key '{job_key}' with a positive "
                    f"amount of retries, but the amount given was '{retries}'")
            job.retries = retries
            self._rec_job(job, "RETRIES_UPDATED")

    def update_job_timeout(self: "Engine", job_key: int, timeout_ms: int) -> None:
        with self._lock:
            job = self._job(job_key, "UPDATE_TIMEOUT", "update the timeout of")
            if job.state != state.ACTIVATED:
                raise rejections.invalid_state(
                    "UPDATE_TIMEOUT", f"Expected to update the timeout of job with key '{job_key}', but it is "
                    f"not active (state '{job.state}')")
            self._scheduler.cancel(job.timeout_handle)
            self._start_deadline(job, timeout_ms)
            self._rec_job(job, "TIMEOUT_UPDATED")

    def jobs(self: "Engine") -> List[Dict[str, Any]]:
        """Every live job as a plain dict (inspection)."""
        with self._lock:
            out = []
            for job in self._jobs.values():
                ei = job.element_instance
                out.append({
                    "key": job.key, "type": job.type, "state": job.state, "retries": job.retries,
                    "worker": job.worker, "deadline": job.deadline, "error_message": job.error_message,
                    "process_instance_key": ei.instance.key, "element_id": ei.element.id if ei.element else "",
                    "element_instance_key": ei.key, "custom_headers": json.loads(job.headers),
                    "tenant_id": _tenant_of(job),
                    "incident_key": job.incident.key if job.incident is not None else None,
                })
            return out

