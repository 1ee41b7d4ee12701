"""Context functions: ``get value``, ``get entries``, ``context put``, ``context merge``, ``context``."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from zeebe_affinity_sync.engine.feel import limits
from zeebe_affinity_sync.engine.feel.builtins import builtin
from zeebe_affinity_sync.engine.feel.nodes import read


def _context(value: Any) -> bool:
    return isinstance(value, Mapping)


def _keys(value: Any) -> Any:
    if type(value) in (list, tuple) and all(type(k) is str for k in value):
        return list(value)
    return None


@builtin("get value", "context|m", "key|keys")
def get_value(context: Any, key: Any) -> Any:
    if not _context(context):
        return None
    if type(key) is str:
        return read(context.get(key))
    keys = _keys(key)
    if not keys:
        return None
    value: Any = context
    for k in keys:
        if not _context(value) or k not in value:
            return None
        value = value[k]
    return read(value)


@builtin("get entries", "context|m")
def get_entries(context: Any) -> Any:
    if not _context(context):
        return None
    return [{"key": key, "value": read(value)} for key, value in context.items()]


def _put(context: Any, key: Any, value: Any) -> Any:
    if not _context(context):
        return None
    if type(key) is str:
        result = dict(context)
        result[key] = value
        return result
    keys = _keys(key)
    if not keys:
        return None
    result = dict(context)
    inner = result.get(keys[0])
    if len(keys) == 1:
        result[keys[0]] = value
    else:
        result[keys[0]] = _put(inner if _context(inner) else {}, keys[1:], value)
    return result


@builtin("context put", "context", "key|keys", "value")
def context_put(context: Any, key: Any, value: Any) -> Any:
    return _put(context, key, value)


@builtin("put", "context", "key", "value")
def put(context: Any, key: Any, value: Any) -> Any:
    return _put(context, key, value)


def _merge(contexts: List[Any]) -> Any:
    result: Dict[str, Any] = {}
    for context in contexts:
        if not _context(context):
            return None
        result.update(context)
        limits.check_size(len(result), "context")
    return result


@builtin("context merge", "contexts...")
def context_merge(*contexts: Any) -> Any:
    if len(contexts) == 1 and type(contexts[0]) in (list, tuple):
        contexts = tuple(contexts[0])
    return _merge(list(contexts))


@builtin("put all", "contexts...")
def put_all(*contexts: Any) -> Any:
    if len(contexts) == 1 and type(contexts[0]) in (list, tuple):
        contexts = tuple(contexts[0])
    return _merge(list(contexts))


@builtin("context", "entries")
def context(entries: Any) -> Any:
    if type(entries) not in (list, tuple):
        return None
    result: Dict[str, Any] = {}
    for entry in entries:
        if not _context(entry) or "key" not in entry or "value" not in entry or type(entry["key"]) is not str:
            return None
        result[entry["key"]] = entry["value"]
    return result
