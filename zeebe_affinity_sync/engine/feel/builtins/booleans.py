"""Boolean functions: ``not``, ``is defined``, ``get or else``, ``assert``."""
from __future__ import annotations

from typing import Any

from zeebe_affinity_sync.engine.feel.builtins import builtin


class AssertionFailed(Exception):
    """``assert()`` failed: the evaluation stops with this message (the engine raises an incident)."""


@builtin("not", "negand")
def not_(value: Any) -> Any:
    return (not value) if type(value) is bool else None


@builtin("is defined", "value")
def is_defined(value: Any) -> bool:
    # Camunda 8.8 (feel-scala 1.19): a missing variable evaluates to null, and null is "not defined".
    return value is not None


@builtin("get or else", "value", "default")
def get_or_else(value: Any, default: Any) -> Any:
    return default if value is None else value


@builtin("assert", "value", "condition", pure=False)
def assert_(value: Any, condition: Any) -> Any:
    if condition is True:
        return value
    raise AssertionFailed("The condition is not fulfilled")


@builtin("assert", "value", "condition", "cause", pure=False)
def assert_cause(value: Any, condition: Any, cause: Any) -> Any:
    if condition is True:
        return value
    raise AssertionFailed(cause if isinstance(cause, str) else "The condition is not fulfilled")
