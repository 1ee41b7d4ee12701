"""Django app config: the label is ``zeebe_affinity``."""
from __future__ import annotations

from django.apps import AppConfig


class ZeebeAffinityConfig(AppConfig):
    name = "zeebe_affinity_sync.django"
    label = "zeebe_affinity"
    verbose_name = "Zeebe affinity"

    def ready(self) -> None:
        # Importing the client module connects its setting_changed receiver (once: dispatch_uid),
        # so override_settings(ZEEBE_AFFINITY=...) is honoured before any view imported it.
        from . import client  # noqa: F401
