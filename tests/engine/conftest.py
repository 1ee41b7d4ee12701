"""Fixtures for the engine tests: a real EmbeddedZeebe on a free port and a raw gRPC stub."""
from __future__ import annotations

from typing import Iterator, Tuple

import grpc
import pytest
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from zeebe_affinity_sync.engine import EmbeddedZeebe


@pytest.fixture
def served() -> Iterator[Tuple[EmbeddedZeebe, grpc.Channel]]:
    engine = EmbeddedZeebe(long_poll_timeout_ms=2000, with_result_timeout_ms=5000, server_threads=32).start()
    channel = grpc.insecure_channel(engine.address)
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield engine, channel
    finally:
        engine.stop()
        channel.close()  # after the server is gone a channel closes at once (before: ~0.2 s)


@pytest.fixture
def zeebe(served: Tuple[EmbeddedZeebe, grpc.Channel]) -> EmbeddedZeebe:
    return served[0]


@pytest.fixture
def channel(served: Tuple[EmbeddedZeebe, grpc.Channel]) -> grpc.Channel:
    return served[1]


@pytest.fixture
def stub(channel: grpc.Channel) -> gateway_pb2_grpc.GatewayStub:
    return gateway_pb2_grpc.GatewayStub(channel)
