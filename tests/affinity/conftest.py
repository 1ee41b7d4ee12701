"""Fixtures of the affinity tests: one real EmbeddedZeebe and one real hub (gunicorn) for the
folder, the helper workers the test processes need, and a relay worker per transport.

Processes (``tests/affinity/bpmn`` and ``docs/failure-outcomes.bpmn``) are deployed twice: as they
are, relayed by the hub relay worker (task type ``publish-outcome``), and as ``<id>-redis``
copies whose relay tasks have the type ``publish-outcome-redis``, relayed by a Redis relay worker.
"""
from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from tests.support.redis_server import RedisServer
from zeebe_affinity_sync.errors import BpmnError

HERE = Path(__file__).parent
BPMN_FILES = sorted((HERE / "bpmn").glob("*.bpmn")) + [HERE.parent.parent / "docs" / "failure-outcomes.bpmn"]
TOKEN = "affinity-test-token"
REDIS_RELAY_TYPE = "publish-outcome-redis"
REDIS_PREFIX = "zas-test"
CARD_LIMIT = 100


PROCESS_IDS = ("relay-first", "compute", "gated", "chat", "parent-call", "child-relay", "charge-order")


def variant(path: Path, suffix: str, relay_type: str) -> Tuple[str, bytes]:
    """The same process under ``<id><suffix>`` with its relay tasks of type ``relay_type``."""
    text = path.read_text(encoding="utf-8")
    for process_id in PROCESS_IDS:
        text = text.replace(f'id="{process_id}"', f'id="{process_id}{suffix}"')
        text = text.replace(f'processId="{process_id}"', f'processId="{process_id}{suffix}"')
    text = text.replace('type="publish-outcome"', f'type="{relay_type}"')
    return f"{suffix.strip('-')}-{path.name}", text.encode("utf-8")


def redis_variant(path: Path) -> Tuple[str, bytes]:
    return variant(path, "-redis", REDIS_RELAY_TYPE)


class Gates:
    """Test-controlled gates: a job of type ``gate`` (or a chat round whose text starts with
    ``slow``) blocks until the test opens the gate named by its variables."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: Dict[str, threading.Event] = {}  # name -> event; guarded by _lock
        self.arrived: Dict[str, threading.Event] = {}  # name -> set when a job reached it

    def _get(self, table: Dict[str, threading.Event], name: str) -> threading.Event:
        with self._lock:
            return table.setdefault(name, threading.Event())

    def open(self, name: str) -> None:
        self._get(self._events, name).set()

    def reached(self, name: str, timeout: float = 30.0) -> bool:
        return self._get(self.arrived, name).wait(timeout)

    def pass_through(self, name: str) -> None:
        self._get(self.arrived, name).set()
        if not self._get(self._events, name).wait(60):
            raise RuntimeError(f"gate {name!r} was never opened")


@pytest.fixture(autouse=True)
def _clean_affinity_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZEEBE_ADDRESS", "ZEEBE_AFFINITY_URL", "ZEEBE_AFFINITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def gates() -> Gates:
    return Gates()


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """One real EmbeddedZeebe for the folder, every test process deployed (both variants)."""
    from zeebe_affinity_sync.engine import EmbeddedZeebe
    from zeebe_affinity_sync.zeebe.client import ZeebeClient

    with EmbeddedZeebe(port=0) as zeebe:
        with ZeebeClient(zeebe.address) as client:
            resources: List[Any] = [str(p) for p in BPMN_FILES]
            resources += [redis_variant(p) for p in BPMN_FILES]
            client.deploy_resource(*resources)
        yield zeebe


@pytest.fixture(scope="session")
def helper_workers(engine: Any, gates: Gates) -> Iterator[None]:
    """Workers of the non-relay tasks: square, chat-answer, charge-card, gate."""
    from zeebe_affinity_sync.zeebe.worker import JobWorker

    fast = JobWorker(gateway_address=engine.address, name="helpers", max_running_jobs=8)
    slow = JobWorker(gateway_address=engine.address, name="gates", max_running_jobs=24)

    @fast.task("square")
    def square(variables: Dict[str, Any]) -> Dict[str, Any]:
        return {"square": variables["n"] * variables["n"]}

    @fast.task("charge-card", retry_backoff=0.0)
    def charge(variables: Dict[str, Any]) -> Dict[str, Any]:
        if variables["amount"] > CARD_LIMIT:
            raise BpmnError("card-declined", "over the limit", {"reason": f"limit is {CARD_LIMIT}"})
        return {"charged": variables["amount"]}

    @slow.task("chat-answer")
    def answer(variables: Dict[str, Any]) -> Dict[str, Any]:
        text = variables["text"]
        if text.startswith("slow"):
            gates.pass_through(text)
        return {"answer": f"you said {text}", "chatFinished": text == "bye"}

    @slow.task("gate")
    def gate(variables: Dict[str, Any]) -> Dict[str, Any]:
        gates.pass_through(variables["gate"])
        return {"passed": variables["gate"]}

    with fast, slow:
        yield


@pytest.fixture(scope="session")
def hub() -> Iterator[Any]:
    """One real hub under gunicorn for the folder (tests that restart a hub start their own)."""
    from zeebe_affinity_sync.demo.hub_runner import HubProcess

    with HubProcess(token=TOKEN) as process:
        yield process


@pytest.fixture(scope="session")
def hub_relay(engine: Any, hub: Any, helper_workers: None) -> Iterator[Any]:
    """The relay worker service of the hub flavour (its own client and connection)."""
    from zeebe_affinity_sync import ZBAffinityClient

    with ZBAffinityClient(engine.address, hub.url, TOKEN, 10.0) as service:
        service.create_affinity_worker(max_running_jobs=32)
        yield service


@pytest.fixture
def hub_client(engine: Any, hub: Any, hub_relay: Any) -> Iterator[Any]:
    """A fresh client, as one web process would hold it."""
    from zeebe_affinity_sync import ZBAffinityClient

    client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0)
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_relay(engine: Any, redis_server: RedisServer, helper_workers: None) -> Iterator[Any]:
    from zeebe_affinity_sync import RedisAffinity

    with RedisAffinity(engine.address, redis_server.url, channel_prefix=REDIS_PREFIX,
                       affinity_timeout=10.0) as service:
        service.create_affinity_worker(REDIS_RELAY_TYPE, max_running_jobs=32)
        yield service


@pytest.fixture
def redis_client(engine: Any, redis_server: RedisServer, redis_relay: Any) -> Iterator[Any]:
    from zeebe_affinity_sync import RedisAffinity

    client = RedisAffinity(engine.address, redis_server.url, channel_prefix=REDIS_PREFIX,
                           affinity_timeout=30.0)
    yield client
    client.close()


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the same engine) uses."""
    return f"{prefix}-{os.getpid()}-{threading.get_ident()}-{next(_COUNTER)}"


_COUNTER = itertools.count()



class Flavour:
    """One transport under test: its client and the suffix of its process ids."""

    def __init__(self, name: str, client: Any, suffix: str, make_client: Any, hub: Any = None) -> None:
        self.name = name
        self.hub = hub  # the HubProcess of the hub flavour
        self.client = client
        self.suffix = suffix
        self.make_client = make_client  # another replica: make_client(**options)

    def pid(self, process_id: str) -> str:
        return process_id + self.suffix


@pytest.fixture(params=["hub", "redis"])
def flavour(request: pytest.FixtureRequest, engine: Any) -> Iterator[Flavour]:
    """Each end-to-end test runs over the hub and over Redis."""
    from zeebe_affinity_sync import RedisAffinity, ZBAffinityClient

    made: List[Any] = []
    if request.param == "hub":
        hub = request.getfixturevalue("hub")
        request.getfixturevalue("hub_relay")

        def make(**options: Any) -> Any:
            options.setdefault("affinity_timeout", 30.0)
            client = ZBAffinityClient(engine.address, hub.url, TOKEN, **options)
            made.append(client)
            return client

        suffix = ""
    else:
        server = request.getfixturevalue("redis_server")
        request.getfixturevalue("redis_relay")

        def make(**options: Any) -> Any:
            options.setdefault("affinity_timeout", 30.0)
            client = RedisAffinity(engine.address, server.url, channel_prefix=REDIS_PREFIX, **options)
            made.append(client)
            return client

        suffix = "-redis"
    try:
        hub_process = request.getfixturevalue("hub") if request.param == "hub" else None
        yield Flavour(request.param, make(), suffix, make, hub_process)
    finally:
        for client in made:
            client.close()
