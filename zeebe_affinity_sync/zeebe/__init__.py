"""The synchronous Zeebe client and job worker, over our generated gateway stub.

- :class:`ZeebeClient` (``client.py``): every gateway call the library needs, thread-safe; put
  together from ``gateway_calls.py`` (one call: deadline, retry, error mapping),
  ``process_commands.py``, ``job_commands.py`` + ``job_streams.py`` and ``encoding.py``
  (argument checks and encoding).
- :class:`JobWorker` (``worker.py``): pollers and a bounded handler pool.
- ``types.py``: the frozen dataclasses both hand out (no protobuf leaks out).
- ``config.py`` / ``channel.py`` / ``oauth.py`` / ``retry.py``: settings, the lazy per-process
  channel, OAuth client credentials, and backoff.
"""
from __future__ import annotations

from .client import ZeebeClient
from .types import (
    BrokerInfo,
    DecisionEvaluation,
    DeployedProcess,
    Deployment,
    Job,
    PartitionInfo,
    ProcessInstance,
    ProcessInstanceResult,
    PublishedMessage,
    SignalBroadcast,
    Topology,
)
from .worker import JobWorker

__all__ = [
    "ZeebeClient",
    "JobWorker",
    "Job",
    "Topology",
    "BrokerInfo",
    "PartitionInfo",
    "Deployment",
    "DeployedProcess",
    "ProcessInstance",
    "ProcessInstanceResult",
    "PublishedMessage",
    "SignalBroadcast",
    "DecisionEvaluation",
]
