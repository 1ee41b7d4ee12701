"""``LocalStack``: everything the demo needs on one laptop, with no broker and no Redis.

It starts, in this order, the embedded Zeebe engine (in-process gRPC server), the affinity hub
(real gunicorn, in a child process), deploys the demo's BPMN, and starts the affinity worker
(``publish-outcome``) and the business workers. :meth:`LocalStack.stop` undoes it in reverse
order; it is safe to call more than once and after a failed start.

::

    with LocalStack() as stack:
        app = create_app(stack.flask_config())
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Callable, Dict, List, Optional, Sequence

from . import BPMN_FILES
from .workers import register

__all__ = ["LocalStack"]

logger = logging.getLogger(__name__)


class LocalStack:
    """Embedded engine + hub + affinity worker + business workers.

    Args:
        token: Hub token (default: a random one, so the demo exercises authentication).
        bpmn_files: Process definitions to deploy (default: the demo's).
        registrars: ``register(worker)`` callables for the business worker (default: the demo's).
        max_running_jobs: Handler threads of each worker.
        workers: Start the affinity worker and the business workers (``False``: engine and hub
            only, for running the workers elsewhere, e.g. ``manage.py zeebe_workers``).
    """

    def __init__(
        self,
        *,
        token: Optional[str] = None,
        bpmn_files: Sequence[str] = BPMN_FILES,
        registrars: Sequence[Callable[[Any], Any]] = (register,),
        max_running_jobs: int = 32,
        workers: bool = True,
    ) -> None:
        self.workers = workers
        self.token = token if token is not None else secrets.token_hex(20)  # hex: never starts with "-"
        self.bpmn_files = tuple(bpmn_files)
        self.registrars = tuple(registrars)
        self.max_running_jobs = max_running_jobs
        # All set by start() in the caller's thread, read-only afterwards; stop() clears them.
        self.engine: Any = None
        self.hub: Any = None
        self.client: Any = None
        self.affinity_worker: Any = None
        self.business_worker: Any = None

    @property
    def zeebe_address(self) -> str:
        if self.engine is None:
            raise RuntimeError("LocalStack is not started: call start() first")
        return str(self.engine.address)

    @property
    def hub_url(self) -> str:
        if self.hub is None:
            raise RuntimeError("LocalStack is not started: call start() first")
        return str(self.hub.url)

    def environ(self) -> Dict[str, str]:
        """The ``ZEEBE_*`` environment variables pointing at this stack (for a Django process,
        or a gunicorn child)."""
        return {
            "ZEEBE_ADDRESS": self.zeebe_address,
            "ZEEBE_AFFINITY_URL": self.hub_url,
            "ZEEBE_AFFINITY_TOKEN": self.token,
        }

    def flask_config(self) -> Dict[str, Any]:
        """The same as Flask config keys (the extension's keys are the variables' names)."""
        return dict(self.environ())

    def start(self) -> "LocalStack":
        """Start everything; on any failure, stop what was started and re-raise."""
        from ..affinity.client import ZBAffinityClient
        from ..engine import EmbeddedZeebe
        from ..hub.runner import HubProcess
        from ..zeebe.worker import JobWorker

        try:
            self.engine = EmbeddedZeebe(port=0)
            self.engine.start()
            self.hub = HubProcess(token=self.token)
            self.hub.start()
            logger.info("affinity hub (gunicorn pid %s) listening on %s", self.hub.pid, self.hub.url)
            self.client = ZBAffinityClient(
                self.engine.address, affinity_url=self.hub.url, affinity_token=self.token
            )
            if self.bpmn_files:
                deployment = self.client.deploy_resource(*self.bpmn_files)
                logger.info(
                    "deployed %s",
                    ", ".join(f"{p.bpmn_process_id} v{p.version}" for p in deployment.processes),
                )
            if not self.workers:
                return self
            self.affinity_worker = self.client.create_affinity_worker(
                name="demo-affinity", max_running_jobs=self.max_running_jobs
            )
            self.business_worker = JobWorker(
                self.client, name="demo-business", max_running_jobs=self.max_running_jobs
            )
            for registrar in self.registrars:
                registrar(self.business_worker)
            self.business_worker.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop workers, client, hub and engine (in that order); errors are logged, not raised."""
        steps: List[Any] = [
            ("business worker", self.business_worker, lambda w: w.stop()),
            ("affinity client and its relay worker", self.client, lambda c: c.close()),
            ("hub", self.hub, lambda h: h.stop()),
            ("engine", self.engine, lambda e: e.stop()),
        ]
        for name, part, stop in steps:
            if part is None:
                continue
            try:
                stop(part)
            except Exception:  # keep stopping the rest: a leaked hub process is worse
                logger.exception("stopping the %s failed", name)
        self.business_worker = self.affinity_worker = self.client = self.hub = self.engine = None

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
