"""Loops and functions in the FEEL tree: ``for``, ``some``/``every``, function definitions and
calls (built-ins, function variables, functions in contexts)."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from zeebe_affinity_sync.engine.feel import limits, ops
from zeebe_affinity_sync.engine.feel.nodes import (
    Binary, Filter, Name, Node, Path, Scope, _depth, read,
)
from zeebe_affinity_sync.engine.feel.values import Function, Range, num

logger = logging.getLogger(__name__)

__all__ = ["For", "Quantified", "FunctionDef", "Call", "iterate", "find_function", "has_loops"]


def iterate(domain: Any) -> Optional[Sequence[Any]]:
    """What a ``for``/``some``/``every`` iterates: a list, or the integers of ``a..b``."""
    if type(domain) is Range:
        a, b = num(domain.start), num(domain.end)
        if type(a) is not int or type(b) is not int:
            return None
        limits.check_size(abs(b - a) + 1, "range")
        return range(a, b + 1) if a <= b else range(a, b - 1, -1)
    if type(domain) in (list, tuple):
        return domain
    return None  # as Camunda: iterating over a non-list is null


class For(Node):
    """``for x in a, y in b return body``; ``partial`` is the list of results so far."""

    __slots__ = ("iterators", "body", "depth")

    def __init__(self, iterators: Sequence[Tuple[str, Node]], body: Node) -> None:
        self.iterators, self.body = tuple(iterators), body
        self.depth = _depth([n for _, n in self.iterators] + [body])

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        results: List[Any] = []
        local: Dict[str, Any] = {"partial": results}
        scope = Scope(local, ctx)
        if not self._loop(0, local, scope, results):
            return None
        return results

    def _loop(self, i: int, local: Dict[str, Any], scope: Scope, results: List[Any]) -> bool:
        name, node = self.iterators[i]
        domain = iterate(node.ev(scope))
        if domain is None:
            return False
        limits.tick(len(domain))
        last = i == len(self.iterators) - 1
        for item in domain:
            local[name] = read(item)
            if last:
                results.append(self.body.ev(scope))
                if len(results) > limits.MAX_ITEMS:
                    limits.check_size(len(results))
            elif not self._loop(i + 1, local, scope, results):
                return False
        return True

    def names(self, out: Set[str], bound: frozenset) -> None:
        inner = set(bound) | {"partial"}
        for name, node in self.iterators:
            node.names(out, frozenset(inner))
            inner.add(name)
        self.body.names(out, frozenset(inner))

    def children(self) -> Sequence[Node]:
        return [n for _, n in self.iterators] + [self.body]


class Quantified(Node):
    """``some``/``every x in l satisfies cond``."""

    __slots__ = ("every", "iterators", "cond", "depth")

    def __init__(self, every: bool, iterators: Sequence[Tuple[str, Node]], cond: Node) -> None:
        self.every, self.iterators, self.cond = every, tuple(iterators), cond
        self.depth = _depth([n for _, n in self.iterators] + [cond])

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        local: Dict[str, Any] = {}
        scope = Scope(local, ctx)
        found = self._loop(0, local, scope)
        return found

    def _loop(self, i: int, local: Dict[str, Any], scope: Scope) -> Any:
        name, node = self.iterators[i]
        domain = iterate(node.ev(scope))
        if domain is None:
            return None
        limits.tick(len(domain))
        last = i == len(self.iterators) - 1
        unknown = False  # three-valued, like and/or: a non-boolean condition makes it null
        for item in domain:
            local[name] = read(item)
            value = self.cond.ev(scope) if last else self._loop(i + 1, local, scope)
            if value is (not self.every):
                return value
            if value is not self.every:
                unknown = True
        return None if unknown else self.every

    def names(self, out: Set[str], bound: frozenset) -> None:
        inner = set(bound)
        for name, node in self.iterators:
            node.names(out, frozenset(inner))
            inner.add(name)
        self.cond.names(out, frozenset(inner))

    def children(self) -> Sequence[Node]:
        return [n for _, n in self.iterators] + [self.cond]


class FunctionDef(Node):
    """``function(a, b) body``: a closure over the variables where it is defined."""

    __slots__ = ("params", "body", "depth")

    def __init__(self, params: Sequence[str], body: Node) -> None:
        self.params, self.body = tuple(params), body
        self.depth = body.depth + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        params, body = self.params, self.body

        def call(args: List[Any]) -> Any:
            return body.ev(Scope(dict(zip(params, args)), ctx))

        return Function(params, call, order=self._order())

    def _order(self) -> Any:
        """``(descending, path)`` if the body compares the same path of both parameters."""
        body = self.body
        if len(self.params) != 2 or not isinstance(body, Binary):
            return None
        descending = {ops.less: False, ops.greater: True}.get(body.fn)
        if descending is None:
            return None
        left, right = _path_of(body.left), _path_of(body.right)
        if left is None or right is None or left[1] != right[1]:
            return None
        if (left[0], right[0]) == (self.params[0], self.params[1]):
            return descending, left[1]
        if (left[0], right[0]) == (self.params[1], self.params[0]):
            return not descending, left[1]
        return None

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.body.names(out, bound | frozenset(self.params))

    def children(self) -> Sequence[Node]:
        return (self.body,)


_BUILTINS_MODULE: Any = None


def _builtins() -> Any:
    """The builtins package (imported on first use: it imports the tree modules itself)."""
    global _BUILTINS_MODULE
    if _BUILTINS_MODULE is None:
        from zeebe_affinity_sync.engine.feel import builtins
        _BUILTINS_MODULE = builtins
    return _BUILTINS_MODULE


def _call_builtin(fn: Any, args: List[Any]) -> Any:
    global _call_builtin
    run = _builtins()._run
    _call_builtin = run  # noqa: F811  (bind the runner once, on first use)
    return run(fn, args)


def find_function(ctx: Mapping[str, Any], name: str) -> Optional[Function]:
    """The nearest function called ``name``: a nearer variable of that name that is not a
    function does not hide it (functions and values are looked up apart, as in Camunda)."""
    while type(ctx) is Scope:
        candidate = ctx.local.get(name)
        if type(candidate) is Function:
            return candidate
        ctx = ctx.parent
    candidate = ctx.get(name)
    return candidate if type(candidate) is Function else None


def _path_of(node: Node) -> Optional[Tuple[str, Tuple[str, ...]]]:
    steps: List[str] = []
    while isinstance(node, Path):
        steps.append(node.name)
        node = node.base
    if type(node) is not Name:
        return None
    return node.name, tuple(reversed(steps))


class Call(Node):
    """A function call. ``target`` is a node giving a Function (a variable, a path...), or the
    name of a built-in resolved at compile time (``builtin``)."""

    __slots__ = ("name", "builtin", "target", "args", "named", "depth", "mismatch", "direct")

    def __init__(self, name: str, builtin: Any, target: Optional[Node], args: Sequence[Node],
                 named: Optional[Sequence[str]]) -> None:
        self.name, self.builtin, self.target = name, builtin, target
        self.args, self.named = tuple(args), (tuple(named) if named is not None else None)
        self.depth = _depth(list(self.args) + ([target] if target is not None else []))
        # Decided once: a built-in call with no matching signature (null at run time, as Camunda),
        # and the one overload a positional call goes to (the hot path: no overload search).
        self.mismatch = bool(builtin.check_arity(len(self.args), self.named)) if builtin is not None else False
        self.direct = None
        if builtin is not None and not self.mismatch and named is None and not builtin.lazy:
            fitting = [o for o in builtin.overloads if o.fits(len(self.args))]
            self.direct = fitting[0].fn if fitting else None

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        function = None
        if self.target is not None:
            function = self.target.ev(ctx)
        else:  # a function variable of the same name wins over a built-in
            function = find_function(ctx, self.name)
        if function is None and self.builtin is not None:
            if self.mismatch:
                # e.g. substring("a"): Zeebe deploys it; Camunda answers null at run time
                logger.debug("FEEL: no function found with name '%s' and these parameters (null)", self.name)
                return None
            if self.direct is not None:
                return _call_builtin(self.direct, [a.ev(ctx) for a in self.args])
            if self.builtin.lazy:
                return self.builtin.call_lazy(self, ctx)
            args = [a.ev(ctx) for a in self.args]
            return _builtins().invoke(self.builtin, args, self.named)
        args = [a.ev(ctx) for a in self.args]
        invoke_function = _builtins().invoke_function
        if type(function) is not Function:
            # As Camunda 8.8: no function of that name (and these arguments) is null, reported
            # as a suppressed failure, not an error.
            logger.debug("FEEL: no function found with name '%s' and %d parameters (null)",
                         self.name or "function", len(args))
            return None
        return invoke_function(function, args, self.named)

    def names(self, out: Set[str], bound: frozenset) -> None:
        if self.target is not None:
            self.target.names(out, bound)
        elif self.builtin is None and self.name not in bound:
            out.add(self.name)
        for a in self.args:
            a.names(out, bound)

    def children(self) -> Sequence[Node]:
        return list(self.args) + ([self.target] if self.target is not None else [])



def has_loops(node: Node) -> bool:
    """Whether evaluating the tree may loop (filters, for, some/every, calls): only those need
    the per-evaluation step budget reset."""
    if isinstance(node, (Filter, For, Quantified, FunctionDef)):
        return True
    if isinstance(node, Call) and (node.builtin is None or node.builtin.name == "sort" or node.target is not None):
        return True  # user functions may recurse; sort calls back
    return any(has_loops(child) for child in node.children())

