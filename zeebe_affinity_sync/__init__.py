"""zeebe-affinity-sync: answer an HTTP request with the outcome of the Zeebe process it started.

The public names are importable from here. They are loaded lazily (PEP 562) so that
``import zeebe_affinity_sync`` stays cheap and never opens a channel or starts a thread: that
matters under gunicorn ``--preload``, where the import happens before the fork.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from .errors import (
    AffinityError,
    AffinityOverloaded,
    AffinityTimeout,
    AffinityUnavailable,
    AlreadyExistsError,
    BackpressureError,
    BpmnError,
    ConfigurationError,
    FailedPreconditionError,
    GatewayUnavailableError,
    InternalGatewayError,
    InvalidArgumentError,
    JobNotFoundError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    ProcessFailed,
    ProcessNotFoundError,
    ProtocolError,
    ZeebeAffinityError,
    ZeebeError,
    ZeebeTimeoutError,
)

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY: Dict[str, str] = {
    "EmbeddedZeebe": "zeebe_affinity_sync.engine",
    "ZeebeClient": "zeebe_affinity_sync.zeebe.client",
    "JobWorker": "zeebe_affinity_sync.zeebe.worker",
    "Job": "zeebe_affinity_sync.zeebe.types",
    "Topology": "zeebe_affinity_sync.zeebe.types",
    "Deployment": "zeebe_affinity_sync.zeebe.types",
    "DeployedProcess": "zeebe_affinity_sync.zeebe.types",
    "ProcessInstance": "zeebe_affinity_sync.zeebe.types",
    "ProcessInstanceResult": "zeebe_affinity_sync.zeebe.types",
    "PublishedMessage": "zeebe_affinity_sync.zeebe.types",
    "ZBAffinityClient": "zeebe_affinity_sync.affinity.client",
    "RedisAffinity": "zeebe_affinity_sync.affinity.redis",
    "ProcessOutcome": "zeebe_affinity_sync.affinity.outcome",
}

__all__: List[str] = [
    "__version__",
    *_LAZY,
    "ZeebeAffinityError",
    "ConfigurationError",
    "ZeebeError",
    "GatewayUnavailableError",
    "BackpressureError",
    "ZeebeTimeoutError",
    "InvalidArgumentError",
    "NotFoundError",
    "ProcessNotFoundError",
    "JobNotFoundError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "PermissionDeniedError",
    "InternalGatewayError",
    "OAuthError",
    "ProtocolError",
    "BpmnError",
    "AffinityError",
    "AffinityTimeout",
    "AffinityOverloaded",
    "AffinityUnavailable",
    "ProcessFailed",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'zeebe_affinity_sync' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # cache: the next lookup is a plain attribute access
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .affinity.client import ZBAffinityClient
    from .affinity.outcome import ProcessOutcome
    from .affinity.redis import RedisAffinity
    from .engine import EmbeddedZeebe
    from .zeebe.client import ZeebeClient
    from .zeebe.types import (
        DeployedProcess,
        Deployment,
        Job,
        ProcessInstance,
        ProcessInstanceResult,
        PublishedMessage,
        Topology,
    )
    from .zeebe.worker import JobWorker
