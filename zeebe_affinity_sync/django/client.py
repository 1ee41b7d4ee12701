"""The one affinity client per process, built from the lazy settings."""
from __future__ import annotations

import threading
from typing import Any, Optional

from django.core.exceptions import ImproperlyConfigured

from ..errors import ConfigurationError
from ..web import ClientHolder, WebSettings, build_client
from . import conf

_lock = threading.Lock()
#: holder of the client built from the current settings; guarded by ``_lock``, replaced when
#: ``ZEEBE_AFFINITY`` changes (override_settings), shared by every request thread
_holder: Optional[ClientHolder] = None


def _current_holder() -> ClientHolder:
    global _holder
    with _lock:
        if _holder is None:
            web = conf.get_settings().web
            _holder = ClientHolder(lambda: _build(web))
        return _holder


def _build(web: WebSettings) -> Any:
    # A Django project expects ImproperlyConfigured for a wrong setting, whichever part refused it.
    try:
        return build_client(web)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


def get_client() -> Any:
    """The affinity client of this process (created on first use).

    Raises:
        ImproperlyConfigured: ``ZEEBE_AFFINITY`` is wrong (the message names the key).
    """
    return _current_holder().get()


def close_client() -> None:
    """Close this process's client and forget it and the parsed settings."""
    global _holder
    with _lock:
        holder, _holder = _holder, None
    conf.reset()
    if holder is not None:
        holder.close()


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: a new ``ZEEBE_AFFINITY`` gets a new client."""
    if setting == conf.SETTING_NAME:
        close_client()


def _connect_signal() -> None:
    from django.core.signals import setting_changed

    # Connected on import (AppConfig.ready imports this module), so override_settings is honoured
    # even by a project that uses the decorators without listing the app; the uid keeps it single.
    setting_changed.connect(on_setting_changed, dispatch_uid="zeebe_affinity_setting_changed")


_connect_signal()
