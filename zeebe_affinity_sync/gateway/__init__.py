"""The Zeebe 8.8 gateway protocol stubs the package uses (our own, generated from ``gateway.proto``).

Everything in the package and its tests imports them from here:
``from zeebe_affinity_sync.gateway import gateway_pb2 as pb, gateway_pb2_grpc``.

The messages are registered in a private descriptor pool (``gateway_pb2.POOL``), so they can
share a process with zeebe-grpc, pyzeebe or pytest-zeebe, which register the same
``gateway_protocol`` names in protobuf's default pool. ``regenerate.py`` rewrites the
generated modules; this package file imports nothing so that it can run even when they are
stale or broken.
"""
from __future__ import annotations

__all__ = ["gateway_pb2", "gateway_pb2_grpc"]
