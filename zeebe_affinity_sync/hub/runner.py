"""Moved: :class:`HubProcess` is a test and demo helper, now in
:mod:`zeebe_affinity_sync.demo.hub_runner`. This name is kept so existing imports keep working."""
from __future__ import annotations

from ..demo.hub_runner import HubProcess

__all__ = ["HubProcess"]
