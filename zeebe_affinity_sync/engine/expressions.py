"""Values in BPMN attributes: either static text or a FEEL expression (leading ``=``).

The runtime never talks to :mod:`~zeebe_affinity_sync.engine.feel` directly: it holds
:class:`Value` objects, compiled once at deploy time (syntax errors surface then, as Zeebe
does), and evaluates them against a variable context at run time. Evaluation failures raise
:class:`ExpressionError`, which the runtime turns into an incident.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from . import feel

__all__ = ["Value", "ExpressionError", "ExpressionSyntaxError", "compile_value", "type_name", "duration_seconds"]


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


def duration_seconds(value: Any, text: str) -> float:
    """A timer duration in seconds from an ISO-8601 string or a FEEL duration.

    Raises:
        ExpressionError: Neither (the runtime raises an EXTRACT_VALUE_ERROR incident).
    """
    if isinstance(value, str):
        try:
            return float(feel.parse_duration(value))
        except (ValueError, feel.FeelEvaluationError) as exc:
            raise ExpressionError(f"Expected timer duration '{text}' to be an ISO-8601 duration like PT10S, "
                                  f"but was '{value}'") from exc
    seconds = getattr(value, "seconds", None)  # feel.Duration
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return float(seconds)
    raise ExpressionError(f"Expected result of the expression '{text}' to be 'DURATION' or 'STRING', but was "
                          f"'{type_name(value)}'.")
