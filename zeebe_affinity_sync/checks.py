"""Argument and setting checks, shared by every part of the library.

One convention for every check here, raised before any I/O:

- a value of the wrong *kind* (a string where seconds are expected) raises
  :class:`~zeebe_affinity_sync.errors.ConfigurationTypeError`, which is both a
  :class:`~zeebe_affinity_sync.errors.ConfigurationError` and a ``TypeError``;
- a value of the right kind but out of range (``timeout=-1``) raises
  :class:`~zeebe_affinity_sync.errors.ConfigurationError` (a ``ValueError``).

So ``except ConfigurationError`` catches every refused argument, and code written against Python's
own convention (``TypeError`` / ``ValueError``) keeps working. Each message names the argument,
shows the value and says what is accepted. :func:`cli` turns a check into an ``argparse`` type.
"""
from __future__ import annotations

import argparse
import math
from typing import Any, Callable, Iterable, Optional, TypeVar

from .errors import ConfigurationError, ConfigurationTypeError

__all__ = [
    "seconds",
    "count",
    "one_of",
    "text",
    "key",
    "http_status",
    "number_from_text",
    "cli",
    "optional",
]

T = TypeVar("T")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def seconds(value: Any, name: str, *, allow_zero: bool = False, finite: bool = False) -> float:
    """``value`` as float seconds.

    Args:
        value: The value to check (an int or float; not a bool, not NaN).
        name: The argument's name, for the message.
        allow_zero: Accept 0 (e.g. "answer at once").
        finite: Refuse infinity too (a timeout that must end).

    Raises:
        ConfigurationTypeError: Not a number.
        ConfigurationError: Negative, zero without ``allow_zero``, or infinite with ``finite``.
    """
    if not _is_number(value) or math.isnan(value):
        raise ConfigurationTypeError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigurationError(f"{name} must be {'>=' if allow_zero else '>'} 0 seconds, got {value!r}")
    if finite and math.isinf(value):
        raise ConfigurationError(f"{name} must be a finite number of seconds, got {value!r}")
    return float(value)


def count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum`` (a bool is refused: ``True`` is not a count).

    Raises:
        ConfigurationTypeError: Not an int.
        ConfigurationError: Below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationTypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def one_of(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``.

    Raises:
        ConfigurationError: Anything else (the message lists the choices).
    """
    allowed = tuple(choices)
    if not isinstance(value, str) or value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def text(value: Any, name: str) -> str:
    """``value`` if it is a non-blank ``str``.

    Raises:
        ConfigurationTypeError: Not a ``str``.
        ConfigurationError: Empty or only whitespace.
    """
    if not isinstance(value, str):
        raise ConfigurationTypeError(f"{name} must be a non-empty str, got {value!r}")
    if not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty str, got {value!r}")
    return value


def key(value: Any, name: str) -> int:
    """``value`` if it is an int (a Zeebe key; a bool or a numeric string is refused).

    Raises:
        ConfigurationTypeError: Not an int.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationTypeError(f"{name} must be an int key, got {value!r} ({type(value).__name__})")
    return value


def http_status(value: Any, name: str, *, low: int = 400, high: int = 599) -> int:
    """``value`` if it is an int HTTP status in ``low..high`` (default: an error status).

    Raises:
        ConfigurationTypeError: Not an int.
        ConfigurationError: Outside the range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationTypeError(f"{name} must be an HTTP status (an int in {low}..{high}), got {value!r}")
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be an HTTP status in {low}..{high}, got {value!r}")
    return value


def number_from_text(value: Any, name: str) -> Any:
    """A number given as text (an environment variable, a config file) as ``int``/``float``;
    any other value is returned unchanged for the range check that follows.

    Raises:
        ConfigurationTypeError: Text that is not a number.
    """
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    try:
        return int(stripped) if stripped.lstrip("-").isdigit() else float(stripped)
    except ValueError:
        raise ConfigurationTypeError(f"{name} = {value!r} is not a number: give it as a number") from None


def cli(check: Callable[..., T], convert: Callable[[str], Any] = float, **options: Any) -> Callable[[str], T]:
    """An ``argparse`` ``type=`` from a check: the command line's text is converted (``float``
    or ``int``) and checked, and a refusal becomes argparse's usage error.

    Example: ``parser.add_argument("--timeout", type=checks.cli(checks.seconds))``.
    """

    def parse(raw: str) -> T:
        try:
            value = convert(raw)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"{raw!r} is not {kind}") from None
        try:
            return check(value, "the value", **options)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("the value must be", "must be")) from None

    parse.__name__ = getattr(check, "__name__", "value")  # argparse names the type in its errors
    return parse


def optional(check: Callable[..., T], value: Any, name: str, **options: Any) -> Optional[T]:
    """``None`` stays ``None``; anything else goes through ``check``."""
    return None if value is None else check(value, name, **options)
