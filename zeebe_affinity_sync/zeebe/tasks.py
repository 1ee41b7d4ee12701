"""The job worker's registered task types: :class:`TaskHandler` and how a handler is called."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from ..errors import ConfigurationError
from .types import Job

__all__ = ["Handler", "TaskHandler"]

Handler = Callable[..., Optional[Dict[str, Any]]]


def _check_tenant_ids(tenant_ids: Optional[Sequence[str]]) -> Optional[Tuple[str, ...]]:
    if tenant_ids is None:
        return None
    if isinstance(tenant_ids, (str, bytes)):
        raise ConfigurationError(f"tenant_ids must be a list of tenant ids, not a str: use [{tenant_ids!r}]")
    out = tuple(tenant_ids)
    for tenant in out:
        if not isinstance(tenant, str) or not tenant:
            raise ConfigurationError(f"tenant_ids must hold non-empty str tenant ids, got {tenant!r}")
    return out


def _wants_job(handler: Handler) -> Optional[bool]:
    """True: pass the Job; False: pass the variables; None: pass nothing."""
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if not positional:
        return None
    first = positional[0]
    annotation = first.annotation
    if annotation is Job:
        return True
    if isinstance(annotation, str) and annotation.split(".")[-1].strip("'\"") == "Job":
        return True
    return first.name == "job"


@dataclass(frozen=True)
class TaskHandler:
    """A registered task type and how its jobs are fetched and handled."""

    task_type: str
    handler: Handler
    timeout: float
    fetch_variables: Optional[Sequence[str]]
    max_jobs_to_activate: int
    retry_backoff: float
    wants_job: Optional[bool]
    stream: bool = False
    tenant_ids: Optional[Tuple[str, ...]] = None  # None: the client's default tenant

    def call(self, job: Job) -> Any:
        if self.wants_job is None:
            return self.handler()
        return self.handler(job if self.wants_job else dict(job.variables))
