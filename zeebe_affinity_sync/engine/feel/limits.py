"""Bounds on what one FEEL expression may cost, so a big input cannot freeze the engine.

Compile time (the deployment is refused): :data:`MAX_EXPRESSION_LENGTH` characters,
:data:`MAX_DEPTH` nested brackets/calls, :data:`MAX_TREE_DEPTH` chained operations.
Run time (the engine raises an incident): :data:`MAX_ITEMS` items in one list or context a loop,
range or list function builds, and :data:`MAX_STEPS` loop iterations (``for``, ``some``, filters,
callbacks of ``sort``) in one evaluation. The step counter is per thread (an evaluation runs on
one thread), reset by each top-level evaluation.
"""
from __future__ import annotations

import threading

__all__ = ["MAX_EXPRESSION_LENGTH", "MAX_DEPTH", "MAX_TREE_DEPTH", "MAX_ITEMS", "MAX_STEPS",
           "MAX_STRING", "LimitExceeded", "start", "tick", "check_size", "shorten"]

MAX_EXPRESSION_LENGTH = 100_000   # characters of FEEL text
MAX_DEPTH = 64                    # nested (...), [...], {...}, calls and if's
MAX_TREE_DEPTH = 200              # operations in a chain
MAX_ITEMS = 5_000_000             # items in a list or entries in a context built by an expression
MAX_STEPS = 20_000_000            # loop iterations per evaluation
MAX_STRING = 50_000_000           # characters of a string built by an expression
MAX_SHOWN = 120                   # characters of an expression quoted in an error message


class LimitExceeded(Exception):
    """Internal: an evaluation went over a run-time bound (becomes FeelEvaluationError)."""


_state = threading.local()


def start() -> None:
    _state.steps = MAX_STEPS


def tick(n: int = 1) -> None:
    left = getattr(_state, "steps", MAX_STEPS) - n
    _state.steps = left
    if left < 0:
        raise LimitExceeded(f"the evaluation took more than {MAX_STEPS:,} loop steps")


def check_size(n: int, what: str = "list") -> None:
    if n > MAX_ITEMS:
        raise LimitExceeded(f"the result {what} would have more than {MAX_ITEMS:,} items")


def shorten(text: str) -> str:
    """An expression as quoted in messages: never more than :data:`MAX_SHOWN` characters."""
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN - 40]}...<{len(text) - MAX_SHOWN + 20} characters>...{text[-20:]}"
