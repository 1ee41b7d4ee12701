"""FEEL built-in functions: the registry, overload choice, named arguments and null rules.

Each function module (``strings``, ``numeric``, ``lists``, ``contexts``, ``conversion``,
``temporal_fns``, ``ranges``, ``booleans``) registers its functions with :func:`builtin`::

    @builtin("substring", "string", "start position", "length?")
    def substring(string, start, length=None): ...

A parameter ending in ``?`` is optional, one ending in ``...`` takes the remaining arguments
(``...?``: possibly none); ``a|b`` names one parameter two ways (Camunda's docs and its engine
disagree on a few names, e.g. ``sublist(list, start position|start)``), both accepted as named
arguments.
Several registrations under one name are overloads, chosen by the number (or names) of the
arguments. A function that meets an argument of the wrong type returns ``None``; the few
Python errors such code can raise (``TypeError``, ``ValueError``...) are turned into ``None``
here, which is FEEL's rule ("a type mismatch is null").
"""
from __future__ import annotations

import decimal
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from zeebe_affinity_sync.engine.feel import limits
from zeebe_affinity_sync.engine.feel.values import Function, UnsupportedValue

__all__ = ["Builtin", "BUILTINS", "MAX_NAME_WORDS", "builtin", "invoke", "invoke_function", "call_function"]

_NULL_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError,
                decimal.InvalidOperation, OverflowError)


class _Overload:
    __slots__ = ("params", "aliases", "required", "varargs", "fn")

    def __init__(self, params: Sequence[str], fn: Callable[..., Any]) -> None:
        names = []
        required = 0
        varargs = False
        for p in params:
            if p.endswith("...?"):
                varargs = True
                names.append(p[:-4])
            elif p.endswith("..."):
                varargs = True
                names.append(p[:-3])
                required += 1
            elif p.endswith("?"):
                names.append(p[:-1])
            else:
                names.append(p)
                required += 1
        self.aliases = tuple(tuple(n.split("|")) for n in names)
        self.params = tuple(a[0] for a in self.aliases)
        self.required = required
        self.varargs = varargs
        self.fn = fn

    def fits(self, count: int) -> bool:
        return count >= self.required and (self.varargs or count <= len(self.params))

    def canonical(self, name: str) -> Optional[str]:
        for alias in self.aliases:
            if name in alias:
                return alias[0]
        return None

    def fits_names(self, named: Sequence[str]) -> bool:
        canonical = [self.canonical(n) for n in named]
        if None in canonical or len(set(canonical)) != len(canonical):
            return False
        return all(p in canonical for p in self.params[:self.required])


class Builtin:
    """One built-in function name with its overloads."""

    __slots__ = ("name", "overloads", "pure", "lazy", "call_lazy")

    def __init__(self, name: str) -> None:
        self.name = name
        self.overloads: List[_Overload] = []
        self.pure = True
        self.lazy = False
        self.call_lazy: Any = None

    def check_arity(self, count: int, named: Optional[Sequence[str]]) -> str:
        if named is not None:
            if any(o.fits_names(named) for o in self.overloads):
                return ""
            wanted = " or ".join("(" + ", ".join(o.params) + ")" for o in self.overloads)
            return f"function '{self.name}' has no parameters named {', '.join(named)} (it takes {wanted})"
        if any(o.fits(count) for o in self.overloads):
            return ""
        low = min(o.required for o in self.overloads)
        if any(o.varargs for o in self.overloads):
            return f"function '{self.name}' takes at least {low} argument{'s' if low != 1 else ''}, got {count}"
        high = max(len(o.params) for o in self.overloads)
        span = f"{low}" if low == high else f"{low} to {high}"
        return f"function '{self.name}' takes {span} argument{'s' if span != '1' else ''}, got {count}"


BUILTINS: Dict[str, Builtin] = {}


def builtin(name: str, *params: str, pure: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        entry = BUILTINS.setdefault(name, Builtin(name))
        entry.overloads.append(_Overload(params, fn))
        entry.pure = entry.pure and pure
        return fn
    return register


def lazy(name: str, fn: Callable[[Any, Mapping[str, Any]], Any], *params: str) -> None:
    """A function that gets its argument nodes unevaluated (``is defined``)."""
    entry = BUILTINS.setdefault(name, Builtin(name))
    entry.overloads.append(_Overload(params, fn))
    entry.lazy = True
    entry.pure = False
    entry.call_lazy = fn


def _run(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    try:
        return fn(*args)
    except (UnsupportedValue, limits.LimitExceeded, RecursionError):
        raise
    except _NULL_ERRORS:
        return None


def invoke(entry: Builtin, args: List[Any], named: Optional[Sequence[str]]) -> Any:
    if named is None:
        for overload in entry.overloads:
            if overload.fits(len(args)):
                return _run(overload.fn, args)
        return None
    for overload in entry.overloads:
        if overload.fits_names(named):
            given = {overload.canonical(n): a for n, a in zip(named, args)}
            positional = []
            for p in overload.params:
                if p in given:
                    positional.append(given[p])
                elif p == overload.params[-1] and overload.varargs:
                    break
                else:
                    positional.append(_DEFAULT)
            while positional and positional[-1] is _DEFAULT:
                positional.pop()
            positional = [None if p is _DEFAULT else p for p in positional]
            if overload.varargs and overload.params[-1] in given:
                last = positional.pop()
                positional.extend(last if isinstance(last, list) else [last])
            return _run(overload.fn, positional)
    return None


_DEFAULT: Any = object()


def invoke_function(function: Function, args: List[Any], named: Optional[Sequence[str]]) -> Any:
    if named is not None:
        if function.params is None:
            return None
        given = dict(zip(named, args))
        if not set(given) <= set(function.params):
            return None
        args = [given.get(p) for p in function.params]
    elif function.params is not None:
        if len(args) != len(function.params):
            return None
    return function.call(args)


def call_function(function: Any, *args: Any) -> Any:
    """Call a FEEL function value from a built-in (``sort``'s ``precedes``)."""
    if type(function) is not Function:
        raise TypeError("not a function")
    limits.tick()
    return invoke_function(function, list(args), None)


MAX_NAME_WORDS = 1

from zeebe_affinity_sync.engine.feel.builtins import (  # noqa: E402,F401  (registration by import)
    booleans, contexts, conversion, lists, numeric, ranges, strings, temporal_fns,
)

MAX_NAME_WORDS = max(len(name.split()) for name in BUILTINS)
