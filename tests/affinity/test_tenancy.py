"""The affinity client passes a tenant through, against an engine with multi-tenancy on and the
real hub: instances and messages go to the tenant asked for, the relay worker serves its tenant."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.affinity.conftest import HERE, TOKEN
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.errors import AffinityTimeout, ProcessNotFoundError
from zeebe_affinity_sync.web import WebSettings, build_client


@pytest.fixture(scope="module")
def mt_engine() -> Iterator[EmbeddedZeebe]:
    with EmbeddedZeebe(multi_tenancy=True) as zeebe:
        zeebe.deploy(HERE / "bpmn" / "relay-first.bpmn", tenant_id="shop-a")
        yield zeebe


def test_create_and_publish_with_affinity_in_a_tenant(mt_engine: EmbeddedZeebe, hub: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from zeebe_affinity_sync import ZBAffinityClient

    monkeypatch.delenv("CAMUNDA_TENANT_ID", raising=False)
    # the relay worker serves shop-a (its client's default tenant)
    with ZBAffinityClient(mt_engine.address, hub.url, TOKEN, 10.0, tenant_id="shop-a") as service:
        service.create_affinity_worker(max_running_jobs=4, poll_request_timeout=1)
        with ZBAffinityClient(mt_engine.address, hub.url, TOKEN, 10.0) as client:  # no default tenant
            outcome = client.create_process_instance_with_affinity("relay-first", {"n": 5}, tenant_id="shop-a")
            assert outcome.variables == {"n": 5}
            instance = mt_engine.process_instance(outcome.process_instance_key)
            assert instance is not None and instance["tenant_id"] == "shop-a"
            with pytest.raises(ProcessNotFoundError):
                client.create_process_instance_with_affinity("relay-first", {"n": 6}, tenant_id="shop-b")
            result = client.create_process_instance_with_affinity(
                "relay-first", {"n": 7}, tenant_id="shop-a", strategy="with_result")
            assert result.variables["n"] == 7
            # a message round goes to the tenant asked for (nobody waits for it here: it times out)
            with pytest.raises(AffinityTimeout):
                client.publish_message_with_affinity("no-such-round", "k-1", outcome.process_instance_key,
                                                     {"text": "hi"}, tenant_id="shop-b", timeout=0.5)
            assert [(m["name"], m["tenant_id"]) for m in mt_engine.messages()] == [("no-such-round", "shop-b")]


def test_the_web_settings_tenant_becomes_the_client_default(mt_engine: EmbeddedZeebe) -> None:
    client = build_client(WebSettings(zeebe_address=mt_engine.address, strategy="with_result", tenant_id="shop-a"))
    try:
        assert client.tenant_id == "shop-a"
        assert client.create_process_instance("relay-first", {"n": 1}).tenant_id == "shop-a"
    finally:
        client.close()
    with pytest.raises(ValueError):
        WebSettings(strategy="with_result", tenant_id="")
