"""Fixtures of the client/worker tests: a real EmbeddedZeebe over real gRPC, a recording fake
gateway beside it, and a clean environment (no ZEEBE_* / CAMUNDA_* leaking in from the shell)."""
from __future__ import annotations

import threading
from typing import Iterator

import pytest

from tests.client.fake_gateway import FakeServer
from zeebe_affinity_sync.zeebe import ZeebeClient

ENV_VARS = (
    "ZEEBE_ADDRESS",
    "CAMUNDA_SECURE_CONNECTION",
    "ZEEBE_CA_CERTIFICATE_PATH",
    "CAMUNDA_OAUTH_DISABLED",
    "ZEEBE_CLIENT_ID",
    "ZEEBE_CLIENT_SECRET",
    "ZEEBE_AUTHORIZATION_SERVER_URL",
    "ZEEBE_TOKEN_AUDIENCE",
    "ZEEBE_GRPC_ADDRESS",
    "ZEEBE_INSECURE_CONNECTION",
    "CAMUNDA_AUTH_STRATEGY",
    "CAMUNDA_OAUTH_URL",
    "CAMUNDA_TOKEN_AUDIENCE",
    "CAMUNDA_ZEEBE_OAUTH_AUDIENCE",
    "CAMUNDA_TOKEN_SCOPE",
    "CAMUNDA_TENANT_ID",
    "CAMUNDA_BASIC_AUTH_USERNAME",
    "CAMUNDA_BASIC_AUTH_PASSWORD",
    "CAMUNDA_CUSTOM_ROOT_CERT_PATH",
    "CAMUNDA_CUSTOM_ROOT_CERT_STRING",
    "CAMUNDA_CUSTOM_CERT_CHAIN_PATH",
    "CAMUNDA_CUSTOM_PRIVATE_KEY_PATH",
    "CAMUNDA_TOKEN_CACHE_DIR",
    "CAMUNDA_TOKEN_DISK_CACHE_DISABLE",
)


@pytest.fixture(autouse=True)
def clean_zeebe_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    # OAuth tokens of a test go to a folder of its own, never to the user's ~/.camunda
    monkeypatch.setenv("CAMUNDA_TOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("camunda-tokens")))


@pytest.fixture(autouse=True)
def no_worker_threads_left() -> Iterator[None]:
    """Every test must leave no worker thread behind (stop() joins them all).

    Threads that were already running before the test (e.g. workers of another folder's
    session-scoped fixtures, when the whole suite runs in one process) are not this test's.
    """
    before = set(threading.enumerate())
    yield
    left = [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("zeebe-worker-") and t.is_alive() and t not in before
    ]
    assert left == [], f"worker threads still running after the test: {left}"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """A recording fake gateway on a real gRPC server (port 0)."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def fake_client(fake: FakeServer) -> Iterator[ZeebeClient]:
    with ZeebeClient(fake.address) as client:
        yield client


@pytest.fixture(scope="module")
def engine() -> Iterator[object]:
    """A real EmbeddedZeebe on a free port, shared by the tests of one module."""
    from zeebe_affinity_sync.engine import EmbeddedZeebe

    with EmbeddedZeebe(port=0) as zeebe:
        yield zeebe


@pytest.fixture
def client(engine: object) -> Iterator[ZeebeClient]:
    with ZeebeClient(engine.address) as zc:  # type: ignore[attr-defined]
        yield zc
