"""The pytest plugin (entry point ``pytest11: zeebe_affinity``): fixtures on the embedded engine.

Fixtures:

- ``zeebe_engine``: a :class:`~zeebe_affinity_sync.testing.engine.ZeebeTestEngine` shared by the
  session (one per xdist worker), reset to empty before each test; :func:`assert_that` reads it.
- ``zeebe_client``: a :class:`~zeebe_affinity_sync.ZeebeClient` connected to it.
- ``zeebe_affinity_client``: a :class:`~zeebe_affinity_sync.ZBAffinityClient` wired to an
  in-process hub and a relay worker on the engine (started on first use in the session).

ini option ``zeebe_assert_timeout``: default wait of an assertion, seconds (5).

A session that asks for none of these pays nothing: this module imports only pytest at load, and
the engine (its gRPC server and threads) starts the first time a test asks for a fixture.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ZeebeTestEngine
    from .hub import AffinityTestStack

INI_TIMEOUT = "zeebe_assert_timeout"
ENTRY_POINT = "zeebe_affinity"
_PREVIOUS_TIMEOUT = pytest.StashKey[float]()


class _Alias:
    """Holds the plugin's other name, so naming it a second time is a no-op, not an error."""

    def __repr__(self) -> str:
        return f"<alias of {__name__}>"


def pytest_plugin_registered(plugin: Any, manager: Any) -> None:
    # The entry point registers this module as "zeebe_affinity"; a project that also lists it
    # (pytest_plugins = [...] or -p with the module path) would register it again under its
    # module name, which pytest refuses ("Plugin already registered under a different name").
    # Taking both names the moment it is registered makes the second mention a no-op.
    if plugin is not sys.modules[__name__]:
        return
    for name in (ENTRY_POINT, __name__):
        if manager.get_plugin(name) is None and not manager.is_blocked(name):
            manager.register(_Alias(), name)


def pytest_addoption(parser: Any) -> None:
    parser.addini(INI_TIMEOUT, "default wait of a zeebe_affinity_sync assert_that() assertion, seconds (default 5)",
                  default="5")


def pytest_configure(config: Any) -> None:
    raw = config.getini(INI_TIMEOUT)
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise pytest.UsageError(f"{INI_TIMEOUT} = {raw!r}: give a positive number of seconds, e.g. 2.5")
    from . import settings  # imports nothing: the engine is not loaded here

    config.stash[_PREVIOUS_TIMEOUT] = settings.default_timeout()
    settings.set_default_timeout(seconds)


def pytest_unconfigure(config: Any) -> None:
    # a session run inside another (pytester) must not leave its timeout to the outer one
    previous = config.stash.get(_PREVIOUS_TIMEOUT, None)
    if previous is not None:
        from . import settings

        settings.set_default_timeout(previous)


@pytest.fixture(scope="session")
def _zeebe_session_engine() -> Iterator["ZeebeTestEngine"]:
    from .engine import ZeebeTestEngine

    engine = ZeebeTestEngine().start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def zeebe_engine(_zeebe_session_engine: "ZeebeTestEngine") -> Iterator["ZeebeTestEngine"]:
    """The session's embedded engine, reset to empty (and its clock to now) for this test."""
    from . import settings

    engine = _zeebe_session_engine
    engine.reset()
    settings.use_engine(engine)
    try:
        yield engine
    finally:
        settings.use_engine(None)
        engine.stop_mocks()  # nothing of this test keeps running into the next


class _ClientHolder:
    """The session's ZeebeClient, made again if a test closed it (``with zeebe_client:``...)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.client: Any = None  # test thread only

    def get(self) -> Any:
        if self.client is None or self.client.closed:
            from ..zeebe.client import ZeebeClient

            self.client = ZeebeClient(self.address)
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@pytest.fixture(scope="session")
def _zeebe_session_client(_zeebe_session_engine: "ZeebeTestEngine") -> Iterator[_ClientHolder]:
    holder = _ClientHolder(_zeebe_session_engine.address)
    try:
        yield holder
    finally:
        holder.close()


@pytest.fixture
def zeebe_client(zeebe_engine: "ZeebeTestEngine", _zeebe_session_client: _ClientHolder) -> Any:
    """A :class:`~zeebe_affinity_sync.ZeebeClient` connected to ``zeebe_engine``."""
    return _zeebe_session_client.get()


@pytest.fixture(scope="session")
def _zeebe_affinity_stack(_zeebe_session_engine: "ZeebeTestEngine") -> Iterator["AffinityTestStack"]:
    from .hub import AffinityTestStack

    stack = AffinityTestStack(_zeebe_session_engine).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def zeebe_affinity_client(zeebe_engine: "ZeebeTestEngine", _zeebe_affinity_stack: "AffinityTestStack") -> Iterator[Any]:
    """The session's :class:`~zeebe_affinity_sync.ZBAffinityClient` on ``zeebe_engine``, an
    in-process hub and a relay worker (``publish-outcome``).

    Flask: ``ZeebeAffinity(app, client_factory=lambda: zeebe_affinity_client)``. Django:
    ``ZEEBE_AFFINITY = {"CLIENT_FACTORY": "zeebe_affinity_sync.testing.current_affinity_client"}``.
    Its ``close()`` is a no-op (the session closes it at its end).
    """
    from . import settings

    settings.set_affinity_client(_zeebe_affinity_stack.client)
    try:
        yield _zeebe_affinity_stack.client
    finally:
        settings.set_affinity_client(None)
