"""Django app config: the label is ``zeebe_affinity``."""
from __future__ import annotations

from django.apps import AppConfig


class ZeebeAffinityConfig(AppConfig):
    name = "zeebe_affinity_sync.django"
    label = "zeebe_affinity"
    verbose_name = "Zeebe affinity"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from .client import on_setting_changed

        # dispatch_uid: ready() may run more than once in tests; connect once.
        setting_changed.connect(on_setting_changed, dispatch_uid="zeebe_affinity_setting_changed")
