"""FEEL as Camunda 8.8 evaluates it: conditions, mappings, correlation keys, timers, DMN.

Compile once (at deploy time), evaluate many times (on every token pass)::

    condition = compile_expression("= totalPrice > 100")   # FeelSyntaxError if it cannot parse
    condition.evaluate({"totalPrice": 150})                  # True
    condition.variable_names()                               # frozenset({'totalPrice'})

FEEL never fails on a missing variable or a type mismatch: it answers ``null`` (``None``). The
engine decides what a wrong result type means (Zeebe raises an incident naming
:func:`feel_type_name` of the result). Results are JSON-like (``int``/``float``/``str``/...)
except temporal values (``datetime.date``/``time``/``datetime``), :class:`Duration`,
:class:`YearsMonths`, :class:`Range` and functions; :func:`to_json` makes any result storable.

Types, limits and the supported language are listed in ``docs/feel.md``.

Thread safety: an :class:`Expression` is immutable once compiled; any number of threads may
evaluate the same one at once. :func:`evaluate` keeps a small LRU cache of compiled expressions
(``functools.lru_cache``, which has its own lock).
"""
from __future__ import annotations

import functools
from typing import Any, FrozenSet, Mapping

from zeebe_affinity_sync import defaults
from zeebe_affinity_sync.engine.feel import limits
from zeebe_affinity_sync.engine.feel.builtins.booleans import AssertionFailed
from zeebe_affinity_sync.engine.feel.exceptions import FeelEvaluationError, FeelSyntaxError
from zeebe_affinity_sync.engine.feel.nodes import (
    Name, NoInputValue, Node, RawName, UnaryTests, has_loops, walk_names,
)
from zeebe_affinity_sync.engine.feel.parser import parse, parse_unary_tests
from zeebe_affinity_sync.engine.feel.temporal import parse_duration
from zeebe_affinity_sync.engine.feel.values import (
    Duration,
    Range,
    UnsupportedValue,
    YearsMonths,
    feel_type_name,
    out,
    to_json,
    to_string,
)

__all__ = [
    "FeelSyntaxError",
    "FeelEvaluationError",
    "Expression",
    "Duration",
    "YearsMonths",
    "Range",
    "UnaryTestsExpression",
    "compile_unary_tests",
    "is_expression",
    "compile_expression",
    "evaluate",
    "parse_duration",
    "feel_type_name",
    "to_string",
    "to_json",
]


def is_expression(text: str) -> bool:
    """True if ``text`` (after leading whitespace) starts with ``=``, i.e. is a FEEL expression
    rather than a static value (a non-string is never an expression)."""
    return isinstance(text, str) and text.lstrip().startswith("=")


class Expression:
    """A compiled FEEL expression. Immutable and safe to share between threads.

    Attributes:
        source: The text as given to :func:`compile_expression` (with its ``=`` if it had one).
    """

    __slots__ = ("source", "_root", "_names", "_loops")

    source: str
    _root: Node
    _names: FrozenSet[str]
    _loops: bool

    def __init__(self, source: str, root: Node) -> None:
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_names", walk_names(root))
        object.__setattr__(self, "_loops", has_loops(root))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Expression is immutable (tried to set {name!r})")

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Evaluate against variables.

        Args:
            context: Variable name -> JSON value (a ``dict`` or any read-only ``Mapping``; it is
                never modified).

        Returns:
            A JSON-compatible value (``dict``/``list``/``str``/``int``/``float``/``bool``/``None``)
            or a :class:`Duration`. Integral numbers are ``int``. A result may share lists and
            dicts with ``context``: copy it (or pass it through :func:`to_json`) before mutating.

        Raises:
            TypeError: ``context`` is not a mapping.
            FeelEvaluationError: A variable the expression uses holds a non-JSON value, or the
                evaluation nested too deeply. Everything else FEEL answers with ``None``.
        """
        if type(context) is not dict and not isinstance(context, Mapping):
            raise TypeError(f"FEEL variables must be a mapping (a dict), not {type(context).__name__}")
        if self._loops:
            limits.start()
        try:
            result = self._root.ev(context)
        except _FAILURES as exc:
            raise _failure(self.source, exc) from None
        t = type(result)
        if t is bool or t is int or t is str or result is None:
            return result
        return out(result)

    def variable_names(self) -> FrozenSet[str]:
        """The top-level variable names the expression reads (``a`` for ``a.b.c``).

        May include a few names that turn out to be entries of filtered list items (``x`` in
        ``orders[x > 1]``): a superset is safe for ``fetchVariables``.
        """
        return self._names


_FAILURES = (UnsupportedValue, limits.LimitExceeded, AssertionFailed, NoInputValue, RecursionError)


def _failure(source: str, exc: BaseException) -> FeelEvaluationError:
    if isinstance(exc, AssertionFailed):
        return FeelEvaluationError(source, f"Assertion failure on evaluate the expression: {exc}")
    if isinstance(exc, RecursionError):
        return FeelEvaluationError(source, "evaluation nested too deeply")
    return FeelEvaluationError(source, str(exc))


def _run(source: str, root: Node, context: Mapping[str, Any]) -> Any:
    limits.start()
    try:
        return out(root.ev(context))
    except _FAILURES as exc:
        raise _failure(source, exc) from None


class UnaryTestsExpression:
    """Compiled DMN unary tests (an input entry such as ``< 5``, ``"a","b"``, ``not(1)``, ``-``).

    Immutable and thread-safe, like :class:`Expression`.
    """

    __slots__ = ("source", "_root")

    def __init__(self, source: str, root: UnaryTests) -> None:
        self.source = source
        self._root = root

    @property
    def matches_anything(self) -> bool:
        return self._root.any

    def test(self, value: Any, context: Mapping[str, Any]) -> bool:
        """True if ``value`` (the input) passes; ``None``/non-matching results are False.

        Raises:
            FeelEvaluationError: As :meth:`Expression.evaluate`.
        """
        if self._root.any:
            return True
        return _run(self.source, _TestNode(self._root, value), context) is True

    def variable_names(self) -> FrozenSet[str]:
        return walk_names(self._root) - {"?"}


class _TestNode(Node):
    __slots__ = ("tests", "value")

    def __init__(self, tests: UnaryTests, value: Any) -> None:
        self.tests, self.value = tests, value

    def ev(self, ctx: Mapping[str, Any]) -> Any:
        return self.tests.test(self.value, ctx)


def compile_unary_tests(text: str) -> UnaryTestsExpression:
    """Parse DMN unary tests once (empty text or ``-`` matches anything).

    Raises:
        TypeError: ``text`` is not a string.
        FeelSyntaxError: The tests do not parse.
    """
    if not isinstance(text, str):
        raise TypeError(f"unary tests must be a string, not {type(text).__name__}")
    return UnaryTestsExpression(text, parse_unary_tests(text, text))


def compile_expression(text: str) -> Expression:
    """Parse a FEEL expression once.

    Args:
        text: ``"= expr"`` (as in BPMN attributes) or the bare ``"expr"``.

    Returns:
        The compiled :class:`Expression`; nothing is cached globally.

    Raises:
        TypeError: ``text`` is not a string.
        FeelSyntaxError: The expression does not parse or uses something outside the subset; the
            message quotes the expression and gives the position (0-based, counted in the text
            after the ``=``).
    """
    if not isinstance(text, str):
        raise TypeError(f"a FEEL expression must be a string, not {type(text).__name__}")
    stripped = text.lstrip()
    body = stripped[1:] if stripped.startswith("=") else text
    if not body.strip():
        raise FeelSyntaxError(text, "the expression is empty (write a value after '=')")
    root = parse(text, body)
    if type(root) is Name:
        root = RawName(root.name)
    return Expression(text, root)


@functools.lru_cache(maxsize=defaults.FEEL_EVALUATE_CACHE_SIZE)
def _cached(text: str) -> Expression:
    return compile_expression(text)


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """Compile (through a small LRU cache) and evaluate in one call.

    Raises:
        TypeError: ``text`` is not a string or ``context`` not a mapping.
        FeelSyntaxError: As :func:`compile_expression`.
        FeelEvaluationError: As :meth:`Expression.evaluate`.
    """
    if not isinstance(text, str):
        raise TypeError(f"a FEEL expression must be a string, not {type(text).__name__}")
    return _cached(text).evaluate(context)
