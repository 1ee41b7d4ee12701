"""Mocked job workers: :class:`JobWorkerMock` (what a test configures) and :class:`MockDriver`
(the one thread per engine that runs them).

A mock takes its jobs straight from the engine, without gRPC: it opens a job *stream* on the
engine (the engine pushes each job of that type to it the moment it becomes activatable) and the
driver thread answers each job with the mock's behaviour. The driver keeps a ``generation``
counter, bumped whenever a job reaches a mock and whenever a mock is done with one, so
:meth:`~zeebe_affinity_sync.testing.engine.ZeebeTestEngine.wait_for_idle` can tell "nothing
happened while I looked" from "a mock was busy": a mocked job that is pending counts as work to
do, never as idle.

The driver thread starts with the first mock of a test and is stopped (joined) by the engine's
``reset()``, so nothing runs between tests.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ..errors import BpmnError, ZeebeError
from ..zeebe.types import Job
from ..zeebe.worker import _wants_job

if TYPE_CHECKING:  # pragma: no cover
    from ..engine.runtime import Engine

__all__ = ["JobWorkerMock", "MockDriver", "MOCK_WORKER_NAME"]

logger = logging.getLogger(__name__)

#: The worker name mocked jobs are activated with (shown in JOB records).
MOCK_WORKER_NAME = "zeebe-test-mock"
#: Lock time of a mocked job, ms: long enough that moving the clock never times one out.
_MOCK_JOB_TIMEOUT_MS = 24 * 3600 * 1000
#: Jobs a mock's stream takes per push batch (the engine hands them over one by one anyway).
_MAX_JOBS = 1000
#: A stopped driver thread gets this long (s) to finish the job it is on.
_STOP_TIMEOUT = 5.0


def job_from_data(data: Dict[str, Any]) -> Job:
    """The :class:`~zeebe_affinity_sync.zeebe.types.Job` a handler sees, from the engine's job data."""
    headers = data.get("custom_headers") or "{}"
    return Job(
        key=data["key"], type=data["type"], process_instance_key=data["process_instance_key"],
        bpmn_process_id=data["bpmn_process_id"], process_definition_version=data["process_definition_version"],
        process_definition_key=data["process_definition_key"], element_id=data["element_id"],
        element_instance_key=data["element_instance_key"],
        custom_headers=json.loads(headers) if isinstance(headers, str) else dict(headers),
        worker=data["worker"], retries=data["retries"], deadline=data["deadline"] / 1000.0,
        variables=dict(data["variables"]),
    )


class JobWorkerMock:
    """What ``zeebe_engine.mock_job_worker(job_type)`` returns: a stand-in for the real worker.

    Every job of ``job_type`` is answered by the behaviour set last (the default completes the job
    without variables). Each ``then_*`` / ``with_handler`` returns the mock, so one line does::

        zeebe_engine.mock_job_worker("price-order").then_complete({"total": 42})

    Thread-safe: the behaviour may be changed while jobs are running; each job uses the one set
    when it arrived.

    Attributes:
        job_type: The mocked task type.
    """

    def __init__(self, job_type: str) -> None:
        if not isinstance(job_type, str) or not job_type:
            raise ValueError(f"job_type must be a non-empty string (the task type), got {job_type!r}")
        self.job_type = job_type
        self._lock = threading.Lock()
        # _behaviour, _jobs, _invocations, _errors: guarded by _lock; written by the driver thread,
        # read by the test's thread
        self._behaviour: Callable[["Engine", Job], None] = self._completer(None)
        self._description = "then_complete()"
        self._jobs: List[Job] = []
        self._errors: List[str] = []

    # ------------------------------------------------------------------ configuration
    def then_complete(self, variables: Optional[Dict[str, Any]] = None) -> "JobWorkerMock":
        """Complete every job with ``variables`` (merged into the process like a worker's result).

        Raises:
            TypeError: ``variables`` is not a dict.
        """
        self._set(self._completer(_dict(variables, "variables")), f"then_complete({variables!r})")
        return self

    def then_throw_bpmn_error(self, code: str, message: str = "",
                              variables: Optional[Dict[str, Any]] = None) -> "JobWorkerMock":
        """Throw the BPMN error ``code`` from every job (caught by a matching error event, else an
        ``UNHANDLED_ERROR_EVENT`` incident).

        Raises:
            ValueError: ``code`` is empty. TypeError: ``variables`` is not a dict.
        """
        if not isinstance(code, str) or not code:
            raise ValueError(f"the error code must be a non-empty string, got {code!r}")
        variables = _dict(variables, "variables")

        def throw(engine: "Engine", job: Job) -> None:
            engine.throw_error(job.key, code, message, variables or None)

        self._set(throw, f"then_throw_bpmn_error({code!r})")
        return self

    def then_fail(self, message: str, retries: int = 0) -> "JobWorkerMock":
        """Fail every job with ``message``.

        The first failure of a job leaves it ``retries`` retries (0: an incident at once); a job
        that comes back is failed again with one retry less each time, as a real worker would, so a
        failing mock ends in a ``JOB_NO_RETRIES`` incident instead of looping forever.

        Raises:
            ValueError: ``retries`` is negative or not an int.
        """
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0 (retries left after the failure), got {retries!r}")
        text = str(message)

        def fail(engine: "Engine", job: Job) -> None:
            engine.fail_job(job.key, max(0, min(retries, job.retries - 1)), text)

        self._set(fail, f"then_fail({text!r}, retries={retries})")
        return self

    def with_handler(self, fn: Callable[..., Optional[Dict[str, Any]]]) -> "JobWorkerMock":
        """Answer every job with ``fn``, called like a :class:`~zeebe_affinity_sync.JobWorker` handler.

        ``fn`` gets the :class:`~zeebe_affinity_sync.zeebe.types.Job` if its first parameter is
        named ``job`` or annotated ``Job``, otherwise the job's variables (a ``dict``), and nothing
        if it takes no parameter. Its ``dict`` (or ``None``) result completes the job; raising
        :class:`~zeebe_affinity_sync.errors.BpmnError` throws that BPMN error; any other exception
        fails the job with ``retries - 1`` and the exception's text. So the real handlers of an app
        can be plugged in as they are.

        Raises:
            TypeError: ``fn`` is not callable.
        """
        if not callable(fn):
            raise TypeError(f"with_handler() needs a callable, got {type(fn).__name__}")
        wants = _wants_job(fn)

        def handle(engine: "Engine", job: Job) -> None:
            try:
                if wants is None:
                    result = fn()
                else:
                    result = fn(job if wants else dict(job.variables))
            except BpmnError as exc:
                engine.throw_error(job.key, exc.error_code, exc.error_message, exc.variables or None)
                return
            except Exception as exc:  # a failing handler fails its job, like JobWorker does
                self._record_error(f"{type(exc).__name__}: {exc}")
                engine.fail_job(job.key, max(0, job.retries - 1), f"{type(exc).__name__}: {exc}")
                return
            if result is not None and not isinstance(result, dict):
                message = f"the handler returned {type(result).__name__}, not a dict or None"
                self._record_error(message)
                engine.fail_job(job.key, max(0, job.retries - 1), message)
                return
            engine.complete_job(job.key, result or {})

        self._set(handle, f"with_handler({getattr(fn, '__name__', fn)!r})")
        return self

    # ------------------------------------------------------------------ what happened
    @property
    def invocations(self) -> int:
        """How many jobs the mock answered so far."""
        with self._lock:
            return len(self._jobs)

    @property
    def jobs(self) -> List[Dict[str, Any]]:
        """The variables of each job the mock answered, oldest first (copies)."""
        with self._lock:
            return [dict(job.variables) for job in self._jobs]

    @property
    def activated_jobs(self) -> List[Job]:
        """The jobs themselves (key, element id, headers, retries...), oldest first."""
        with self._lock:
            return list(self._jobs)

    @property
    def handler_errors(self) -> List[str]:
        """Exceptions raised by a :meth:`with_handler` function (each also failed its job)."""
        with self._lock:
            return list(self._errors)

    def __repr__(self) -> str:
        return f"<JobWorkerMock {self.job_type!r} {self._description} invocations={self.invocations}>"

    # ------------------------------------------------------------------ driver side
    def _set(self, behaviour: Callable[["Engine", Job], None], description: str) -> None:
        with self._lock:
            self._behaviour = behaviour
            self._description = description

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    @staticmethod
    def _completer(variables: Optional[Dict[str, Any]]) -> Callable[["Engine", Job], None]:
        def complete(engine: "Engine", job: Job) -> None:
            engine.complete_job(job.key, dict(variables or {}))
        return complete

    def _handle(self, engine: "Engine", job: Job) -> None:
        with self._lock:
            behaviour = self._behaviour
            self._jobs.append(job)
        try:
            behaviour(engine, job)
        except ZeebeError as exc:
            # e.g. the instance was cancelled while the job was on its way: nothing to answer
            logger.debug("mock of %r could not answer job %d: %s", self.job_type, job.key, exc)


def _dict(value: Optional[Dict[str, Any]], what: str) -> Optional[Dict[str, Any]]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    return dict(value)


class _ForwardingEvent(threading.Event):
    """A job stream's event that also wakes the driver (one thread waits for every stream)."""

    def __init__(self, driver: "MockDriver") -> None:
        super().__init__()
        self._driver = driver

    def set(self) -> None:
        super().set()
        self._driver._poke()


class MockDriver:
    """The thread that answers the jobs of every mock of one engine.

    Args:
        engine: The :class:`~zeebe_affinity_sync.engine.runtime.Engine` (not the gRPC wrapper).
    """

    def __init__(self, engine: "Engine") -> None:
        from ..engine import state  # the engine's job-request record; imported here, not at plugin load

        self._engine = engine
        self._state_module = state
        self._cond = threading.Condition()
        # everything below: guarded by _cond; the driver thread and the test's thread share it
        self._mocks: Dict[str, JobWorkerMock] = {}
        self._requests: Dict[str, Any] = {}   # job type -> open engine stream (state.JobRequest)
        self._backlog: List[tuple] = []       # (mock, job data) taken from the engine, not yet answered
        self._busy = False                    # the driver thread is answering a job right now
        self._poked = False
        self._stopping = False
        self.generation = 0                   # bumped on every job pushed to or answered by a mock
        self._thread: Optional[threading.Thread] = None

    def mock(self, job_type: str) -> JobWorkerMock:
        """The mock of ``job_type`` (created and subscribed on first call)."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("this engine's mocks were stopped (the test is over)")
            existing = self._mocks.get(job_type)
            if existing is not None:
                return existing
            mock = JobWorkerMock(job_type)
            request = self._state_module.JobRequest(job_type, MOCK_WORKER_NAME, _MOCK_JOB_TIMEOUT_MS, _MAX_JOBS, [],
                                                    stream=True)
            request.event = _ForwardingEvent(self)
            self._mocks[job_type] = mock
            self._requests[job_type] = request
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zeebe-test-mocks", daemon=True)
                self._thread.start()
        # Jobs of this type created before the mock existed are queued in the engine, not pushed:
        # take them now; the stream gets every later one.
        self._engine.open_stream(request)
        backlog = self._state_module.JobRequest(job_type, MOCK_WORKER_NAME, _MOCK_JOB_TIMEOUT_MS, _MAX_JOBS, [])
        queued = self._engine.activate_jobs(backlog, None)
        if queued:
            with self._cond:
                self._backlog.extend((mock, data) for data in queued)
                self.generation += 1
                self._poked = True
                self._cond.notify_all()
        return mock

    @property
    def mocks(self) -> Dict[str, JobWorkerMock]:
        with self._cond:
            return dict(self._mocks)

    def quiet(self) -> bool:
        """No mocked job waiting to be answered and none being answered."""
        with self._cond:
            return not self._busy and not self._backlog and not any(r.jobs for r in self._requests.values())

    def wait_quiet(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for :meth:`quiet`; returns whether it is."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._busy and not self._backlog and not any(r.jobs for r in self._requests.values()),
                timeout)

    def pending(self) -> Dict[str, int]:
        """Mocked jobs waiting per job type (for "still busy" messages)."""
        with self._cond:
            out = {t: len(r.jobs) for t, r in self._requests.items() if r.jobs}
            for mock, _ in self._backlog:
                out[mock.job_type] = out.get(mock.job_type, 0) + 1
            return out

    def stop(self) -> None:
        """Close the streams, stop and join the thread. Jobs not answered stay in the engine."""
        with self._cond:
            self._stopping = True
            requests = list(self._requests.values())
            thread = self._thread
            self._cond.notify_all()
        for request in requests:
            self._engine.close_stream(request)  # hands jobs not yet taken back to the engine
        if thread is not None:
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                logger.warning("the mock driver thread is still answering a job after %.0f s", _STOP_TIMEOUT)

    # ------------------------------------------------------------------ thread
    def _poke(self) -> None:
        # Called by the engine (under its lock) when it pushed a job: only flag and notify here.
        with self._cond:
            self.generation += 1
            self._poked = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._poked or self._stopping)
                if self._stopping:
                    return
                self._poked = False
                requests = list(self._requests.items())
                work = self._backlog
                self._backlog = []
                self._busy = True
            try:
                for job_type, request in requests:
                    taken = self._engine.stream_take(request, 0)
                    mock = self._mocks[job_type]
                    work.extend((mock, data) for data in taken)
                for mock, data in work:
                    if self._stopping:
                        break
                    payload = data.as_dict() if hasattr(data, "as_dict") else dict(data)
                    mock._handle(self._engine, job_from_data(payload))
            except Exception:  # never let one bad job kill the thread the whole test relies on
                logger.exception("a mocked job worker failed")
            finally:
                with self._cond:
                    self._busy = False
                    self.generation += 1
                    self._cond.notify_all()
