"""Argument checks of the affinity layer, raised before any I/O.

One place for the checks the request side, the relay worker and both client classes share:
numbers of seconds, the strategy, and variables that must survive the whole trip (gRPC, the
hub's JSON frames, Redis) — a lone surrogate such as ``"\\ud800"`` is valid JSON when escaped but
cannot be written as UTF-8 text, so it would abort every subscriber it is sent to.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from .. import checks, protocol
from ..zeebe.client import encode_variables

__all__ = [
    "STRATEGIES", "check_strategy", "check_variables", "check_encodable",
    "unencodable_path",
]

#: ``"hub"`` (the transport: hub or Redis) or ``"with_result"`` (CreateProcessInstanceWithResult).
STRATEGIES = ("hub", "with_result")

#: Nesting depth beyond which variables are refused (JSON that deep does not survive a decode
#: on the way: Python's json gives up near its recursion limit, and the hub answers bad-json).
_MAX_DEPTH = 500


# Numbers go through the library's shared checks (zeebe_affinity_sync.checks.seconds / count):
# one convention everywhere, a value of the wrong kind is a ConfigurationTypeError, out of range
# a ConfigurationError.


def check_strategy(strategy: Any) -> str:
    return checks.one_of(strategy, "strategy", STRATEGIES)


def unencodable_path(value: Any, path: str = "", depth: int = 0) -> Optional[str]:
    """The path (``a.b[2]``) of the first string in ``value`` that is not valid UTF-8 text, or
    ``None``. Too deep a nesting is reported the same way (its path, with ``(too deep)``)."""
    if depth > _MAX_DEPTH:
        return f"{path} (too deep)"
    if isinstance(value, str):
        return None if _encodable(value) else (path or "(value)")
    if isinstance(value, Mapping):
        for name, item in value.items():
            where = f"{path}.{name}" if path else str(name)
            if isinstance(name, str) and not _encodable(name):
                return f"{where} (its name)"
            found = unencodable_path(item, where, depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = unencodable_path(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_encodable(variables: Mapping[str, Any], what: str = "variables") -> None:
    """Refuse variables that cannot travel as UTF-8 JSON text.

    Raises:
        TypeError: names the variable, e.g. a lone surrogate such as ``"\\ud800"``.
    """
    path = unencodable_path(variables)
    if path is not None:
        raise TypeError(
            f"{what} cannot be sent as UTF-8 JSON text: {path} holds a lone surrogate (e.g. "
            "'\\ud800') or is nested too deep; decode such text properly (e.g. "
            "bytes.decode('utf-8', 'replace')) before passing it"
        )


def check_variables(variables: Any) -> Dict[str, Any]:
    """A copy of the caller's variables for an affinity call, checked before any I/O.

    Raises:
        TypeError: not a JSON-serialisable dict, or not encodable as UTF-8 (see above).
        ValueError: it uses the reserved request-id variable.
    """
    try:
        encode_variables(variables)  # TypeError with a clear message for anything but a JSON dict
    except RecursionError:
        raise TypeError("variables are nested too deep to be sent as JSON: flatten them") from None
    payload = dict(variables or {})
    check_encodable(payload)
    if protocol.REQUEST_ID_VARIABLE in payload:
        raise ValueError(
            f"{protocol.REQUEST_ID_VARIABLE!r} is reserved for the affinity layer: rename that variable"
        )
    return payload

