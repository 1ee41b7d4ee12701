"""``JobWorker``: run Python functions as Zeebe job handlers, on a bounded pool of threads.

Threads and who owns what:

- one **poller** per task type (``zeebe-worker-poll[<type>]``): takes free handler slots, asks
  ActivateJobs for at most that many jobs (long poll), hands each job to the pool the moment it
  arrives and gives back the slots it did not use. It never activates a job it cannot start at
  once, so no job waits (and times out) in a local queue. An idle type reserves one slot for its
  long poll; a busy one doubles its ask after each batch. Slots are handed out in turn
  (:class:`~.slots.FairSlots`): with more task types than slots, a type gets its share and goes to
  the back of the line, and while others wait for a slot a poll is short
  (``contended_poll_timeout``), so every registered type is polled whatever their number.
- with ``stream=True`` (worker-wide or per task), one **stream** per task type
  (``zeebe-worker-stream[<type>]``, :mod:`.streaming`): StreamActivatedJobs pushes each new job
  at once; the poller keeps running beside it to back-fill jobs created while no stream was
  open, and a failed stream is reopened with backoff.
- ``max_running_jobs`` **handler** threads (``zeebe-worker-job[<name>]-<i>``): run a handler, then
  complete the job with what it returned, throw a BPMN error (``errors.BpmnError``) or fail it
  with ``retries - 1``, the exception text and the task's ``retry_backoff``.

The poll loop is in :mod:`.poller`, the handler threads' work (run, then complete / throw / fail)
in :mod:`.job_runner`; this module has the registration and the life cycle.

Start the worker in the process that runs it: threads do not survive a fork (under gunicorn
``--preload``, start it in ``post_fork``, or run it in its own process).

``stop()`` sets the stop event (the pollers' only sleep), cancels in-flight long polls and job
streams, joins the pollers and streams, lets handlers finish the jobs they hold, then joins the
handler threads. A handler can lengthen its job's lock with ``job.extend_timeout(seconds)``. A gateway
outage makes a poller back off (capped exponential with jitter) and resume on its own.

Example::

    worker = JobWorker(client, max_running_jobs=8)

    @worker.task("transform")
    def transform(variables):
        return {"upper": variables["text"].upper()}

    with worker:
        ...  # jobs are handled until the block ends
"""
from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from .. import defaults
from ..errors import ConfigurationError
from .client import ActivationStream, ZeebeClient
from .job_runner import SENTINEL, JobRunner
from .poller import Poller
from .slots import FairSlots
from .streaming import StreamLoop
from .tasks import Handler, TaskHandler, _check_tenant_ids, _wants_job
from .types import Job

__all__ = ["JobWorker", "TaskHandler"]

log = logging.getLogger(__name__)


class JobWorker(Poller, JobRunner):
    """Polls Zeebe for jobs of the registered task types and runs their handlers.

    Args:
        client: The client to use; if ``None`` one is built from ``client_kwargs`` (and closed
            by ``stop()``).
        name: Worker name recorded on activated jobs.
        max_running_jobs: Handler threads, i.e. jobs running at once (default 32).
        timeout: Default job lock in seconds (default 300).
        poll_request_timeout: Long-poll duration of one ActivateJobs request, seconds (default 10).
        stream: Also open a job stream (StreamActivatedJobs) for every task type (default
            False; a task's own ``stream`` wins).
        tenant_ids: Activate jobs of these tenants only (default: the client's tenant, from
            ``CAMUNDA_TENANT_ID``, else the gateway's default tenant); a task's own wins.
        contended_poll_timeout: Long-poll duration while other task types wait for a slot,
            seconds (default 1), so a few idle types cannot keep the slots from the others.
        **client_kwargs: Passed to :class:`ZeebeClient` when ``client`` is ``None``.

    Raises:
        ConfigurationError: A bad value, or ``client_kwargs`` together with ``client``.
    """

    def __init__(
        self,
        client: Optional[ZeebeClient] = None,
        *,
        name: str = defaults.WORKER_NAME,
        max_running_jobs: int = defaults.WORKER_MAX_RUNNING_JOBS,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        poll_request_timeout: float = defaults.WORKER_POLL_REQUEST_TIMEOUT,
        error_backoff_initial: float = defaults.WORKER_ERROR_BACKOFF_INITIAL,
        error_backoff_max: float = defaults.WORKER_ERROR_BACKOFF_MAX,
        stream: bool = False,
        tenant_ids: Optional[Sequence[str]] = None,
        contended_poll_timeout: float = defaults.WORKER_CONTENDED_POLL_TIMEOUT,
        **client_kwargs: Any,
    ) -> None:
        if client is not None and client_kwargs:
            raise ConfigurationError(
                f"pass either a client or client settings ({', '.join(client_kwargs)}), not both"
            )
        if isinstance(max_running_jobs, bool) or not isinstance(max_running_jobs, int) or max_running_jobs < 1:
            raise ConfigurationError(f"max_running_jobs must be an int >= 1, got {max_running_jobs!r}")
        if not timeout > 0:
            raise ConfigurationError(f"timeout (job lock) must be > 0 seconds, got {timeout!r}")
        if not poll_request_timeout > 0:
            raise ConfigurationError(f"poll_request_timeout must be > 0 seconds, got {poll_request_timeout!r}")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"name must be a non-empty str, got {name!r}")
        if not contended_poll_timeout > 0:
            raise ConfigurationError(f"contended_poll_timeout must be > 0 seconds, got {contended_poll_timeout!r}")
        self.stream = bool(stream)
        self.tenant_ids = _check_tenant_ids(tenant_ids)
        self.contended_poll_timeout = float(contended_poll_timeout)
        self._owns_client = client is None
        self._client = client if client is not None else ZeebeClient(**client_kwargs)
        self.name = name
        self.max_running_jobs = max_running_jobs
        self.timeout = float(timeout)
        self.poll_request_timeout = float(poll_request_timeout)
        self._backoff_initial = error_backoff_initial
        self._backoff_max = error_backoff_max

        self._lock = threading.Lock()  # guards _tasks, _pollers, _streams, _job_streams, _state
        self._tasks: Dict[str, TaskHandler] = {}  # task type -> handler; under _lock
        self._pollers: Dict[str, threading.Thread] = {}  # one per task type; under _lock
        self._streams: Dict[str, ActivationStream] = {}  # in-flight poll per type; under _lock
        self._job_streams: Dict[str, StreamLoop] = {}  # StreamActivatedJobs loop per streamed type; under _lock
        self._state = "new"  # new -> running -> stopping -> stopped; under _lock
        self._stop = threading.Event()  # set once by stop(); every wait of ours watches it
        self._slots = FairSlots(max_running_jobs)
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()  # pollers -> handler threads
        self._handlers: List[threading.Thread] = []  # written by start() only
        self._stats_lock = threading.Lock()
        # counters written by pollers and handler threads under _stats_lock
        self._stats = {"activated": 0, "streamed": 0, "completed": 0, "failed": 0, "errors_thrown": 0}

    # ----------------------------------------------------------------- registration

    @property
    def client(self) -> ZeebeClient:
        """The client this worker uses (shared with callers who want it)."""
        return self._client

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._state == "running"

    @property
    def stats(self) -> Dict[str, int]:
        """A snapshot of the counters: jobs ``activated`` (by polls), ``streamed`` (pushed to a job
        stream), ``completed``, ``failed``, ``errors_thrown``, and ``streams_opened`` (job streams
        opened so far, reopenings included)."""
        with self._stats_lock:
            out = dict(self._stats)
        with self._lock:
            out["streams_opened"] = sum(loop.opened for loop in self._job_streams.values())
        return out

    @property
    def task_types(self) -> List[str]:
        with self._lock:
            return list(self._tasks)

    def task(
        self,
        task_type: str,
        *,
        timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        max_jobs_to_activate: Optional[int] = None,
        retry_backoff: float = defaults.WORKER_RETRY_BACKOFF,
        stream: Optional[bool] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`; returns the function unchanged."""

        def decorate(handler: Handler) -> Handler:
            self.register(
                task_type,
                handler,
                timeout=timeout,
                fetch_variables=fetch_variables,
                max_jobs_to_activate=max_jobs_to_activate,
                retry_backoff=retry_backoff,
                stream=stream,
                tenant_ids=tenant_ids,
            )
            return handler

        return decorate

    def register(
        self,
        task_type: str,
        handler: Handler,
        *,
        timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        max_jobs_to_activate: Optional[int] = None,
        retry_backoff: float = defaults.WORKER_RETRY_BACKOFF,
        stream: Optional[bool] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> None:
        """Register ``handler`` for jobs of ``task_type`` (also while running).

        Args:
            task_type: The ``zeebe:taskDefinition type``.
            handler: Gets the :class:`Job` if its first parameter is named ``job`` or annotated
                ``Job``, otherwise the variables ``dict``; returns a ``dict`` (or ``None``) to
                complete the job with.
            timeout: Job lock for this type, seconds (default: the worker's).
            fetch_variables: Only fetch these variables.
            max_jobs_to_activate: Cap of one activation (default: ``max_running_jobs``).
            retry_backoff: Seconds before a failed job is retried.
            stream: Open a job stream for this type (default: the worker's ``stream``).
            tenant_ids: Only jobs of these tenants (default: the worker's ``tenant_ids``).

        Raises:
            ConfigurationError: The type is already registered, or a bad value.
        """
        if not isinstance(task_type, str) or not task_type.strip():
            raise ConfigurationError(f"task_type must be a non-empty str, got {task_type!r}")
        if not callable(handler):
            raise ConfigurationError(f"the handler for {task_type!r} is not callable: {handler!r}")
        if inspect.iscoroutinefunction(handler):
            raise ConfigurationError(
                f"the handler for {task_type!r} is an async function; this worker runs plain functions "
                "on threads: use `def`, not `async def`"
            )
        if isinstance(fetch_variables, str):
            raise ConfigurationError(f"fetch_variables must be a list of names, not a str: use [{fetch_variables!r}]")
        most = self.max_running_jobs if max_jobs_to_activate is None else max_jobs_to_activate
        if isinstance(most, bool) or not isinstance(most, int) or most < 1:
            raise ConfigurationError(f"max_jobs_to_activate must be an int >= 1, got {max_jobs_to_activate!r}")
        lock_time = self.timeout if timeout is None else timeout
        if not lock_time > 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout!r}")
        if retry_backoff < 0:
            raise ConfigurationError(f"retry_backoff must be >= 0 seconds, got {retry_backoff!r}")
        spec = TaskHandler(
            task_type=task_type,
            handler=handler,
            timeout=float(lock_time),
            fetch_variables=list(fetch_variables) if fetch_variables is not None else None,
            max_jobs_to_activate=most,
            retry_backoff=float(retry_backoff),
            wants_job=_wants_job(handler),
            stream=self.stream if stream is None else bool(stream),
            tenant_ids=self.tenant_ids if tenant_ids is None else _check_tenant_ids(tenant_ids),
        )
        with self._lock:
            if task_type in self._tasks:
                raise ConfigurationError(f"task type {task_type!r} already has a handler on this worker")
            if self._state in ("stopping", "stopped"):
                raise RuntimeError("this JobWorker is stopped: create a new one")
            self._tasks[task_type] = spec
            if self._state == "running":
                self._start_poller_locked(spec)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "JobWorker":
        """Start the handler threads and one poller per registered task type.

        Raises:
            RuntimeError: Already started, or stopped (a worker runs once).
        """
        with self._lock:
            if self._state != "new":
                raise RuntimeError(f"JobWorker.start(): the worker is {self._state}; a worker runs once")
            self._state = "running"
            for i in range(self.max_running_jobs):
                thread = threading.Thread(
                    target=self._handler_loop, name=f"zeebe-worker-job[{self.name}]-{i}", daemon=True
                )
                self._handlers.append(thread)
                thread.start()
            for spec in self._tasks.values():
                self._start_poller_locked(spec)
        log.info(
            "job worker %r started: %s, %d handler threads, gateway %s",
            self.name, ", ".join(self._tasks) or "no task types yet", self.max_running_jobs, self._client.address,
        )
        return self

    def _start_poller_locked(self, spec: TaskHandler) -> None:
        thread = threading.Thread(
            target=self._poll_loop, args=(spec,), name=f"zeebe-worker-poll[{spec.task_type}]", daemon=True
        )
        self._pollers[spec.task_type] = thread
        thread.start()
        if spec.stream:
            loop = StreamLoop(
                self._client, task_type=spec.task_type, worker=self.name, timeout=spec.timeout,
                fetch_variables=spec.fetch_variables,
                tenant_ids=list(spec.tenant_ids) if spec.tenant_ids is not None else None,
                deliver=lambda job, _spec=spec: self._deliver_streamed(_spec, job), stop=self._stop,
                backoff_initial=self._backoff_initial, backoff_max=self._backoff_max,
            )
            self._job_streams[spec.task_type] = loop
            loop.start()

    def _deliver_streamed(self, spec: TaskHandler, job: Job) -> bool:
        """A pushed job: wait for a slot in turn, then queue it for a handler (stream thread)."""
        if self._slots.take(1, self._stop) == 0:
            return False
        with self._stats_lock:
            self._stats["streamed"] += 1
        self._queue.put((spec, job))
        return True

    def stop(self, timeout: float = defaults.WORKER_STOP_TIMEOUT) -> bool:
        """Stop polling, let running handlers finish, join every thread.

        Args:
            timeout: Seconds to wait for pollers and running handlers in total.

        Returns:
            True if every thread ended in time (False leaves a warning in the log).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._state == "stopped":
                return True
            if self._state == "new":
                self._state = "stopped"
                self._close_client()
                return True
            first = self._state == "running"
            if first:
                self._state = "stopping"
                self._stop.set()
                for stream in self._streams.values():
                    stream.cancel()  # ends the long poll now instead of after poll_request_timeout
                for loop in self._job_streams.values():
                    loop.cancel()  # ends the job stream now
            pollers = list(self._pollers.values()) + [loop.thread for loop in self._job_streams.values()]
        self._slots.wake_all()
        if first:
            # pollers first: once they are gone no job can be queued behind the sentinels
            self._join_threads(pollers, deadline)
            if any(t.is_alive() for t in pollers):
                log.warning("job worker %r: a poller did not stop in time; jobs it still "
                            "activates will time out at the gateway", self.name)
            for _ in self._handlers:
                self._queue.put(SENTINEL)  # behind every job already queued: those still run
        done = self.join(max(0.0, deadline - time.monotonic()))
        if done:
            with self._lock:
                self._state = "stopped"
            self._close_client()
            log.info("job worker %r stopped", self.name)
        else:
            alive = [t.name for t in self._threads() if t.is_alive()]
            log.warning("job worker %r: still running after %.1fs: %s", self.name, timeout, ", ".join(alive))
        return done

    def _threads(self) -> List[threading.Thread]:
        with self._lock:
            streams = [loop.thread for loop in self._job_streams.values()]
            return list(self._pollers.values()) + streams + list(self._handlers)

    def _close_client(self) -> None:
        if self._owns_client:
            self._client.close()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until every thread has ended (after ``stop()``, possibly from another thread).

        Returns:
            True if all ended within ``timeout`` seconds (``None``: wait as long as it takes).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._join_threads(self._threads(), deadline)

    @staticmethod
    def _join_threads(threads: List[threading.Thread], deadline: Optional[float]) -> bool:
        me = threading.current_thread()
        for thread in threads:
            if thread is me:  # stop() called from a handler: that thread ends after it returns
                continue
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return False
        return True

    def __enter__(self) -> "JobWorker":
        if self._state == "new":
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
