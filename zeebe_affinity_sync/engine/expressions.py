"""Values in BPMN attributes: either static text or a FEEL expression (leading ``=``).

The runtime never talks to :mod:`~zeebe_affinity_sync.engine.feel` directly: it holds
:class:`Value` objects, compiled once at deploy time (syntax errors surface then, as Zeebe
does), and evaluates them against a variable context at run time. Evaluation failures raise
:class:`ExpressionError`, which the runtime turns into an incident.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from . import feel

__all__ = ["Value", "ExpressionError", "ExpressionSyntaxError", "compile_value", "type_name"]


class ExpressionError(Exception):
    """An expression could not be evaluated, or gave a value of the wrong type (incident)."""


class ExpressionSyntaxError(ValueError):
    """An expression does not parse (deployment refused)."""


class Value:
    """A static value or a compiled FEEL expression; immutable and thread-safe."""

    __slots__ = ("text", "static", "_expression")

    def __init__(self, text: str, static: Any, expression: Optional[Any]) -> None:
        self.text = text
        self.static = static
        self._expression = expression

    @property
    def is_expression(self) -> bool:
        return self._expression is not None

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value in ``context`` (static values ignore it).

        Raises:
            ExpressionError: The FEEL expression failed to evaluate.
        """
        if self._expression is None:
            return self.static
        try:
            return self._expression.evaluate(context)
        except feel.FeelEvaluationError as exc:
            raise ExpressionError(str(exc)) from exc

    @property
    def expression_text(self) -> str:
        return self.text.strip()[1:].strip() if self.is_expression else self.text

    def __repr__(self) -> str:
        return f"Value({self.text!r})"


def compile_value(text: str) -> Value:
    """Compile attribute text: ``=expr`` is FEEL, anything else a static string.

    Raises:
        ExpressionSyntaxError: The FEEL expression does not parse; the message names it.
    """
    if feel.is_expression(text):
        try:
            expression = feel.compile_expression(text)
        except feel.FeelSyntaxError as exc:
            raise ExpressionSyntaxError(str(exc)) from exc
        return Value(text, None, expression)
    return Value(text, text, None)


def type_name(value: Any) -> str:
    """Zeebe's upper-case name of a value's type, for incident messages ('BOOLEAN', 'NULL'...)."""
    return feel.feel_type_name(value).upper()
