"""Lazy access to the ``ZEEBE_AFFINITY`` settings dict.

Every key is optional::

    ZEEBE_AFFINITY = {
        "ZEEBE_ADDRESS": None,        # gateway host:port; None: env ZEEBE_ADDRESS, then localhost:26500
        "STRATEGY": "hub",            # "hub" | "redis" | "with_result" ("MODE": its old name)
        "URL": None,                  # hub URL; None: env ZEEBE_AFFINITY_URL
        "TOKEN": None,                # hub token; None: env ZEEBE_AFFINITY_TOKEN
        "TIMEOUT": 30.0,              # s, a view waits this long for its outcome
        "REDIS_URL": None,            # required with STRATEGY "redis"
        "FAILURE_STATUS": 422,        # HTTP status of a failure outcome
        "OUTCOME_URL": None,          # "/outcomes/{key}": a timeout answers 202 + Location
        "CLIENT_OPTIONS": {},         # extra keyword arguments for the client
        "CLIENT_FACTORY": None,       # dotted path or callable(settings) -> client
        "WORKERS": [],                # dotted paths of register(worker) callables (zeebe_workers)
        "TASK_TYPE": "publish-outcome",  # task type of the affinity (relay) worker
        "WORKER_OPTIONS": {},         # keyword arguments of the workers (max_running_jobs, ...)
        "TENANT_ID": None,            # the client's default tenant; None: env CAMUNDA_TENANT_ID
    }

Nothing is read at import time: :func:`get_settings` reads ``django.conf.settings`` when called and
caches the parsed result until a ``setting_changed`` signal (sent by ``override_settings``) resets it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .. import defaults
from ..errors import ConfigurationError
from ..web import WebSettings
from ..web.settings import read_settings

__all__ = ["SETTING_NAME", "KEYS", "DjangoAffinitySettings", "get_settings", "reset"]

SETTING_NAME = "ZEEBE_AFFINITY"

#: Every accepted key and its default.
KEYS: Dict[str, Any] = {
    "ZEEBE_ADDRESS": None,
    "STRATEGY": defaults.WEB_STRATEGY,
    "MODE": None,  # deprecated name of "STRATEGY"
    "URL": None,
    "TOKEN": None,
    "TIMEOUT": defaults.AFFINITY_TIMEOUT,
    "REDIS_URL": None,
    "FAILURE_STATUS": defaults.WEB_FAILURE_STATUS,
    "OUTCOME_URL": None,
    "CLIENT_OPTIONS": {},
    "CLIENT_FACTORY": None,
    "WORKERS": [],
    "TASK_TYPE": defaults.AFFINITY_TASK_TYPE,
    "WORKER_OPTIONS": {},
    "TENANT_ID": None,
}


@dataclass(frozen=True)
class DjangoAffinitySettings:
    """The parsed ``ZEEBE_AFFINITY`` dict: the shared web settings plus the worker settings."""

    web: WebSettings
    workers: Tuple[str, ...] = ()
    task_type: str = defaults.AFFINITY_TASK_TYPE
    worker_options: Mapping[str, Any] = field(default_factory=dict)


#: WebSettings field -> the ZEEBE_AFFINITY key holding it.
_FIELDS: Dict[str, str] = {
    "zeebe_address": "ZEEBE_ADDRESS",
    "strategy": "STRATEGY",
    "mode": "MODE",
    "affinity_url": "URL",
    "affinity_token": "TOKEN",
    "timeout": "TIMEOUT",
    "redis_url": "REDIS_URL",
    "failure_status": "FAILURE_STATUS",
    "outcome_url": "OUTCOME_URL",
    "client_options": "CLIENT_OPTIONS",
    "client_factory": "CLIENT_FACTORY",
    "tenant_id": "TENANT_ID",
}


def setting_name(key: str) -> str:
    """How a key is written in settings.py, for messages: ``ZEEBE_AFFINITY["TIMEOUT"]``."""
    return f'{SETTING_NAME}["{key}"]'


_lock = threading.Lock()
#: parsed settings; guarded by ``_lock``, reset by the setting_changed signal handler
_cached: Optional[DjangoAffinitySettings] = None


def _parse(raw: Any) -> DjangoAffinitySettings:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(
            f"settings.{SETTING_NAME} must be a dict, got {type(raw).__name__}: "
            f'e.g. {SETTING_NAME} = {{"URL": "ws://localhost:8089"}}'
        )
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ImproperlyConfigured(
            f"settings.{SETTING_NAME} has unknown key(s) {', '.join(unknown)}: "
            f"the accepted keys are {', '.join(KEYS)}"
        )
    values = dict(KEYS)
    values.update(raw)
    factory: Optional[Callable[..., Any]] = values["CLIENT_FACTORY"]
    if isinstance(factory, str):
        try:
            factory = import_string(factory)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{setting_name('CLIENT_FACTORY')} = {values['CLIENT_FACTORY']!r} cannot "
                f"be imported ({exc}): give a dotted path to a callable(settings) -> client"
            ) from exc
    workers = values["WORKERS"]
    if isinstance(workers, str) or not all(isinstance(w, str) for w in workers):
        raise ImproperlyConfigured(
            f"{setting_name('WORKERS')} must be a list of dotted paths to "
            "register(worker) callables, e.g. ['shop.workers.register']"
        )
    if not isinstance(values["WORKER_OPTIONS"], Mapping):
        raise ImproperlyConfigured(
            f"{setting_name('WORKER_OPTIONS')} must be a dict of JobWorker keyword arguments"
        )
    try:
        raw_web = {field: values[key] for field, key in _FIELDS.items()}
        raw_web["client_factory"] = factory
        web = read_settings(raw_web, {field: setting_name(key) for field, key in _FIELDS.items()})
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    return DjangoAffinitySettings(
        web=web,
        workers=tuple(workers),
        task_type=str(values["TASK_TYPE"]),
        worker_options=dict(values["WORKER_OPTIONS"]),
    )


def get_settings() -> DjangoAffinitySettings:
    """The parsed settings, read from ``django.conf.settings`` on first call after a change.

    Raises:
        ImproperlyConfigured: The dict is not a dict, has an unknown key or a wrong value.
    """
    global _cached
    with _lock:
        if _cached is None:
            _cached = _parse(getattr(django_settings, SETTING_NAME, None))
        return _cached


def reset() -> None:
    """Forget the parsed settings (the next :func:`get_settings` reads them again)."""
    global _cached
    with _lock:
        _cached = None


def load_registrars(paths: List[str]) -> List[Callable[[Any], Any]]:
    """Import the ``WORKERS`` callables.

    Raises:
        ImproperlyConfigured: A path cannot be imported or is not callable.
    """
    found = []
    for path in paths:
        try:
            target = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{setting_name('WORKERS')} entry {path!r} cannot be imported ({exc}): "
                "give 'package.module.function' of a register(worker) callable"
            ) from exc
        if not callable(target):
            raise ImproperlyConfigured(
                f"{setting_name('WORKERS')} entry {path!r} is not callable: it must be "
                "a function taking the JobWorker and registering tasks on it"
            )
        found.append(target)
    return found
