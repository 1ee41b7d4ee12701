"""Threads the hub side starts follow the convention `zeebe-<part>-<role>` (docs/architecture.md)."""
from __future__ import annotations

import threading
from typing import Iterator, Set

from tests.support.net import wait_until
from zeebe_affinity_sync.demo.hub_runner import HubProcess
from zeebe_affinity_sync.hub.stats import Maintenance
from zeebe_affinity_sync.hub.websocket import READER_THREAD_PREFIX


def _new_threads(before: Set[threading.Thread]) -> Iterator[str]:
    return (t.name for t in threading.enumerate() if t not in before and t.is_alive())


def test_the_hub_maintenance_thread_is_named_by_the_convention() -> None:
    before = set(threading.enumerate())
    loop = Maintenance(lambda: None, interval=30.0)
    loop.start()
    try:
        assert list(_new_threads(before)) == ["zeebe-hub-maintenance"]
    finally:
        loop.stop()


def test_the_websocket_readers_and_the_hub_process_log_thread_are_named_by_the_convention() -> None:
    assert READER_THREAD_PREFIX.startswith("zeebe-hub-")
    before = set(threading.enumerate())
    with HubProcess(token="thread-names") as hub:
        names = list(_new_threads(before))
        assert names == [f"zeebe-hub-process-log-{hub.pid}"], names
    wait_until(lambda: not [n for n in _new_threads(before) if n.startswith("zeebe-hub-process-log-")], timeout=10)
