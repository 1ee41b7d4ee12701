"""Variable documents and scopes: JSON validation, lookup, propagation, dotted targets.

Stored values are treated as immutable: nothing here mutates a value in place (dotted targets
copy the containers they go through), so a shallow copy of a scope taken under the engine lock
may be serialised after the lock is released.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

import grpc

from .. import defaults
from ..errors import InvalidArgumentError

__all__ = ["parse_document", "dumps", "visible", "propagate", "set_local", "set_target"]

_JSON_TYPES = {dict: "OBJECT", list: "ARRAY", str: "STRING", bool: "BOOLEAN", int: "NUMBER",
               float: "NUMBER", type(None): "NIL"}


def parse_document(text: str, field: str = "variables") -> Dict[str, Any]:
    """Parse a request's JSON variables string the way the Zeebe gateway does.

    Empty or whitespace-only means no variables.

    Raises:
        InvalidArgumentError: Not JSON, or its root is not an object.
    """
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_deep(field) from None
    except ValueError as exc:
        raise InvalidArgumentError(
            f"Property '{field}' is invalid: Invalid JSON value: {text[:200]} ({exc}); "
            "send a JSON object such as {\"orderId\": 42}",
            grpc_code=grpc.StatusCode.INVALID_ARGUMENT,
        ) from exc
    # counting brackets (in C) is cheap; the walk runs only for documents that could be too deep
    if text.count("{") + text.count("[") > defaults.ENGINE_MAX_VARIABLE_DEPTH and \
            _depth(value) > defaults.ENGINE_MAX_VARIABLE_DEPTH:
        raise _too_deep(field)
    if not isinstance(value, dict):
        kind = _JSON_TYPES.get(type(value), "UNKNOWN")
        raise InvalidArgumentError(
            f"Property '{field}' is invalid: Expected document to be a root level object, but was '{kind}'",
            grpc_code=grpc.StatusCode.INVALID_ARGUMENT,
        )
    return value


def _too_deep(field: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Property '{field}' is invalid: the document nests more than {defaults.ENGINE_MAX_VARIABLE_DEPTH} "
        "levels deep; the embedded engine refuses deeper documents",
        grpc_code=grpc.StatusCode.INVALID_ARGUMENT,
    )


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion (the value may be very deep)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > defaults.ENGINE_MAX_VARIABLE_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN / Infinity; JSON does not, and echoing them back would hand
    # other clients (JSON.parse in zeebe-node) a document they cannot read
    raise ValueError(f"{name} is not a JSON value")


def dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def visible(scope: Any) -> Dict[str, Any]:
    """All variables visible from ``scope`` (nearest scope wins), as a new dict."""
    parent = scope.parent
    if parent is not None and parent.parent is None and not scope.variables:
        return dict(parent.variables)  # the common case: an element of the process, no locals
    chain = []
    while scope is not None:
        chain.append(scope.variables)
        scope = scope.parent
    if len(chain) == 1:
        return dict(chain[0])
    merged: Dict[str, Any] = {}
    for variables in reversed(chain):
        merged.update(variables)
    return merged


#: ``record(scope, name, value, created)``: called for each variable written whose value changed
Recorder = Optional[Callable[[Any, str, Any, bool], None]]


def propagate(scope: Any, document: Mapping[str, Any], record: Recorder = None) -> None:
    """Merge ``document`` from ``scope`` upward: update where the name exists, else at the root."""
    for name, value in document.items():
        current = scope
        root = scope
        while current is not None:
            variables = current.variables
            if name in variables:
                if record is not None and variables[name] != value:
                    record(current, name, value, False)
                variables[name] = value
                break
            root = current
            current = current.parent
        else:
            root.variables[name] = value
            if record is not None:
                record(root, name, value, True)


def set_local(scope: Any, document: Mapping[str, Any], record: Recorder = None) -> None:
    variables = scope.variables
    if type(variables) is not dict:  # state.NO_VARIABLES, shared: the scope's first local variables
        if not document:
            return
        variables = scope.variables = {}
    if record is not None:
        for name, value in document.items():
            if name not in variables:
                record(scope, name, value, True)
            elif variables[name] != value:
                record(scope, name, value, False)
    variables.update(document)


def set_target(result: Dict[str, Any], target: str, value: Any, context: Optional[Mapping[str, Any]] = None) -> None:
    """Set ``target`` (a name or dotted path) in ``result``, creating nested objects.

    A dotted path starts from the current value of its first name (in ``result``, else in
    ``context``) and copies each object it passes through.
    """
    parts = target.split(".")
    if len(parts) == 1:
        result[target] = value
        return
    head = parts[0]
    base = result.get(head, (context or {}).get(head))
    root = dict(base) if isinstance(base, dict) else {}
    node = root
    for part in parts[1:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value
    result[head] = root


def select(variables: Mapping[str, Any], names: Iterable[str]) -> Dict[str, Any]:
    """Only the named variables (missing names are absent); all of them if ``names`` is empty."""
    names = list(names)
    if not names:
        return dict(variables)
    return {n: variables[n] for n in names if n in variables}
