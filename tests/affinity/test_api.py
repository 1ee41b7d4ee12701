"""The client's API contract: bad input fails before any I/O with a clear message, nothing starts
before first use (fork safety), the with_result strategy, the public exports."""
from __future__ import annotations

import os
import threading
from typing import Any

import pytest

import zeebe_affinity_sync
from tests.affinity.conftest import TOKEN
from zeebe_affinity_sync import ProcessOutcome, RedisAffinity, ZBAffinityClient, protocol
from zeebe_affinity_sync.errors import ConfigurationError

NOWHERE = "127.0.0.1:1"  # nothing listens: any network call would fail differently


def test_public_names_are_exported_lazily() -> None:
    assert zeebe_affinity_sync.ZBAffinityClient is ZBAffinityClient
    assert zeebe_affinity_sync.RedisAffinity is RedisAffinity
    assert zeebe_affinity_sync.ProcessOutcome is ProcessOutcome


def test_missing_or_bad_hub_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="ZEEBE_AFFINITY_URL"):
        ZBAffinityClient(NOWHERE)
    with pytest.raises(ConfigurationError, match="ws://"):
        ZBAffinityClient(NOWHERE, "http://localhost:8089")
    monkeypatch.setenv("ZEEBE_AFFINITY_URL", "ws://hub.example:8089")
    monkeypatch.setenv("ZEEBE_AFFINITY_TOKEN", "from-env")
    client = ZBAffinityClient(NOWHERE)
    assert (client.affinity_url, client.affinity_token) == ("ws://hub.example:8089", "from-env")
    client.close()


@pytest.mark.parametrize("options, match", [
    ({"affinity_timeout": 0}, "affinity_timeout"),
    ({"max_pending": 0}, "max_pending"),
    ({"strategy": "carrier-pigeon"}, "strategy"),
    ({"ping_interval": -1}, "ping_interval"),
])
def test_bad_options_are_refused(options: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        ZBAffinityClient(NOWHERE, "ws://localhost:8089", **options)


def test_bad_redis_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisAffinity(NOWHERE, "localhost:6379")
    with pytest.raises(ConfigurationError, match="channel_prefix"):
        RedisAffinity(NOWHERE, "redis://localhost:6379/0", channel_prefix="has space")


def test_bad_variables_fail_before_any_io() -> None:
    with ZBAffinityClient(NOWHERE, "ws://127.0.0.1:1/") as client:
        with pytest.raises(TypeError, match="dict"):
            client.create_process_instance_with_affinity("p", [1, 2])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="reserved"):
            client.create_process_instance_with_affinity("p", {protocol.REQUEST_ID_VARIABLE: "x"})
        with pytest.raises(TypeError, match="process_instance_key"):
            client.publish_message_with_affinity("m", "c", "123")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="process_instance_key"):
            client.get_outcome("123")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="timeout"):
            client.create_process_instance_with_affinity("p", {}, timeout=-1)
        assert client._state is None  # nothing was started


def test_nothing_starts_before_first_use_and_a_new_pid_gets_its_own_connection(
    engine: Any, hub: Any, hub_relay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {t.ident for t in threading.enumerate()}
    client = ZBAffinityClient(engine.address, hub.url, TOKEN, 30.0)
    assert {t.ident for t in threading.enumerate()} == before  # safe to build before a fork
    try:
        assert client.create_process_instance_with_affinity("relay-first", {"n": 1}).variables == {"n": 1}
        parent_state = client._state
        assert parent_state is not None and parent_state.pid == os.getpid()
        # what a forked child sees: the same object, another pid. Only on this thread: the
        # session's relay service runs in this process too, and its threads must not believe
        # they were forked (they would leave their own connection and workers behind)
        real_pid, real_getpid, this_thread = os.getpid(), os.getpid, threading.get_ident()
        monkeypatch.setattr(
            os, "getpid", lambda: real_pid + 100_000 if threading.get_ident() == this_thread else real_getpid()
        )
        assert client.pending_count == 0  # the parent's registry is not the child's
        assert client.create_process_instance_with_affinity("relay-first", {"n": 2}).variables == {"n": 2}
        child_state = client._state
        assert child_state is not parent_state and child_state.transport is not parent_state.transport
        assert parent_state.transport.connection.connected  # the parent's socket was left alone
        child_state.transport.stop(5.0)  # type: ignore[union-attr]
        monkeypatch.undo()
    finally:
        parent_state.transport.stop(5.0)  # type: ignore[union-attr]
        client.close()


def test_with_result_strategy_needs_no_hub(engine: Any, hub_relay: Any) -> None:
    with ZBAffinityClient(engine.address, strategy="with_result") as client:
        outcome = client.create_process_instance_with_affinity("compute", {"n": 7}, timeout=30)
        assert outcome.variables == {"n": 7, "square": 49}
        assert client._state is None or client._state.transport is None  # no hub connection
        with pytest.raises(ConfigurationError, match="needs a hub or Redis"):
            client.publish_message_with_affinity("chat-message", "c", 1)


def test_new_timeouts_are_checked_before_any_io() -> None:
    for options, match in (({"write_timeout": 0}, "write_timeout"), ({"relay_job_timeout": -1}, "relay_job_timeout")):
        with pytest.raises(ConfigurationError, match=match):
            ZBAffinityClient(NOWHERE, "ws://localhost:8089", **options)
    client = ZBAffinityClient(NOWHERE, "ws://localhost:8089", relay_job_timeout=3.0)
    assert client.relay_job_timeout == 3.0
    client.close()
