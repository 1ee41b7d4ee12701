"""The FEEL syntax tree: small immutable node classes that evaluate themselves.

Every node has ``ev(ctx)`` (its value against a variables mapping) and ``names(out, bound)``
(adds the top-level variable names it reads to ``out``). Nodes hold no per-evaluation state, so
one tree is evaluated by many threads at once without a lock.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Set, Tuple

from zeebe_affinity_sync.engine.feel import limits, ops, temporal
from zeebe_affinity_sync.engine.feel.values import Range, is_number, kind, num

MISSING: Any = object()  # a variable or entry that does not exist (only `is defined` tells it from null)


class Scope(Mapping[str, Any]):
    """Read-only variables: ``local`` first, then ``parent`` (filters, loops, context literals)."""

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


def read(value: Any) -> Any:
    """A value read from the variables, as the evaluator holds it (floats -> Decimal; checks
    that it is a FEEL value at all)."""
    t = type(value)
    if t is int or t is str or t is bool or t is dict or t is list or value is None:
        return value
    if t is float:
        return num(value)
    kind(value)  # raises UnsupportedValue for a non-JSON object
    return value


class Node:
    __slots__ = ()
    depth = 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def lookup(self, ctx: Mapping[str, Any]) -> Any:
        """Like :meth:`ev`, but a missing variable/entry gives ``MISSING`` (for ``is defined``)."""
        return self.ev(ctx)

    def names(self, out: Set[str], bound: frozenset) -> None:
        pass

    def children(self) -> Sequence["Node"]:
        return ()


def _depth(children: Sequence[Node]) -> int:
    return 1 + max((c.depth for c in children), default=0)


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        v = self.value
        if type(v) is list:
            return list(v)
        if type(v) is dict:
            return dict(v)
        return v


class InputEquals(Literal):
    """A unary test that is just ``true`` or ``false``: compared with the input."""

    __slots__ = ()


class Name(Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        value = ctx.get(self.name)
        t = type(value)
        if t is int or t is str or t is bool or value is None:
            return value
        return read(value)

    def lookup(self, ctx: Mapping[str, Any]) -> Any:
        value = ctx.get(self.name, MISSING)
        return value if value is MISSING else read(value)

    def names(self, out: Set[str], bound: frozenset) -> None:
        if self.name not in bound:
            out.add(self.name)


def get_entry(base: Any, name: str, missing: Any = None) -> Any:
    """``base.name``: a context entry, a property of a temporal value or range, or the entry of
    every context in a list."""
    t = type(base)
    if t is dict or (t not in _PLAIN and isinstance(base, Mapping)):
        value = base.get(name, MISSING)
        return missing if value is MISSING else read(value)
    if t is list or t is tuple:
        return [get_entry(item, name) for item in base]
    if t is Range:
        prop = {"start": base.start, "end": base.end, "start included": base.start_included,
                "end included": base.end_included}.get(name, MISSING)
        return missing if prop is MISSING else prop
    if base is None:
        return missing
    return temporal.property_of(base, name, missing)


class NoInputValue(Exception):
    """Internal: ``?`` outside a unary test (Camunda fails the evaluation)."""


class InputValue(Name):
    """``?``: the input value of the unary test being evaluated."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("?")

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        value = ctx.get("?", MISSING)
        if value is MISSING:
            raise NoInputValue("No input value available. '?' can only be used inside an unary-test expression.")
        return read(value)


class RawName(Name):
    """A whole expression that is one variable: its value passes through untouched, even when
    it is not a FEEL value (the engine copies it as it is)."""

    __slots__ = ()

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        value = ctx.get(self.name)
        return num(value) if type(value) is float else value


class Path(Node):
    __slots__ = ("base", "name", "depth")

    def __init__(self, base: Node, name: str) -> None:
        self.base, self.name = base, name
        self.depth = base.depth + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        base = self.base.ev(ctx)
        if type(base) is dict:
            value = base.get(self.name)
            t = type(value)
            return value if (t is int or t is str or t is bool or value is None) else read(value)
        return get_entry(base, self.name)

    def lookup(self, ctx: Mapping[str, Any]) -> Any:
        base = self.base.lookup(ctx)
        if base is MISSING:
            return MISSING
        return get_entry(base, self.name, MISSING)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.base.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.base,)


def _item_scope(item: Any, ctx: Mapping[str, Any]) -> Scope:
    local = {"item": item}
    if type(item) is dict or (type(item) not in _PLAIN and isinstance(item, Mapping)):
        local.update(item)  # the item's entries win over `item` (as Camunda)
    return Scope(local, ctx)


_PLAIN = frozenset((int, str, bool, float, list, type(None)))


class Filter(Node):
    """``list[condition]`` or ``list[index]`` (1-based, negative from the end)."""

    __slots__ = ("base", "cond", "depth", "boolean")

    def __init__(self, base: Node, cond: Node) -> None:
        self.base, self.cond = base, cond
        self.depth = max(base.depth, cond.depth) + 1
        # As Camunda: a comparison or a call is always a condition on the item; anything else may
        # be an index that does not need the item (`l[i]`)
        self.boolean = isinstance(cond, Binary) and cond.fn in ops.COMPARISONS.values()

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        base = self.base.ev(ctx)
        if type(base) not in (list, tuple):
            return None
        cond = self.cond
        if isinstance(cond, Literal):
            value = cond.value
            if is_number(value) and type(value) is not bool:
                return _index(base, value)
            return list(base) if value is True else []
        if not (self.boolean or isinstance(cond, Call)):
            # As Camunda: a filter that is a number without the item (`l[i]`) is an index.
            outer = cond.ev(ctx)
            if is_number(outer) and type(outer) is not bool:
                return _index(base, outer)
        if not base:
            return []
        limits.tick(len(base))
        result = []
        for position, item in enumerate(base):
            item = read(item)
            keep = cond.ev(_item_scope(item, ctx))
            if position == 0 and is_number(keep) and type(keep) is not bool:
                return _index(base, keep)
            if keep is True:
                result.append(item)
        return result

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.base.names(out, bound)
        self.cond.names(out, bound | {"item"})

    def children(self) -> Sequence[Node]:
        return (self.base, self.cond)


def _index(items: Sequence[Any], index: Any) -> Any:
    index = num(index)
    if index is None or index != int(index):
        return None
    index = int(index)
    if index > 0 and index <= len(items):
        return read(items[index - 1])
    if index < 0 and -index <= len(items):
        return read(items[index])
    return None


class Negate(Node):
    __slots__ = ("operand", "depth")

    def __init__(self, operand: Node) -> None:
        self.operand = operand
        self.depth = operand.depth + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return ops.negate(self.operand.ev(ctx))

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.operand.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.operand,)


class Binary(Node):
    """Arithmetic and comparison: ``fn(left, right)``."""

    __slots__ = ("fn", "left", "right", "depth")

    def __init__(self, fn: Callable[[Any, Any], Any], left: Node, right: Node) -> None:
        self.fn, self.left, self.right = fn, left, right
        self.depth = max(left.depth, right.depth) + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.fn(self.left.ev(ctx), self.right.ev(ctx))

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.left.names(out, bound)
        self.right.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.left, self.right)


class Logic(Node):
    """n-ary ``and`` / ``or`` with FEEL's three-valued logic (non-booleans count as null)."""

    __slots__ = ("is_and", "operands", "depth")

    def __init__(self, is_and: bool, operands: Sequence[Node]) -> None:
        self.is_and, self.operands = is_and, tuple(operands)
        self.depth = _depth(self.operands)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        unknown = False
        decisive = not self.is_and  # `or` stops at true, `and` at false
        for operand in self.operands:
            value = operand.ev(ctx)
            if value is decisive:
                return decisive
            if value is not (not decisive):
                unknown = True
        return None if unknown else not decisive

    def names(self, out: Set[str], bound: frozenset) -> None:
        for operand in self.operands:
            operand.names(out, bound)

    def children(self) -> Sequence[Node]:
        return self.operands


class If(Node):
    __slots__ = ("cond", "then", "otherwise", "depth")

    def __init__(self, cond: Node, then: Node, otherwise: Node) -> None:
        self.cond, self.then, self.otherwise = cond, then, otherwise
        self.depth = _depth((cond, then, otherwise))

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.then.ev(ctx) if self.cond.ev(ctx) is True else self.otherwise.ev(ctx)

    def names(self, out: Set[str], bound: frozenset) -> None:
        for child in (self.cond, self.then, self.otherwise):
            child.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.cond, self.then, self.otherwise)


class Between(Node):
    __slots__ = ("value", "low", "high", "depth")

    def __init__(self, value: Node, low: Node, high: Node) -> None:
        self.value, self.low, self.high = value, low, high
        self.depth = _depth((value, low, high))

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        v = self.value.ev(ctx)
        a = ops.greater_equal(v, self.low.ev(ctx))
        b = ops.less_equal(v, self.high.ev(ctx))
        if a is False or b is False:
            return False
        return None if a is None or b is None else True

    def names(self, out: Set[str], bound: frozenset) -> None:
        for child in (self.value, self.low, self.high):
            child.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.value, self.low, self.high)


class In(Node):
    """``value in <positive unary tests>``; each test is a node evaluated with ``?`` bound."""

    __slots__ = ("value", "tests", "depth")

    def __init__(self, value: Node, tests: "UnaryTests") -> None:
        self.value, self.tests = value, tests
        self.depth = max(value.depth, tests.depth) + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.tests.test(self.value.ev(ctx), ctx)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.value.names(out, bound)
        self.tests.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.value, self.tests)


class InstanceOf(Node):
    __slots__ = ("value", "type_name", "depth")

    def __init__(self, value: Node, type_name: str) -> None:
        self.value, self.type_name = value, type_name
        self.depth = value.depth + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return is_instance(self.value.ev(ctx), self.type_name)

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.value.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.value,)


_TYPE_KINDS = {
    "number": ("NUMBER",), "string": ("STRING",), "boolean": ("BOOLEAN",), "context": ("CONTEXT",),
    "list": ("LIST",), "date": ("DATE",), "time": ("TIME",), "date and time": ("DATE_TIME",),
    "days and time duration": ("DURATION",), "years and months duration": ("PERIOD",),
    "range": ("RANGE",), "function": ("FUNCTION",), "null": ("NULL",), "Null": ("NULL",),
}


def is_instance(value: Any, type_name: str) -> bool:
    if type_name == "Any":
        return value is not None
    base = type_name.split("<", 1)[0].strip()
    kinds = _TYPE_KINDS.get(base)
    if kinds is None:
        return False
    return kind(value) in kinds


class ListNode(Node):
    __slots__ = ("items", "depth")

    def __init__(self, items: Sequence[Node]) -> None:
        self.items = tuple(items)
        self.depth = _depth(self.items)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return [item.ev(ctx) for item in self.items]

    def names(self, out: Set[str], bound: frozenset) -> None:
        for item in self.items:
            item.names(out, bound)

    def children(self) -> Sequence[Node]:
        return self.items


class ContextNode(Node):
    """``{a: 1, b: a + 1}``: later entries see earlier ones."""

    __slots__ = ("entries", "depth", "chained")

    def __init__(self, entries: Sequence[Tuple[str, Node]]) -> None:
        self.entries = tuple(entries)
        self.depth = _depth([node for _, node in self.entries])
        # Only when an entry may read an earlier one (or defines a function) does it need a scope.
        keys = {key for key, _ in self.entries}
        self.chained = any(walk_names(node) & keys or has_loops(node) for _, node in self.entries)

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        result: Dict[str, Any] = {}
        scope = Scope(result, ctx) if self.chained else ctx
        for key, node in self.entries:
            result[key] = node.ev(scope)
        return result

    def names(self, out: Set[str], bound: frozenset) -> None:
        keys = frozenset(key for key, _ in self.entries)
        for _, node in self.entries:
            node.names(out, bound | keys)

    def children(self) -> Sequence[Node]:
        return [node for _, node in self.entries]


class RangeNode(Node):
    __slots__ = ("start", "end", "start_included", "end_included", "depth")

    def __init__(self, start: Optional[Node], end: Optional[Node], start_included: bool,
                 end_included: bool) -> None:
        self.start, self.end = start, end
        self.start_included, self.end_included = start_included, end_included
        self.depth = _depth([n for n in (start, end) if n is not None])

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        start = self.start.ev(ctx) if self.start is not None else None
        end = self.end.ev(ctx) if self.end is not None else None
        if start is not None and end is not None and kind(start) != kind(end):
            return None
        return Range(start, end, self.start_included, self.end_included)

    def names(self, out: Set[str], bound: frozenset) -> None:
        for n in (self.start, self.end):
            if n is not None:
                n.names(out, bound)

    def children(self) -> Sequence[Node]:
        return [n for n in (self.start, self.end) if n is not None]


def walk_names(node: Node) -> frozenset:
    out: Set[str] = set()
    node.names(out, frozenset())
    return frozenset(out)



# Unary tests and the loop / function nodes live in their own modules; re-exported here so the
# tree has one namespace (the parser builds from ``nodes``).
from zeebe_affinity_sync.engine.feel.unary import Compare1, UnaryTests, match  # noqa: E402,F401
from zeebe_affinity_sync.engine.feel.loops import (  # noqa: E402,F401
    Call, For, FunctionDef, Quantified, find_function, has_loops, iterate,
)
