"""The integration settings, whatever framework they came from, checked before any I/O.

Flask reads them from ``app.config`` (``ZEEBE_AFFINITY_TIMEOUT``...), Django from the
``ZEEBE_AFFINITY`` dict (``"TIMEOUT"``...). Both hand :func:`read_settings` the raw values and
the names *their* users wrote, so a refusal names the setting to fix in the user's own spelling.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

from .. import checks, defaults
from ..errors import ConfigurationError

__all__ = ["STRATEGIES", "MODES", "WebSettings", "read_settings", "FIELD_NAMES"]

#: The strategies an integration can be configured with: ``hub`` (ZBAffinityClient over the hub),
#: ``redis`` (RedisAffinity) or ``with_result`` (ZBAffinityClient with ``strategy="with_result"``).
#: One name everywhere: the client's ``strategy`` argument, ``ZEEBE_AFFINITY_STRATEGY`` (Flask),
#: ``"STRATEGY"`` (Django). The older ``MODE`` spellings are still read, with a DeprecationWarning.
STRATEGIES = ("hub", "redis", "with_result")

#: Deprecated name of :data:`STRATEGIES`.
MODES = STRATEGIES

#: Each setting's own name: the default spelling of a refusal (WebSettings built directly).
FIELD_NAMES: Dict[str, str] = {
    "zeebe_address": "zeebe_address",
    "strategy": "strategy",
    "affinity_url": "affinity_url",
    "affinity_token": "affinity_token",
    "timeout": "timeout",
    "redis_url": "redis_url",
    "failure_status": "failure_status",
    "outcome_url": "outcome_url",
    "client_options": "client_options",
    "client_factory": "client_factory",
    "tenant_id": "tenant_id",
}


@dataclass(frozen=True)
class WebSettings:
    """The integration settings.

    Attributes:
        zeebe_address: ``host:port`` of the gateway; ``None`` lets the client read ``ZEEBE_ADDRESS``.
        strategy: ``"hub"`` (ZBAffinityClient over the hub), ``"redis"`` (RedisAffinity) or
            ``"with_result"`` (Zeebe's CreateProcessInstanceWithResult, no relay).
        affinity_url: Hub websocket URL; ``None`` lets the client read ``ZEEBE_AFFINITY_URL``.
        affinity_token: Hub token; ``None`` lets the client read ``ZEEBE_AFFINITY_TOKEN``.
        timeout: Seconds a view waits for its outcome unless its decorator says otherwise.
        redis_url: Redis URL for ``strategy="redis"``.
        failure_status: HTTP status answered for a ``ProcessFailed`` outcome.
        outcome_url: URL template with ``{key}``; when set, a timeout answers 202 + ``Location``.
        client_options: Extra keyword arguments for the client constructor.
        client_factory: ``callable(settings) -> client`` (or ``callable() -> client``) replacing
            the built-in construction.
        tenant_id: The client's default tenant; ``None`` lets the client read ``CAMUNDA_TENANT_ID``.

    Raises:
        ConfigurationError: A value is wrong (see :mod:`zeebe_affinity_sync.checks`).
    """

    zeebe_address: Optional[str] = None
    strategy: str = defaults.WEB_STRATEGY
    affinity_url: Optional[str] = None
    affinity_token: Optional[str] = None
    timeout: float = defaults.AFFINITY_TIMEOUT
    redis_url: Optional[str] = None
    failure_status: int = defaults.WEB_FAILURE_STATUS
    outcome_url: Optional[str] = None
    client_options: Mapping[str, Any] = field(default_factory=dict)
    client_factory: Optional[Callable[..., Any]] = None
    tenant_id: Optional[str] = None

    def __post_init__(self) -> None:
        _check(self, FIELD_NAMES)

    @property
    def mode(self) -> str:
        """Old name of :attr:`strategy` (read-only)."""
        return self.strategy

    def name_of(self, setting: str) -> str:
        """The name the user wrote for ``setting`` (e.g. ``ZEEBE_AFFINITY["CLIENT_OPTIONS"]``)."""
        return getattr(self, "_names", FIELD_NAMES).get(setting, setting)


def _check(settings: WebSettings, names: Mapping[str, str]) -> None:
    """Check and normalise every field in place; messages use ``names``."""
    set_ = object.__setattr__
    checks.one_of(settings.strategy, names["strategy"], STRATEGIES)
    checks.optional(checks.text, settings.tenant_id, names["tenant_id"])
    timeout = checks.number_from_text(settings.timeout, names["timeout"])
    set_(settings, "timeout", checks.seconds(timeout, names["timeout"], finite=True))
    status = checks.number_from_text(settings.failure_status, names["failure_status"])
    set_(settings, "failure_status", checks.http_status(status, names["failure_status"]))
    if settings.outcome_url is not None and "{key}" not in str(settings.outcome_url):
        raise ConfigurationError(
            f"{names['outcome_url']} = {settings.outcome_url!r} has no '{{key}}' placeholder: "
            "e.g. '/outcomes/{key}'"
        )
    if not isinstance(settings.client_options, Mapping):
        raise ConfigurationError(
            f"{names['client_options']} must be a dict of keyword arguments, got "
            f"{type(settings.client_options).__name__}"
        )
    if settings.client_factory is not None and not callable(settings.client_factory):
        raise ConfigurationError(
            f"{names['client_factory']} = {settings.client_factory!r} is not callable: give a "
            "callable(settings) -> client"
        )
    custom = settings.client_factory is not None
    if settings.strategy == "hub" and not settings.affinity_url and not os.environ.get("ZEEBE_AFFINITY_URL") and not custom:
        raise ConfigurationError(
            f"strategy 'hub' needs the hub's URL: set {names['affinity_url']} or the "
            f"ZEEBE_AFFINITY_URL environment variable, e.g. ws://localhost:8089, or set "
            f"{names['strategy']} to 'with_result' or 'redis'"
        )
    if settings.strategy == "redis" and not settings.redis_url and not custom:
        raise ConfigurationError(
            f"strategy 'redis' needs a Redis URL: set {names['redis_url']}, e.g. redis://localhost:6379/0"
        )


def read_settings(values: Mapping[str, Any], names: Mapping[str, str]) -> WebSettings:
    """Build :class:`WebSettings` from a framework's raw values.

    Args:
        values: Field name -> raw value (text from the environment is accepted for numbers).
        names: Field name -> the framework's name of that setting, for the messages.

    Raises:
        ConfigurationError: A value is wrong; the message names the setting as ``names`` spell it.
    """
    spelled = dict(FIELD_NAMES)
    spelled.update(names)
    values = dict(values)
    if values.get("mode") is not None:
        old, new = spelled.get("mode", "mode"), spelled["strategy"]
        warnings.warn(f"{old} is deprecated: call it {new} (same values)", DeprecationWarning, stacklevel=3)
        if values.get("strategy") not in (None, values["mode"]) and values.get("strategy") != defaults.WEB_STRATEGY:
            raise ConfigurationError(f"{old} = {values['mode']!r} contradicts {new} = {values['strategy']!r}: "
                                     f"set only {new}")
        values["strategy"] = values["mode"]
    settings = WebSettings.__new__(WebSettings)
    for name in FIELD_NAMES:
        value = values.get(name, _DEFAULTS[name])
        if value is None and name == "strategy":  # a framework key left at None: the default
            value = _DEFAULTS[name]
        object.__setattr__(settings, name, value)
    _check(settings, spelled)
    object.__setattr__(settings, "_names", spelled)  # for name_of(); not a field
    return settings


_DEFAULTS: Dict[str, Any] = {
    name: (f.default_factory() if callable(f.default_factory) else f.default)  # type: ignore[misc]
    for name, f in WebSettings.__dataclass_fields__.items()
}
