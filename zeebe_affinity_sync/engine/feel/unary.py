"""Unary tests: DMN input entries and the right side of ``in`` (``< 5``, ``"a","b"``, ``[1..5]``,
``not(...)``, ``-``, ``? > x``), decided as Camunda 8.8 decides them."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Set

from zeebe_affinity_sync.engine.feel import ops
from zeebe_affinity_sync.engine.feel.nodes import InputEquals, Node, Scope, _depth
from zeebe_affinity_sync.engine.feel.values import Range

__all__ = ["UnaryTests", "Compare1", "match"]


class UnaryTests(Node):
    """A list of unary tests (DMN input entries, the right side of ``in``).

    Each test is a node evaluated with ``?`` bound to the input: when its result is a boolean it
    is the answer; a list or range answers membership; any other value is compared with ``=``.
    ``negated`` is ``not(...)``; ``any`` is ``-``.
    """

    __slots__ = ("tests", "negated", "any", "depth", "inputs")

    def __init__(self, tests: Sequence[Node], negated: bool = False, any: bool = False) -> None:
        self.tests, self.negated, self.any = tuple(tests), negated, any
        self.depth = _depth(self.tests)
        self.inputs = tuple(_uses_input(t) for t in self.tests)

    def test(self, value: Any, ctx: Mapping[str, Any]) -> Optional[bool]:
        if self.any:
            return True
        scope = Scope({"?": value}, ctx)
        unknown = False
        for test, uses_input in zip(self.tests, self.inputs):
            result = match(value, test.ev(scope), test, uses_input)
            if result is True:
                return False if self.negated else True
            if result is None:
                unknown = True
        if unknown:
            return None
        return True if self.negated else False

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.test(ctx.get("?"), ctx)

    def names(self, out: Set[str], bound: frozenset) -> None:
        for test in self.tests:
            test.names(out, bound | {"?"})

    def children(self) -> Sequence[Node]:
        return self.tests


def match(value: Any, expected: Any, node: Node, uses_input: bool) -> Optional[bool]:
    """One unary test, as Camunda 8.8 (feel-scala 1.19) decides it: ``expected`` is what the
    test node gave for input ``value``.

    A comparison (``< 5``) or an interval answers itself; a lone ``true``/``false`` is compared
    with the input; a test that reads ``?`` must give a boolean (else null). Any other
    expression: ``true`` matches, a list matches when it contains the input, otherwise the input
    must equal the value.
    """
    if isinstance(node, Compare1):
        return expected
    t = type(expected)
    if t is Range:
        return ops.in_range(value, expected)
    if isinstance(node, InputEquals):
        return ops.eq(value, expected)
    if uses_input:
        return expected if t is bool else None
    if expected is True:
        return True
    is_list = t is list or t is tuple
    if is_list:
        for item in expected:
            if (ops.in_range(value, item) if type(item) is Range else ops.eq(value, item)) is True:
                return True
    same = ops.eq(value, expected)
    if same is True:
        return True
    if expected is False or is_list:
        return False
    return same


def _uses_input(node: Node) -> bool:
    names: Set[str] = set()
    node.names(names, frozenset())
    return "?" in names


class Compare1(Node):
    """A unary comparison test ``< 5`` (``?`` compared with the operand)."""

    __slots__ = ("fn", "operand", "depth")

    def __init__(self, fn: Callable[[Any, Any], Any], operand: Node) -> None:
        self.fn, self.operand = fn, operand
        self.depth = operand.depth + 1

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.fn(ctx.get("?"), self.operand.ev(ctx))

    def names(self, out: Set[str], bound: frozenset) -> None:
        self.operand.names(out, bound)

    def children(self) -> Sequence[Node]:
        return (self.operand,)


