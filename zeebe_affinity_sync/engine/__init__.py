"""The embedded Zeebe engine: an in-process gRPC server speaking the Zeebe gateway protocol.

See ``docs/engine.md`` for the supported BPMN subset and how it differs from a real broker.
"""
from __future__ import annotations

from .server import EmbeddedZeebe

__all__ = ["EmbeddedZeebe"]
