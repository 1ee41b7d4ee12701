"""The job worker's StreamActivatedJobs loop for one task type.

Zeebe (8.4+) pushes a job to an open stream the moment it becomes activatable, before any long
poll would see it. A stream only gets jobs that become activatable while it is open, so the
worker keeps its ordinary long poll of the type running beside it (Camunda's advice): that poll
back-fills jobs created while no stream was open (before the first one, between a failure and
the reconnect), and while the stream works the gateway hands new jobs to the stream first.

A stream that fails or that the gateway closes is opened again after a capped exponential
backoff; the poll goes on meanwhile, so no job waits for the stream to come back. ``stop()``
cancels the call at once. A pushed job waits for a free handler slot in turn with the polls
(the stream holds no slot while it waits for jobs, so streaming never starves other types); a
job pushed while every slot is busy waits in the worker (bounded by gRPC's flow-control window:
while this loop does not read, the gateway cannot send more) with its lock running.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

import grpc

from ..errors import ZeebeAffinityError, ZeebeError
from .client import JobStream, ZeebeClient
from .retry import Backoff
from .types import Job

__all__ = ["StreamLoop"]

log = logging.getLogger(__name__)


class StreamLoop:
    """Keeps one StreamActivatedJobs call open for a task type and hands each job on.

    Args:
        client: The worker's client.
        task_type / worker / timeout / fetch_variables / tenant_ids: As for
            :meth:`ZeebeClient.stream_activated_jobs`.
        deliver: Called with each pushed job on this loop's thread; it waits for a slot and
            returns False if the worker is stopping (the job is then left to time out).
        stop: The worker's stop event.
        backoff_initial / backoff_max: Reconnect backoff, seconds.
    """

    def __init__(self, client: ZeebeClient, *, task_type: str, worker: str, timeout: float,
                 fetch_variables: Optional[list], tenant_ids: Optional[list],
                 deliver: Callable[[Job], bool], stop: threading.Event,
                 backoff_initial: float, backoff_max: float) -> None:
        self._client = client
        self.task_type = task_type
        self._worker = worker
        self._timeout = timeout
        self._fetch = fetch_variables
        self._tenants = tenant_ids
        self._deliver = deliver
        self._stop = stop
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._lock = threading.Lock()  # guards _stream
        self._stream: Optional[JobStream] = None  # the open call; written by run(), cancelled by cancel()
        self.opened = 0  # streams opened so far (read by tests and stats; written by run() only)
        self.thread = threading.Thread(target=self.run, name=f"zeebe-worker-stream[{task_type}]", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        """End the open stream now (called by ``stop()`` after it set the stop event)."""
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.cancel()

    def run(self) -> None:
        while not self._stop.is_set():
            pause = 0.0
            try:
                stream = self._client.stream_activated_jobs(
                    self.task_type, worker=self._worker, timeout=self._timeout,
                    fetch_variables=self._fetch, tenant_ids=self._tenants,
                )
                with self._lock:
                    self._stream = stream
                if self._stop.is_set():  # stop() ran before we registered the call
                    stream.cancel()
                self.opened += 1
                log.debug("%s: job stream open", self.task_type)
                for job in stream:
                    self._backoff.reset()  # the stream works
                    if not self._deliver(job):
                        log.info("%s: worker stopping; streamed job %d is left to time out", self.task_type, job.key)
                        break
                if not self._stop.is_set():
                    pause = self._backoff.next_delay()
                    log.info("%s: the gateway closed the job stream; reopening in %.2fs", self.task_type, pause)
            except (ZeebeAffinityError, RuntimeError) as exc:
                if self._stop.is_set():
                    break
                if isinstance(exc, ZeebeError) and exc.grpc_code == grpc.StatusCode.UNIMPLEMENTED:
                    # a gateway before 8.4 has no job streaming: polling alone serves the type
                    log.warning("%s: the gateway does not support job streaming (%s); polling only",
                                self.task_type, exc)
                    break
                if self._client.closed:
                    log.error("%s: the worker's ZeebeClient was closed; streaming stops", self.task_type)
                    break
                pause = self._backoff.next_delay()
                level = logging.WARNING if self._backoff.attempt <= 3 or self._backoff.attempt % 10 == 0 else logging.DEBUG
                log.log(level, "%s: job stream failed (%s); polling goes on, reopening in %.2fs",
                        self.task_type, exc, pause)
            except Exception:  # a bug must not end streaming silently
                log.exception("%s: unexpected error in the job stream", self.task_type)
                pause = self._backoff.next_delay()
            finally:
                with self._lock:
                    stream, self._stream = self._stream, None
                if stream is not None:
                    stream.cancel()  # a no-op if the call already ended
            if pause:
                self._stop.wait(pause)  # the only sleep: stop() ends it at once
        log.debug("%s: stream loop ended", self.task_type)
