"""``ZeebeTestEngine``: the embedded engine plus what a process test needs (mocks, stepwise commands).

It *is* an :class:`~zeebe_affinity_sync.engine.EmbeddedZeebe` (same gRPC server, same record log,
clock, ``reset()`` and idle detection), with:

- :meth:`~ZeebeTestEngine.mock_job_worker` and :meth:`~ZeebeTestEngine.mock_child_process`;
- :meth:`~ZeebeTestEngine.complete_job`, :meth:`~ZeebeTestEngine.throw_bpmn_error`,
  :meth:`~ZeebeTestEngine.fail_job` and :meth:`~ZeebeTestEngine.complete_user_task` by job type /
  element id, for tests that walk a process step by step;
- :meth:`~ZeebeTestEngine.wait_for_idle` that also waits for the mocks: a mocked job that has not
  been answered yet is work to do, so after it returns every mock has run and the engine has
  nothing left to do on its own.

The ``zeebe_engine`` fixture gives one per test session (per xdist worker), reset before each test.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any, Dict, List, Optional, Tuple, Union

from ..engine import EmbeddedZeebe
from ..errors import ConfigurationError
from ..zeebe.types import ProcessInstance
from . import models
from .errors import ProcessAssertionError, TestEngineBusy
from .mocks import JobWorkerMock, MockDriver
from .snapshot import index_of
from .synthetic import child_process_bpmn

__all__ = ["ZeebeTestEngine", "DEFAULT_IDLE_TIMEOUT"]

logger = logging.getLogger(__name__)

#: Default wait of :meth:`ZeebeTestEngine.wait_for_idle` and of the stepwise commands, seconds.
DEFAULT_IDLE_TIMEOUT = 5.0
#: While a stepwise command finds nothing to act on, it looks again this often (s).
_POLL_MAX = 0.02
#: Zeebe's job type of a user task without ``zeebe:userTask`` (a job-worker user task).
_JOB_WORKER_USER_TASK = "io.camunda.zeebe:userTask"

ResourceLike = Union[str, "os.PathLike[str]", bytes, Tuple[str, Union[bytes, str]]]


class ZeebeTestEngine(EmbeddedZeebe):
    """An :class:`~zeebe_affinity_sync.engine.EmbeddedZeebe` with mocks and stepwise commands.

    Args:
        **kwargs: Passed to :class:`~zeebe_affinity_sync.engine.EmbeddedZeebe` (``port`` 0 by default).

    Raises:
        ConfigurationError: ``record_log_size=0`` (the assertions need the record log), or a bad
            engine setting.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("port", 0)
        if kwargs.get("record_log_size", 1) == 0:
            raise ConfigurationError("ZeebeTestEngine needs the record log (the assertions read it): leave "
                                     "record_log_size at its default or give a positive size")
        super().__init__(**kwargs)
        # _driver: created with the first mock of a test, stopped by reset(); guarded by
        # _driver_lock (any test thread may make a mock; the driver itself is thread-safe)
        self._driver_lock = threading.Lock()
        self._driver: Optional[MockDriver] = None

    # ------------------------------------------------------------------ deploy
    def deploy(self, *resources: ResourceLike) -> List[Dict[str, Any]]:  # type: ignore[override]
        """Deploy BPMN: paths (``str`` or ``pathlib.Path``; a folder deploys its ``*.bpmn`` files),
        ``(name, bytes_or_text)`` tuples, or the XML itself (``bytes``, or a ``str`` starting with ``<``).

        Returns:
            One dict per deployed process: ``bpmn_process_id``, ``version``,
            ``process_definition_key``, ``resource_name``.

        Raises:
            FileNotFoundError: A path does not exist (or a folder has no ``.bpmn`` file).
            InvalidArgumentError: Invalid or unsupported BPMN (the message says where).
            TypeError: Something that is none of the above.
        """
        if not resources:
            raise TypeError("deploy() needs at least one BPMN file or resource")
        loaded: List[Tuple[str, bytes]] = []
        for index, resource in enumerate(resources):
            if isinstance(resource, tuple) and len(resource) == 2 and isinstance(resource[0], str):
                name, content = resource
                loaded.append((name, content.encode() if isinstance(content, str) else bytes(content)))
            elif isinstance(resource, bytes):
                loaded.append((f"resource-{index + 1}.bpmn", resource))
            elif isinstance(resource, str) and resource.lstrip().startswith("<"):
                loaded.append((f"resource-{index + 1}.bpmn", resource.encode()))
            elif isinstance(resource, (str, os.PathLike)) and os.path.isdir(resource):
                folder = os.fspath(resource)
                names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".bpmn", ".bpmn20.xml")))
                if not names:
                    raise FileNotFoundError(f"no .bpmn file in the folder {folder!r}")
                for name in names:
                    with open(os.path.join(folder, name), "rb") as fh:
                        loaded.append((name, fh.read()))
            elif isinstance(resource, (str, os.PathLike)):
                path = os.fspath(resource)
                with open(path, "rb") as fh:
                    loaded.append((os.path.basename(path), fh.read()))
            else:
                raise TypeError(f"cannot deploy a {type(resource).__name__}: give a path, (name, bytes) or BPMN XML")
        return super().deploy(*loaded)

    # ------------------------------------------------------------------ instances and messages (no gRPC)
    def create_process_instance(self, bpmn_process_id: str, variables: Optional[Dict[str, Any]] = None, *,
                                version: Optional[int] = None) -> ProcessInstance:
        """Start an instance directly on the engine (what ``zeebe_client.create_process_instance``
        does over gRPC, with the same answer).

        Raises:
            ProcessNotFoundError: No such process deployed. TypeError: ``variables`` is not a dict.
        """
        if variables is not None and not isinstance(variables, dict):
            raise TypeError(f"variables must be a dict, got {type(variables).__name__}")
        summary, _ = self.engine.create_instance(bpmn_process_id, version=-1 if version is None else version,
                                                 variables=dict(variables or {}))
        self._settle_after()
        return ProcessInstance(process_definition_key=summary["process_definition_key"],
                               bpmn_process_id=summary["bpmn_process_id"], version=summary["version"],
                               process_instance_key=summary["process_instance_key"])

    def publish_message(self, name: str, correlation_key: str, variables: Optional[Dict[str, Any]] = None, *,
                        time_to_live: float = 60.0, message_id: str = "") -> int:
        """Publish a message directly on the engine (what ``zeebe_client.publish_message`` does over
        gRPC; ``time_to_live`` in seconds, default 60 as there: it waits that long, under the engine
        clock, for a subscription). Returns the message key."""
        if variables is not None and not isinstance(variables, dict):
            raise TypeError(f"variables must be a dict, got {type(variables).__name__}")
        key = int(self.engine.publish_message(name, correlation_key, int(time_to_live * 1000), message_id,
                                              dict(variables or {})))
        self._settle_after()
        return key

    # ------------------------------------------------------------------ mocks
    def mock_job_worker(self, job_type: str) -> JobWorkerMock:
        """Answer every job of ``job_type`` with a mock (default: complete without variables).

        Calling it again for the same type returns the same mock (its ``then_*`` replaces the
        behaviour). Mocks live until the engine is reset (the next test).

        Raises:
            ValueError: Empty ``job_type``.
        """
        if not isinstance(job_type, str) or not job_type:
            raise ValueError(f"job_type must be a non-empty string (the task type), got {job_type!r}")
        with self._driver_lock:
            if self._driver is None:
                self._driver = MockDriver(self.engine)
            driver = self._driver
        return driver.mock(job_type)

    @property
    def mocks(self) -> Dict[str, JobWorkerMock]:
        """The mocks of this test, by job type."""
        return self._driver.mocks if self._driver is not None else {}

    def mock_child_process(self, bpmn_process_id: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Deploy a stand-in process ``bpmn_process_id`` that sets ``variables`` and ends at once,
        so a call activity to it completes at once with them.

        It is deployed as a new version, so it wins over a real process of that id deployed
        before it (deploy the real one again afterwards to undo).

        Returns:
            The deployed process (``bpmn_process_id``, ``version``, ``process_definition_key``...).

        Raises:
            ValueError / TypeError: Not a process id, not variable names, non-JSON values.
        """
        xml = child_process_bpmn(bpmn_process_id, variables)
        return super().deploy((f"mock-{bpmn_process_id}.bpmn", xml))[0]

    # ------------------------------------------------------------------ idle
    def is_idle(self) -> bool:
        """The engine has nothing to do on its own and no mocked job waits to be answered."""
        driver = self._driver
        if driver is not None and not driver.quiet():
            return False
        return bool(super().is_idle())

    def wait_for_idle(self, timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
        """Return once every mock has answered its jobs and the engine has nothing left to do.

        Decided from state (mock queues, the engine's agenda and due timers), not by sleeping: a
        job waiting for a real worker, a message subscription or a timer not yet due under the
        engine clock count as idle.

        Raises:
            TestEngineBusy: Still busy after ``timeout`` seconds (a ``TimeoutError``; the message
                names what is busy).
        """
        deadline = time.monotonic() + timeout
        driver = self._driver
        while True:
            generation = driver.generation if driver is not None else 0
            if driver is not None and not driver.wait_quiet(max(0.0, deadline - time.monotonic())):
                raise TestEngineBusy(f"the engine is not idle after {timeout:g} s: mocked jobs still to answer "
                                     f"{driver.pending()}", busy=[f"mocked jobs {driver.pending()}"])
            # The engine's scheduler counts a callback as running from the moment it takes it, and
            # token flow runs inside the command that starts it: one idle look is enough here,
            # so the common case (already idle) costs no sleep.
            if not EmbeddedZeebe.is_idle(self):
                try:
                    super().wait_for_idle(timeout=max(0.001, deadline - time.monotonic()))
                except TimeoutError as exc:
                    raise TestEngineBusy(str(exc), busy=list(getattr(exc, "busy", []))) from exc
            if driver is None or (driver.quiet() and driver.generation == generation):
                return  # no mock got or answered a job while the engine settled
            if time.monotonic() >= deadline:
                raise TestEngineBusy(f"the engine is not idle after {timeout:g} s: the mocks keep getting jobs "
                                     f"({', '.join(driver.mocks)})", busy=["mocks"])
            # a mock answered a job meanwhile: look again (each look blocks until quiet, no spinning)

    # ------------------------------------------------------------------ stepwise commands
    def complete_job(self, job_type: str, variables: Optional[Dict[str, Any]] = None, *,  # type: ignore[override]
                     process_instance_key: Optional[int] = None,
                     timeout: float = DEFAULT_IDLE_TIMEOUT) -> int:
        """Complete the oldest waiting job of ``job_type`` (of one instance, if given).

        Returns:
            The job's key.

        Raises:
            ProcessAssertionError: No such job within ``timeout`` seconds (at once when no deployed
                process has a task of that type); the message lists the jobs that are waiting.
        """
        job = self._waiting_job(job_type, process_instance_key, timeout)
        self.engine.complete_job(job["key"], dict(variables or {}))
        self._settle_after()
        return int(job["key"])

    def throw_bpmn_error(self, job_type: str, code: str, message: str = "",
                         variables: Optional[Dict[str, Any]] = None, *, process_instance_key: Optional[int] = None,
                         timeout: float = DEFAULT_IDLE_TIMEOUT) -> int:
        """Throw the BPMN error ``code`` from the oldest waiting job of ``job_type``.

        Returns:
            The job's key.

        Raises:
            ProcessAssertionError: No such job (see :meth:`complete_job`).
        """
        if not isinstance(code, str) or not code:
            raise ValueError(f"the error code must be a non-empty string, got {code!r}")
        job = self._waiting_job(job_type, process_instance_key, timeout)
        self.engine.throw_error(job["key"], code, message, dict(variables) if variables else None)
        self._settle_after()
        return int(job["key"])

    def fail_job(self, job_type: str, message: str = "", retries: int = 0, *,  # type: ignore[override]
                 process_instance_key: Optional[int] = None, timeout: float = DEFAULT_IDLE_TIMEOUT) -> int:
        """Fail the oldest waiting job of ``job_type``, leaving it ``retries`` retries (0: incident).

        Returns:
            The job's key.

        Raises:
            ProcessAssertionError: No such job (see :meth:`complete_job`).
        """
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        job = self._waiting_job(job_type, process_instance_key, timeout)
        self.engine.fail_job(job["key"], retries, message)
        self._settle_after()
        return int(job["key"])

    def complete_user_task(self, element_id: Union[str, int], variables: Optional[Dict[str, Any]] = None, *,
                           process_instance_key: Optional[int] = None,
                           timeout: float = DEFAULT_IDLE_TIMEOUT) -> Any:
        """Complete the oldest open user task ``element_id`` (a BPMN id, or a user task key) -
        a Camunda user task, or a job-worker user task (its ``io.camunda.zeebe:userTask`` job).

        Waits (up to ``timeout`` s) for the engine to settle first, so a task the flow is about to
        reach is found. Fails at once when no deployed process has a user task of that id.

        Returns:
            The user task's (or job's) key.

        Raises:
            ProcessAssertionError: No such user task (the message lists the open ones).
        """
        if isinstance(element_id, str):
            kinds = {kind for definition in models.definitions(self.engine)
                     for eid, kind in models.element_kinds(self.engine, definition.key).items() if eid == element_id}
            if not kinds:
                known = sorted({eid for definition in models.definitions(self.engine)
                                for eid, kind in models.element_kinds(self.engine, definition.key).items()
                                if "user" in kind.lower()})
                raise ProcessAssertionError(
                    f"no deployed process has a user task with id {element_id!r}{models.suggest(element_id, known)}; "
                    f"user tasks: {', '.join(known) or 'none'}")
        deadline = time.monotonic() + timeout
        while True:
            self._settle(deadline)
            tasks = self.user_tasks(process_instance_key=process_instance_key)
            match = [t for t in tasks if element_id in (t.get("element_id"), t.get("key"))]
            if match:  # the oldest, like complete_job (several instances may wait at the same task)
                super().complete_user_task(match[0]["key"], variables)
                self._settle_after()
                return match[0]["key"]
            # a job-worker user task (no zeebe:userTask) is a job of Zeebe's reserved type
            jobs = [j for j in self.jobs() if j["type"] == _JOB_WORKER_USER_TASK and element_id in (j["element_id"], j["key"])
                    and j["state"] in ("ACTIVATABLE", "ACTIVATED")
                    and (process_instance_key is None or j["process_instance_key"] == process_instance_key)]
            if jobs:
                self.engine.complete_job(jobs[0]["key"], dict(variables or {}))
                self._settle_after()
                return jobs[0]["key"]
            if time.monotonic() >= deadline:
                open_tasks = ", ".join(f"{t.get('element_id')} (instance {t.get('process_instance_key')})"
                                       for t in tasks) or "none"
                raise ProcessAssertionError(f"no open user task {element_id!r} after {timeout:g} s; open user "
                                            f"tasks: {open_tasks}")
            time.sleep(_POLL_MAX)

    def increase_time(self, amount: Union[float, int, timedelta]) -> None:  # type: ignore[override]
        """Move the engine clock forward (seconds or a ``timedelta``): every timer, job deadline,
        backoff and message TTL that became due fires, in due order; then the flow they started
        settles, mocks included, so a test can look at once.

        Raises:
            ValueError: A negative amount.
        """
        super().increase_time(amount)
        self._settle_after()

    def _settle_after(self) -> None:
        # After a command of this class: let the flow it started (and the mocks) finish, so what a
        # test checks next is deterministic. A flow that does not settle is left to the
        # assertion that follows, which reports where it is.
        try:
            self.wait_for_idle(DEFAULT_IDLE_TIMEOUT)
        except TimeoutError as exc:
            logger.debug("the engine did not settle after a test command: %s", exc)

    def _settle(self, deadline: float) -> None:
        try:
            self.wait_for_idle(max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            pass  # the caller looks anyway and reports what it found

    def _waiting_job(self, job_type: str, process_instance_key: Optional[int], timeout: float) -> Dict[str, Any]:
        if not isinstance(job_type, str) or not job_type:
            raise ValueError(f"job_type must be a non-empty string (the task type), got {job_type!r}")
        types = models.job_types(self.engine)
        if None not in types and job_type not in types:
            known = sorted(t for t in types if t)
            raise ProcessAssertionError(
                f"no deployed process has a service task of type {job_type!r}{models.suggest(job_type, known)}; "
                f"job types: {', '.join(known) or 'none'}")
        deadline = time.monotonic() + timeout
        while True:
            self._settle(deadline)
            jobs = [j for j in self.jobs() if j["type"] == job_type and j["state"] in ("ACTIVATABLE", "ACTIVATED")
                    and (process_instance_key is None or j["process_instance_key"] == process_instance_key)]
            # a job nobody holds first; one a worker holds only if there is no other
            jobs.sort(key=lambda j: (j["state"] != "ACTIVATABLE", j["key"]))
            if jobs:
                return jobs[0]
            if time.monotonic() >= deadline:
                waiting = ", ".join(f"{j['type']} at {j['element_id']} ({j['state'].lower()}, instance "
                                    f"{j['process_instance_key']})" for j in self.jobs()) or "none"
                scope = f" of instance {process_instance_key}" if process_instance_key is not None else ""
                raise ProcessAssertionError(f"no job of type {job_type!r}{scope} to answer after {timeout:g} s; "
                                            f"jobs: {waiting}")
            time.sleep(_POLL_MAX)

    # ------------------------------------------------------------------ lifecycle
    def stop_mocks(self) -> None:
        """Stop this test's mocks (their thread ends; unanswered jobs stay in the engine)."""
        with self._driver_lock:
            driver, self._driver = self._driver, None
        if driver is not None:
            driver.stop()

    def reset(self) -> None:
        """Stop the mocks, then reset the engine to empty (definitions, instances, jobs, messages,
        timers, incidents, user tasks, records, clock); the server keeps running."""
        self.stop_mocks()
        super().reset()
        index_of(self).clear()

    def stop(self, grace: Optional[float] = None) -> None:  # type: ignore[override]
        self.stop_mocks()
        if grace is None:
            super().stop()
        else:
            super().stop(grace)
