"""The Zeebe gateway protocol stubs the package uses (temporary shim over ``zeebe_grpc``).

Everything in the package and its tests imports the gateway messages and stub from here:
``from zeebe_affinity_sync.gateway import gateway_pb2 as pb, gateway_pb2_grpc``. The shim is
replaced by our own generated stubs (issue 11); the import path stays.
"""
from __future__ import annotations

from zeebe_affinity_sync.gateway import gateway_pb2, gateway_pb2_grpc

__all__ = ["gateway_pb2", "gateway_pb2_grpc"]
