"""Framework-neutral glue shared by the Flask and Django integrations.

Both integrations read the same settings (under their own key spelling), build the affinity client
the same way, and turn the library's exceptions into the same HTTP answers. Keeping that here means
a Flask app and a Django app behind one load balancer answer a timeout or an overload identically.

- :mod:`.settings`: :class:`WebSettings`, checked before any I/O, named in the user's spelling;
- :mod:`.client`: building the affinity client, one per process (:class:`ClientHolder`);
- :mod:`.answers`: HTTP answers and the error mapping (:data:`~.answers.ERROR_RULES`, table there);
- :mod:`.decorators`: the view decorators' machinery both frameworks plug into.
"""
from __future__ import annotations

from .answers import (
    ERROR_RULES,
    INSTANCE_KEY_HEADER,
    ErrorRule,
    HttpAnswer,
    answer_error,
    error_response,
    pending_response,
    refuse_body,
    refuse_reserved,
    still_pending_response,
    success_response,
)
from .client import ClientHolder, _call_factory, build_client  # noqa: F401 - _call_factory: old import path
from .decorators import (
    MessageRound,
    answer_call,
    answer_collect,
    check_round,
    check_variables,
    publish_round,
)
from .settings import MODES, STRATEGIES, WebSettings, read_settings

__all__ = [
    "STRATEGIES",
    "MODES",
    "MessageRound",
    "WebSettings",
    "read_settings",
    "HttpAnswer",
    "ErrorRule",
    "ERROR_RULES",
    "INSTANCE_KEY_HEADER",
    "ClientHolder",
    "build_client",
    "error_response",
    "success_response",
    "pending_response",
    "still_pending_response",
    "check_variables",
    "check_round",
    "refuse_reserved",
    "refuse_body",
    "answer_error",
    "answer_call",
    "answer_collect",
    "publish_round",
]
