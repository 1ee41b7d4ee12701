"""Running one job: call its handler on a handler thread, then complete, throw or fail the job.

:class:`JobRunner` is a mixin of :class:`~.worker.JobWorker`, whose ``max_running_jobs`` handler
threads run :meth:`JobRunner._handler_loop`: each takes ``(task, job)`` pairs from the queue the
poller and the stream fill, and gives its slot back after the job's outcome is reported.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Dict

from ..errors import BpmnError, JobNotFoundError, ZeebeError
from .client import ZeebeClient
from .retry import is_message_too_large
from .slots import FairSlots
from .tasks import TaskHandler
from .types import Job

__all__ = ["JobRunner", "SENTINEL"]

log = logging.getLogger(__name__)

SENTINEL = object()  # put on the queue once per handler thread by stop(): that thread ends


class JobRunner:
    """The handler threads' work for :class:`~.worker.JobWorker` (its ``__init__`` sets these)."""

    _client: ZeebeClient
    _slots: FairSlots
    _queue: "queue.SimpleQueue[Any]"
    _stats_lock: threading.Lock
    _stats: Dict[str, int]

    def _handler_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is SENTINEL:
                return
            spec, job = item
            try:
                self._run_job(spec, job)
            except BaseException:  # keep the thread (and its slot) alive whatever happens
                log.exception("%s: job %d: error while reporting the outcome", spec.task_type, job.key)
            finally:
                self._slots.give(1)

    def _run_job(self, spec: TaskHandler, job: Job) -> None:
        try:
            result = spec.call(job)
            if result is not None and not isinstance(result, dict):
                raise TypeError(
                    f"the handler of {spec.task_type!r} returned {type(result).__name__}; "
                    "return a dict of variables (or None) to complete the job"
                )
        except BpmnError as exc:
            self._report(spec, job, "throw", exc)
            return
        except Exception as exc:  # the handler's own errors, Zeebe calls it made included
            self._report(spec, job, "fail", exc)
            return
        try:
            self._client.complete_job(job.key, result)
        except TypeError as exc:  # variables JSON cannot encode: fail the job rather than lose it
            self._report(spec, job, "fail", exc)
        except JobNotFoundError as exc:
            log.warning("%s: job %d is gone (timed out or cancelled?): %s", spec.task_type, job.key, exc)
        except ZeebeError as exc:
            if is_message_too_large(exc.grpc_code, exc.details):
                # the variables do not fit a gRPC message: fail the job (an incident when no
                # retries are left) rather than let it time out again and again
                self._report(spec, job, "fail", exc)
                return
            log.error("%s: could not complete job %d: %s", spec.task_type, job.key, exc)
        else:
            with self._stats_lock:
                self._stats["completed"] += 1

    def _report(self, spec: TaskHandler, job: Job, how: str, exc: BaseException) -> None:
        client = self._client
        try:
            if isinstance(exc, BpmnError):
                log.info("%s: job %d throws BPMN error %r", spec.task_type, job.key, exc.error_code)
                client.throw_error(job.key, exc.error_code, exc.error_message, exc.variables or None)
                key = "errors_thrown"
            else:
                message = f"{type(exc).__name__}: {exc}"[:2000]
                retries = max(job.retries - 1, 0)
                log.warning(
                    "%s: job %d failed (%d retries left): %s", spec.task_type, job.key, retries, message,
                    exc_info=exc,
                )
                client.fail_job(job.key, retries, message, retry_backoff=spec.retry_backoff)
                key = "failed"
        except ZeebeError as report_exc:
            log.error("%s: could not report job %d (%s): %s", spec.task_type, job.key, how, report_exc)
            return
        with self._stats_lock:
            self._stats[key] += 1
