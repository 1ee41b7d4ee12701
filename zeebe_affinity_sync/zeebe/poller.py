"""The job worker's long-poll loop: one ActivateJobs call after the other for one task type.

:class:`Poller` is a mixin of :class:`~.worker.JobWorker` (which starts one thread per task type
on :meth:`Poller._poll_loop`). The loop takes free handler slots first and asks for at most that
many jobs, so it never activates a job it cannot start at once; each job goes to the handler
queue the moment it arrives, and unused slots are given back before any pause.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Dict

from ..errors import ZeebeAffinityError
from .client import ActivationStream, ZeebeClient
from .retry import Backoff
from .slots import FairSlots
from .tasks import TaskHandler

__all__ = ["Poller"]

log = logging.getLogger(__name__)


class Poller:
    """The poll loop of :class:`~.worker.JobWorker` (its ``__init__`` sets these attributes)."""

    name: str
    max_running_jobs: int
    poll_request_timeout: float
    contended_poll_timeout: float
    _client: ZeebeClient
    _lock: threading.Lock
    _tasks: Dict[str, TaskHandler]
    _streams: Dict[str, ActivationStream]
    _stop: threading.Event
    _slots: FairSlots
    _queue: "queue.SimpleQueue[Any]"
    _stats_lock: threading.Lock
    _stats: Dict[str, int]
    _backoff_initial: float
    _backoff_max: float

    def _poll_loop(self, spec: TaskHandler) -> None:
        backoff = Backoff(self._backoff_initial, self._backoff_max)
        task_type = spec.task_type
        # Slots reserved for a long poll are idle until jobs come, so an idle task type asks for
        # one job only and a busy one doubles its ask after each full batch (1, 2, 4, ... up to
        # max_jobs_to_activate): task types sharing the pool cannot starve each other.
        ask = 1
        while not self._stop.is_set():
            taken = self._slots.take(ask, self._stop)
            if taken == 0:
                break
            used = 0
            pause = 0.0
            # More types than slots, or others waiting for a slot: a short poll, so that idle
            # types hand their slots on and every registered type gets polled (a long poll
            # would keep the slot idle for poll_request_timeout).
            wait = self.poll_request_timeout
            if self._slots.waiting or len(self._tasks) > self.max_running_jobs:
                wait = min(wait, self.contended_poll_timeout)
            try:
                stream = self._client.activate_jobs_stream(
                    task_type,
                    worker=self.name,
                    timeout=spec.timeout,
                    max_jobs_to_activate=taken,
                    request_timeout=wait,
                    fetch_variables=spec.fetch_variables,
                    tenant_ids=list(spec.tenant_ids) if spec.tenant_ids is not None else None,
                )
                with self._lock:
                    self._streams[task_type] = stream
                    stopping = self._stop.is_set()
                if stopping:
                    stream.cancel()
                for job in stream:
                    if used >= taken:  # a broken gateway sent more than asked: no slot to run it
                        log.warning("%s: gateway sent more jobs than requested; job %d left to time out",
                                    task_type, job.key)
                        continue
                    used += 1
                    self._queue.put((spec, job))
                backoff.reset()
                ask = min(spec.max_jobs_to_activate, max(1, 2 * used))
            except (ZeebeAffinityError, RuntimeError) as exc:
                if self._stop.is_set():
                    break
                if self._client.closed:
                    # Someone closed the client under a running worker: nothing can come back, so
                    # stop polling instead of retrying forever (stop() still joins this thread).
                    log.error("%s: the worker's ZeebeClient was closed; polling stops "
                              "(stop the worker before closing its client)", task_type)
                    break
                pause = backoff.next_delay()
                level = logging.WARNING if backoff.attempt <= 3 or backoff.attempt % 10 == 0 else logging.DEBUG
                log.log(level, "%s: polling failed (%s); retrying in %.2fs", task_type, exc, pause)
            except Exception:  # a bug must not kill the poller silently
                log.exception("%s: unexpected error while polling", task_type)
                pause = backoff.next_delay()
            finally:
                with self._lock:
                    self._streams.pop(task_type, None)
                self._slots.give(taken - used)  # before any pause: other task types may use them
            if used:
                with self._stats_lock:
                    self._stats["activated"] += used
            if pause:
                self._stop.wait(pause)  # the only sleep: stop() ends it at once
        log.debug("%s: poller ended", task_type)
