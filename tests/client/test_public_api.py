"""The client-side names the package root exports lazily come from zeebe_affinity_sync.zeebe."""
from __future__ import annotations

import dataclasses

import pytest

import zeebe_affinity_sync
from zeebe_affinity_sync import zeebe


@pytest.mark.parametrize(
    "name",
    ["ZeebeClient", "JobWorker", "Job", "Topology", "Deployment", "DeployedProcess", "ProcessInstance",
     "ProcessInstanceResult", "PublishedMessage"],
)
def test_root_exports_resolve_to_the_zeebe_package(name: str) -> None:
    assert getattr(zeebe_affinity_sync, name) is getattr(zeebe, name)
    assert name in zeebe.__all__


def test_values_are_frozen_dataclasses() -> None:
    instance = zeebe.ProcessInstance(1, "p", 1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        instance.version = 3  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(zeebe.Job)] == [
        "key", "type", "process_instance_key", "bpmn_process_id", "process_definition_version",
        "process_definition_key", "element_id", "element_instance_key", "custom_headers", "worker",
        "retries", "deadline", "variables", "tenant_id",
    ]


def test_building_a_client_does_no_io() -> None:
    client = zeebe.ZeebeClient("unreachable.invalid:26500")  # no DNS lookup, no channel yet
    assert client._channel._state is None
    client.close()
