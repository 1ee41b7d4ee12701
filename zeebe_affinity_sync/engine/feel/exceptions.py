"""The two FEEL exceptions.

Both are ``ValueError`` (as the engine expects) and part of the library's single exception root.
"""
from __future__ import annotations

from zeebe_affinity_sync.errors import ZeebeAffinityError

__all__ = ["FeelSyntaxError", "FeelEvaluationError"]


class FeelSyntaxError(ZeebeAffinityError, ValueError):
    """An expression cannot be compiled (raised at deploy time by the engine).

    Attributes:
        expression: The text as given to :func:`compile_expression` (with its leading ``=``).
        position: 0-based offset of the problem in the FEEL text, that is the text after the
            leading ``=`` (``None`` when the problem has no single position).
        reason: What was wrong, without the expression (e.g. ``unexpected end of expression``).
        The message reads ``Failed to parse expression '<expression>': <reason> at position <n>``,
        followed by a hint in parentheses saying what was expected or what to do instead.
    """

    def __init__(self, expression: str, reason: str, position: "int | None" = None,
                 hint: str = "") -> None:
        self.expression = expression
        self.position = position
        self.reason = reason
        where = "" if position is None else f" at position {position}"
        hint = f" ({hint})" if hint else ""
        from zeebe_affinity_sync.engine.feel.limits import shorten
        super().__init__(f"Failed to parse expression '{shorten(expression)}': {reason}{where}{hint}")


class FeelEvaluationError(ZeebeAffinityError, ValueError):
    """Evaluation failed in a way FEEL does not turn into ``null``.

    FEEL answers most run-time problems (a missing variable, mismatched types, division by zero)
    with ``null``; this is raised only when the variables hold something that is not a JSON value
    or the expression nests too deeply to evaluate. The engine turns it into an incident.

    Attributes:
        expression: The source of the expression being evaluated.
    """

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        from zeebe_affinity_sync.engine.feel.limits import shorten
        super().__init__(f"Failed to evaluate expression '{shorten(expression)}': {reason}")
