"""Test BPMN processes and the views that wait on them, in milliseconds, on the embedded engine.

::

    from zeebe_affinity_sync.testing import assert_that

    def test_order(zeebe_engine, zeebe_client):
        zeebe_engine.deploy("bpmn/order-process.bpmn")
        zeebe_engine.mock_job_worker("price-order").then_complete({"totalCents": 900})
        instance = zeebe_client.create_process_instance("order-process", {"orderId": "A-1"})
        assert_that(instance).is_completed().has_variable("totalCents", 900)

The pytest plugin (:mod:`.pytest_plugin`, entry point ``zeebe_affinity``) gives the fixtures
``zeebe_engine``, ``zeebe_client`` and ``zeebe_affinity_client``; ``docs/testing.md`` is the guide.
Names are loaded lazily (PEP 562): importing this package (as pytest does for the plugin) loads
neither the engine nor gRPC.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

__all__: List[str] = [
    "assert_that",
    "ANY",
    "ProcessInstanceAssert",
    "ProcessAssertionError",
    "TestEngineBusy",
    "ZeebeTestEngine",
    "JobWorkerMock",
    "AffinityTestStack",
    "current_affinity_client",
]

_WHERE: Dict[str, str] = {
    "assert_that": ".assertions",
    "ANY": ".assertions",
    "ProcessInstanceAssert": ".assertions",
    "ProcessAssertionError": ".errors",
    "TestEngineBusy": ".errors",
    "ZeebeTestEngine": ".engine",
    "JobWorkerMock": ".mocks",
    "AffinityTestStack": ".hub",
    "current_affinity_client": ".settings",
}


def __getattr__(name: str) -> Any:
    module_name = _WHERE.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .assertions import ANY, ProcessInstanceAssert, assert_that
    from .engine import ZeebeTestEngine
    from .errors import ProcessAssertionError, TestEngineBusy
    from .hub import AffinityTestStack
    from .mocks import JobWorkerMock
    from .settings import current_affinity_client
