"""Argument checks and encoding of what a gateway request carries, before any I/O.

The command mixins (:mod:`.process_commands`, :mod:`.job_commands`) build their requests with
these; nothing here talks to the gateway. The argument checks are the shared ones of
:mod:`zeebe_affinity_sync.checks` (wrong kind: a ``TypeError``, out of range: a ``ValueError``,
both ``ConfigurationError``s); the names here keep the call sites short.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Iterable, List, Optional, Tuple, Union

from .. import checks

__all__ = [
    "Resource",
    "encode_variables",
    "read_resource",
    "check_text",
    "check_key",
    "check_seconds",
    "to_ms",
    "variable_names",
    "check_tenant",
    "tenant_list",
]

Resource = Union[str, "os.PathLike[str]", Tuple[str, bytes]]

check_text = checks.text
check_key = checks.key


def encode_variables(variables: Any, *, what: str = "variables", required: bool = False) -> str:
    """JSON-encode a variables dict for the wire, refusing anything else before any I/O.

    Args:
        variables: A ``dict`` with ``str`` keys and JSON-serialisable values, or ``None``.
        what: Name used in the error message.
        required: ``None`` is refused too.

    Returns:
        The JSON document (``""`` for ``None``).

    Raises:
        TypeError: Not a dict, a non-str key, or a value JSON cannot encode.
    """
    if variables is None and not required:
        return ""
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"{what} must be a dict of variable name -> JSON value, got {type(variables).__name__}: "
            f"wrap the value in a dict, e.g. {{\"value\": ...}}"
        )
    for name in variables:
        if not isinstance(name, str):
            raise TypeError(f"{what} names must be str, got {name!r} ({type(name).__name__}): use str keys")
    try:
        return json.dumps(dict(variables), allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what} must be JSON-serialisable ({exc}): convert values such as datetime, Decimal, "
            "set, bytes or NaN to str, float, list or None first"
        ) from exc


def check_seconds(value: Any, name: str, *, allow_zero: bool = True) -> float:
    return checks.seconds(value, name, allow_zero=allow_zero)


def to_ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def variable_names(values: Optional[Iterable[str]], name: str) -> List[str]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a list of variable names, not a single str: use [{values!r}]")
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{name} must contain str variable names, got {v!r}")
    return out


def check_tenant(value: Any, name: str = "tenant_id") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str tenant id, got {value!r} ({type(value).__name__})")
    return value


def tenant_list(values: Any) -> List[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"tenant_ids must be a list of tenant ids, not a single str: use [{values!r}]")
    return [check_tenant(v, "tenant_ids entries") for v in values]


def read_resource(resource: Any) -> Tuple[str, bytes]:
    """A deploy resource as ``(name, content)``: read from its path, or the tuple checked."""
    if isinstance(resource, tuple):
        if len(resource) != 2 or not isinstance(resource[0], str) or not isinstance(resource[1], (bytes, bytearray)):
            raise TypeError(f"a resource tuple must be (name: str, content: bytes), got {resource!r:.80}")
        return resource[0], bytes(resource[1])
    if isinstance(resource, (str, os.PathLike)):
        path = os.fspath(resource)
        try:
            with open(path, "rb") as fh:
                return os.path.basename(path), fh.read()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read resource {path!r}: {exc.strerror}") from exc
    raise TypeError(
        f"a resource must be a file path or a (name, bytes) tuple, got {type(resource).__name__}"
    )

