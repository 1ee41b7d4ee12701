"""The FEEL syntax tree: small immutable node classes that evaluate themselves.

Every node has ``ev(ctx)`` (its value against a variables mapping) and ``names(out, bound)``
(adds the top-level variable names it reads to ``out``, skipping names in ``bound``). Nodes hold
no per-evaluation state, so one tree is evaluated by many threads at once without a lock.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Set, Tuple

from zeebe_affinity_sync.engine.feel import values
from zeebe_affinity_sync.engine.feel.values import Duration, equal, is_number, ordered_pair

MISSING: Any = object()  # a variable or entry that does not exist (only `is defined` tells it from null)


class Scope(Mapping[str, Any]):
    """Read-only variables: ``local`` first, then ``parent`` (filters and context literals)."""

    __slots__ = ("local", "parent")

    def __init__(self, local: Dict[str, Any], parent: Mapping[str, Any]) -> None:
        self.local = local
        self.parent = parent

    def get(self, key: str, default: Any = None) -> Any:
        value = self.local.get(key, MISSING)
        return self.parent.get(key, default) if value is MISSING else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, MISSING)
        if value is MISSING:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        yield from self.local
        for key in self.parent:
            if key not in self.local:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Node:
    __slots__ = ()

    def ev(self, ctx: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def lookup(self, ctx: Mapping[str, Any]) -> Any:
        """Like :meth:`ev`, but a missing variable/entry gives ``MISSING`` (for ``is defined``)."""
        return self.ev(ctx)

    def names(self, out: Set[str], bound: frozenset) -> None:
        pass


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.value


class Name(Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return ctx.get(self.name)

    def lookup(self, ctx: Mapping[str, Any]) -> Any:
        return ctx.get(self.name, MISSING)

    def names(self, out: Set[str], bound: frozenset) -> None:
        if self.name not in bound:
            out.add(self.name)


_DURATION_PARTS: Dict[str, Callable[[float], Any]] = {
    "days": lambda s: int(abs(s) // 86400) * (1 if s >= 0 else -1),
    "hours": lambda s: int(abs(s) % 86400 // 3600) * (1 if s >= 0 else -1),
    "minutes": lambda s: int(abs(s) % 3600 // 60) * (1 if s >= 0 else -1),
    "seconds": lambda s: values.normalize(abs(s) % 60 * (1 if s >= 0 else -1)),
}


class Path(Node):
    """``base.name``: an entry of a context; on a list, the entry of each element."""

    __slots__ = ("base", "name")

    def __init__(self, base: Node, name: str) -> None:
        self.base = base
        self.name = name

    def _step(self, value: Any, missing: Any) -> Any:
        if type(value) is dict or isinstance(value, Mapping):
            return value.get(self.name, missing)
        if type(value) is list or type(value) is tuple:
            return [item.get(self.name) if isinstance(item, Mapping) else None for item in value]
        if type(value) is Duration and self.name in _DURATION_PARTS:
            return _DURATION_PARTS[self.name](value.seconds)
        return missing if value is MISSING else None

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self._step(self.base.ev(ctx), None)

    def lookup(self, ctx: Mapping[str, Any]) -> Any:
        return self._step(self.base.lookup(ctx), MISSING)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.base.names(out, bound)


class Filter(Node):
    """``base[expr]``: 1-based index (negative from the end) or a filter over ``item``."""

    __slots__ = ("base", "test")

    def __init__(self, base: Node, test: Node) -> None:
        self.base = base
        self.test = test

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        items = self.base.ev(ctx)
        if type(items) is not list and type(items) is not tuple:
            return None
        test = self.test
        if not isinstance(test, Literal):
            selector = test.ev(ctx)
            if not is_number(selector):
                kept = []
                for item in items:
                    local = dict(item) if isinstance(item, Mapping) else {}
                    local.setdefault("item", item)
                    if test.ev(Scope(local, ctx)) is True:
                        kept.append(item)
                return kept
        else:
            selector = test.value
            if not is_number(selector):
                return list(items) if selector is True else ([] if selector is False else None)
        if isinstance(selector, float):
            if not selector.is_integer():
                return None
            selector = int(selector)
        if 1 <= selector <= len(items):
            return items[selector - 1]
        if -len(items) <= selector <= -1:
            return items[selector]
        return None

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.base.names(out, bound)
        self.test.names(out, bound | {"item"})


class Call(Node):
    __slots__ = ("function", "args")

    def __init__(self, function: Callable[..., Any], args: Sequence[Node]) -> None:
        self.function = function
        self.args = tuple(args)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.function(*[arg.ev(ctx) for arg in self.args])

    def names(self, out: Set[str], bound: frozenset) -> None:
        for arg in self.args:
            arg.names(out, bound)


class IsDefined(Node):
    """``is defined(x)``: false only if ``x`` names a variable or entry that does not exist."""

    __slots__ = ("arg",)

    def __init__(self, arg: Node) -> None:
        self.arg = arg

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.arg.lookup(ctx) is not MISSING

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.arg.names(out, bound)


class Unary(Node):
    __slots__ = ("function", "arg")

    def __init__(self, function: Callable[[Any], Any], arg: Node) -> None:
        self.function = function
        self.arg = arg

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.function(self.arg.ev(ctx))

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.arg.names(out, bound)


class Binary(Node):
    """Arithmetic: ``function(left, right)`` with FEEL's null/type rules inside the function."""

    __slots__ = ("function", "left", "right")

    def __init__(self, function: Callable[[Any, Any], Any], left: Node, right: Node) -> None:
        self.function = function
        self.left = left
        self.right = right

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.function(self.left.ev(ctx), self.right.ev(ctx))

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.left.names(out, bound)
        self.right.names(out, bound)


_ORDER: Dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def compare(op: str, a: Any, b: Any) -> Optional[bool]:
    if op == "=":
        if type(a) is type(b) and type(a) in (int, str, bool):
            return a == b
        return equal(a, b)
    if op == "!=":
        result = equal(a, b)
        return None if result is None else not result
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return _ORDER[op](a, b)
    if ordered_pair(a, b):
        return _ORDER[op](a, b)
    return None


class Compare(Node):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Node, right: Node) -> None:
        self.op = op
        self.left = left
        self.right = right

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        a = self.left.ev(ctx)
        b = self.right.ev(ctx)
        if self.op in _ORDER:
            ta, tb = type(a), type(b)
            if (ta is int or ta is float) and (tb is int or tb is float):
                return _ORDER[self.op](a, b)
        return compare(self.op, a, b)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.left.names(out, bound)
        self.right.names(out, bound)


class And(Node):
    """Three-valued: false if any is false, true if all are true, else null."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[Node]) -> None:
        self.items = tuple(items)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        unknown = False
        for item in self.items:
            value = item.ev(ctx)
            if value is False:
                return False
            if value is not True:
                unknown = True
        return None if unknown else True

    def names(self, out: Set[str], bound: frozenset) -> None:
        for item in self.items:
            item.names(out, bound)


class Or(And):
    """Three-valued: true if any is true, false if all are false, else null."""

    __slots__ = ()

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        unknown = False
        for item in self.items:
            value = item.ev(ctx)
            if value is True:
                return True
            if value is not False:
                unknown = True
        return None if unknown else False


class If(Node):
    """``if c then a else b``: ``b`` unless ``c`` is exactly true."""

    __slots__ = ("condition", "then", "otherwise")

    def __init__(self, condition: Node, then: Node, otherwise: Node) -> None:
        self.condition = condition
        self.then = then
        self.otherwise = otherwise

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.then.ev(ctx) if self.condition.ev(ctx) is True else self.otherwise.ev(ctx)

    def names(self, out: Set[str], bound: frozenset) -> None:
        for node in (self.condition, self.then, self.otherwise):
            node.names(out, bound)


class ListLiteral(Node):
    __slots__ = ("items",)

    def __init__(self, items: Sequence[Node]) -> None:
        self.items = tuple(items)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return [item.ev(ctx) for item in self.items]

    def names(self, out: Set[str], bound: frozenset) -> None:
        for item in self.items:
            item.names(out, bound)


class ContextLiteral(Node):
    """``{a: 1, "b c": a + 1}``: later entries may read earlier ones."""

    __slots__ = ("entries",)

    def __init__(self, entries: Sequence[Tuple[str, Node]]) -> None:
        self.entries = tuple(entries)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        result: Dict[str, Any] = {}
        scope = Scope(result, ctx)
        for key, node in self.entries:
            result[key] = node.ev(scope)
        return result

    def names(self, out: Set[str], bound: frozenset) -> None:
        for key, node in self.entries:
            node.names(out, bound)
            bound = bound | {key}


# ------------------------------------------------------------------------------ unary tests


class Between(Node):
    __slots__ = ("value", "low", "high")

    def __init__(self, value: Node, low: Node, high: Node) -> None:
        self.value = value
        self.low = low
        self.high = high

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        value = self.value.ev(ctx)
        above = compare(">=", value, self.low.ev(ctx))
        below = compare("<=", value, self.high.ev(ctx))
        if above is False or below is False:
            return False
        return None if above is None or below is None else True

    def names(self, out: Set[str], bound: frozenset) -> None:
        for node in (self.value, self.low, self.high):
            node.names(out, bound)


class Test:
    """One positive unary test on the right of ``in``; ``test(value, ctx)`` -> true/false/null."""

    __slots__ = ()

    def test(self, value: Any, ctx: Mapping[str, Any]) -> Optional[bool]:  # pragma: no cover
        raise NotImplementedError

    def names(self, out: Set[str], bound: frozenset) -> None:  # pragma: no cover
        raise NotImplementedError


class EqualTest(Test):
    """``x in e``: equal to ``e``, or, when ``e`` is a list, equal to one of its elements."""

    __slots__ = ("expected",)

    def __init__(self, expected: Node) -> None:
        self.expected = expected

    def test(self, value: Any, ctx: Mapping[str, Any]) -> Optional[bool]:
        expected = self.expected.ev(ctx)
        if type(expected) is list or type(expected) is tuple:
            if type(value) is list and equal(value, expected) is True:
                return True
            return _any((equal(value, item) for item in expected))
        return equal(value, expected)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.expected.names(out, bound)


class CompareTest(Test):
    """``x in < 5``."""

    __slots__ = ("op", "expected")

    def __init__(self, op: str, expected: Node) -> None:
        self.op = op
        self.expected = expected

    def test(self, value: Any, ctx: Mapping[str, Any]) -> Optional[bool]:
        return compare(self.op, value, self.expected.ev(ctx))

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.expected.names(out, bound)


class RangeTest(Test):
    """``x in [1..5]``, ``(1..5)``, ``]1..5[``: bounds inclusive with ``[``/``]``, exclusive otherwise."""

    __slots__ = ("low", "low_closed", "high", "high_closed")

    def __init__(self, low: Node, low_closed: bool, high: Node, high_closed: bool) -> None:
        self.low = low
        self.low_closed = low_closed
        self.high = high
        self.high_closed = high_closed

    def test(self, value: Any, ctx: Mapping[str, Any]) -> Optional[bool]:
        above = compare(">=" if self.low_closed else ">", value, self.low.ev(ctx))
        below = compare("<=" if self.high_closed else "<", value, self.high.ev(ctx))
        if above is False or below is False:
            return False
        return None if above is None or below is None else True

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.low.names(out, bound)
        self.high.names(out, bound)


def _any(results: Any) -> Optional[bool]:
    unknown = False
    for result in results:
        if result is True:
            return True
        if result is None:
            unknown = True
    return None if unknown else False


class In(Node):
    """``x in t1, t2, ...``: true if any test is true, false if all are false, else null."""

    __slots__ = ("value", "tests")

    def __init__(self, value: Node, tests: Sequence[Test]) -> None:
        self.value = value
        self.tests = tuple(tests)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        value = self.value.ev(ctx)
        return _any(test.test(value, ctx) for test in self.tests)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.value.names(out, bound)
        for test in self.tests:
            test.names(out, bound)


class InstanceOf(Node):
    __slots__ = ("value", "type_name")

    def __init__(self, value: Node, type_name: str) -> None:
        self.value = value
        self.type_name = type_name  # a values.* type constant, or "ANY"

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        value = self.value.ev(ctx)
        if self.type_name == "ANY":
            return value is not None
        return values.kind(value) == self.type_name

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.value.names(out, bound)


def walk_names(node: Node) -> frozenset:
    out: Set[str] = set()
    node.names(out, frozenset())
    return frozenset(out)



def _children(node: Any) -> Iterator[Any]:
    for cls in type(node).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            value = getattr(node, slot, None)
            if isinstance(value, (Node, Test)):
                yield value
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, (Node, Test)):
                        yield item
                    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Node):
                        yield item[1]  # a context entry (key, node)


def tree_depth(root: Node) -> int:
    """Depth of the tree, computed without recursion (so a huge tree cannot overflow the stack)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest
