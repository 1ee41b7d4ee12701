"""What the running test session has set: the default assertion timeout, the engine and the
affinity client of the current test. Imports nothing, so the plugin can set it at configure time
without loading the engine."""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional

__all__ = ["DEFAULT_ASSERT_TIMEOUT", "set_default_timeout", "default_timeout", "use_engine", "current_engine",
           "set_affinity_client", "current_affinity_client"]

#: Default wait of an assertion, seconds (``zeebe_assert_timeout`` in pytest.ini changes it).
DEFAULT_ASSERT_TIMEOUT = 5.0

_lock = threading.Lock()
# _state: guarded by _lock; written by the pytest plugin (configure, fixtures), read by test code
_state: Dict[str, Any] = {"timeout": DEFAULT_ASSERT_TIMEOUT, "engine": None, "affinity_client": None}


def set_default_timeout(seconds: float) -> None:
    """Set the default assertion timeout (the plugin does it from ``zeebe_assert_timeout``).

    Raises:
        ValueError: Not a positive finite number.
    """
    value = float(seconds)
    if not 0 < value < float("inf"):
        raise ValueError(f"the assertion timeout must be a positive number of seconds, got {seconds!r}")
    with _lock:
        _state["timeout"] = value


def default_timeout() -> float:
    with _lock:
        return float(_state["timeout"])


def use_engine(engine: Any) -> None:
    """Make ``engine`` the one ``assert_that`` reads by default (``None`` to forget it)."""
    with _lock:
        _state["engine"] = engine


def current_engine() -> Any:
    with _lock:
        return _state["engine"]


def set_affinity_client(client: Any) -> None:
    with _lock:
        _state["affinity_client"] = client


def current_affinity_client(settings: Optional[Any] = None) -> Any:
    """The ``zeebe_affinity_client`` of the running test, as a client factory.

    Usable as Django's ``ZEEBE_AFFINITY["CLIENT_FACTORY"]``
    (``"zeebe_affinity_sync.testing.current_affinity_client"``) or Flask's ``client_factory``;
    the settings argument is accepted and ignored.

    Raises:
        RuntimeError: The running test did not ask for the ``zeebe_affinity_client`` fixture.
    """
    with _lock:
        client = _state["affinity_client"]
    if client is None:
        raise RuntimeError("no zeebe_affinity_client in this test: add the zeebe_affinity_client fixture to the "
                           "test (or to a fixture it uses) before the view runs")
    return client
