"""FEEL values: type names, the duration type, numbers, equality and ordering.

Values are plain JSON values (``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``)
plus :class:`Duration`. FEEL numbers are decimals: integral results stay ``int`` (so JSON output
stays clean), other results are ``float`` computed through :mod:`decimal` (34 digits, like FEEL's
decimal128) so that ``0.1 + 0.2`` is ``0.3``. ``bool`` is never a number.

Everything here is a pure function of its arguments; nothing is shared between threads except
the immutable decimal context below.
"""
from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

__all__ = [
    "Duration",
    "parse_duration",
    "feel_type_name",
    "to_string",
    "to_json",
    "UnsupportedValue",
]

BOOLEAN = "BOOLEAN"
NUMBER = "NUMBER"
STRING = "STRING"
NULL = "NULL"
LIST = "LIST"
CONTEXT = "CONTEXT"
DURATION = "DURATION"

# FEEL's decimal128. Only read after import (contexts are used as arguments, never installed as
# a thread's current context), so sharing it between threads is safe.
_DEC = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=6144,
    Emin=-6143,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_INT_LIMIT = 10 ** 21       # integral decimals below this come back as int, larger ones as float
_FLOAT_INT_LIMIT = 2.0 ** 53  # integral floats below this are exact ints
_POW_BITS_LIMIT = 4096      # exact int ** int only while the result stays this small (bits)


class UnsupportedValue(TypeError):
    """Internal: a variable holds something that is not a JSON value (turned into
    ``FeelEvaluationError`` by the expression that met it)."""


@dataclass(frozen=True, order=True)
class Duration:
    """A FEEL days-and-time duration, held as a number of seconds (may be negative or fractional).

    ``str(d)`` is the ISO-8601 form (``PT1H30M``); timers read :attr:`seconds`.
    """

    seconds: float

    def __str__(self) -> str:
        return self.iso()

    def iso(self) -> str:
        """The ISO-8601 form FEEL prints, e.g. ``P1DT2H``, ``PT0.5S``, ``-PT5S``, ``PT0S``."""
        total = _dec(abs(self.seconds))
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = "-P" if self.seconds < 0 else "P"
        if days:
            text += f"{int(days)}D"
        clock = ""
        if hours:
            clock += f"{int(hours)}H"
        if minutes:
            clock += f"{int(minutes)}M"
        if secs:
            clock += format(secs.normalize(), "f") + "S"
        if clock:
            text += "T" + clock
        return text if text not in ("P", "-P") else "PT0S"


# ------------------------------------------------------------------------------ durations

_NUM = r"(\d+(?:[.,]\d+)?)"
_DURATION_RE = re.compile(
    rf"([-+])?P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?",
    re.IGNORECASE,
)
# Seconds per unit, in match-group order. Years and months have no fixed length; like a
# calendar-free timer we count a year as 365 days and a month as 30 days (documented in feel.md).
_UNIT_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def parse_duration(text: str) -> float:
    """Parse an ISO-8601 duration into seconds.

    Accepts ``PnYnMnWnDTnHnMnS`` with any subset of the parts in that order, an optional leading
    sign, and a fraction with ``.`` or ``,`` (``PT0.5S``). A year counts as 365 days and a month as
    30 days.

    Args:
        text: The duration, e.g. ``"PT10S"``, ``"P1DT2H"``, ``"PT0.5S"``, ``"P2W"``.

    Returns:
        The length in seconds (negative for ``-PT5S``).

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``text`` is not an ISO-8601 duration; the message shows the expected form.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_duration() takes an ISO-8601 duration string, not {type(text).__name__}")
    match = _DURATION_RE.fullmatch(text.strip())
    numbers = match.groups()[1:5] + match.groups()[6:] if match else ()
    if match is None or not any(numbers) or (match.group(6) is not None and not any(match.groups()[6:])):
        raise ValueError(
            f"Invalid ISO-8601 duration {text!r}: expected 'P', then optional nY nM nW nD, then "
            f"optional 'T' with nH nM nS, e.g. 'PT10S', 'PT1H30M', 'P1DT2H', 'PT0.5S' or 'P2W'"
        )
    seconds = 0.0
    for value, unit in zip(numbers, _UNIT_SECONDS):
        if value:
            seconds += float(value.replace(",", ".")) * unit
    return -seconds if match.group(1) == "-" else seconds


# ------------------------------------------------------------------------------ types

_TYPE_NAMES: Dict[type, str] = {
    type(None): NULL,
    bool: BOOLEAN,
    int: NUMBER,
    float: NUMBER,
    str: STRING,
    list: LIST,
    tuple: LIST,
    dict: CONTEXT,
    Duration: DURATION,
}


def _slow_type_name(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, Mapping):
        return CONTEXT
    if isinstance(value, (list, tuple)):
        return LIST
    return None


def feel_type_name(value: Any) -> str:
    """The FEEL type of a value, as Zeebe names it in incident messages.

    Returns:
        One of ``"BOOLEAN"``, ``"NUMBER"``, ``"STRING"``, ``"NULL"``, ``"LIST"``, ``"CONTEXT"``,
        ``"DURATION"``; for a value that is none of these, its Python class name in capitals.
    """
    name = _TYPE_NAMES.get(type(value)) or _slow_type_name(value)
    return name if name is not None else type(value).__name__.upper()


def kind(value: Any) -> str:
    """Like :func:`feel_type_name` but raises :class:`UnsupportedValue` for non-FEEL values."""
    name = _TYPE_NAMES.get(type(value)) or _slow_type_name(value)
    if name is None:
        raise UnsupportedValue(f"a value of Python type {type(value).__name__} is not a JSON value")
    return name


def is_number(value: Any) -> bool:
    t = type(value)
    if t is int or t is float:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ------------------------------------------------------------------------------ numbers


def _dec(value: Any) -> Decimal:
    # repr() keeps the shortest decimal form of a float (0.1, not 0.1000000000000000055...).
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def from_decimal(value: Decimal) -> Any:
    """A decimal result back to ``int`` (integral) or ``float``; ``None`` if out of range."""
    if not value.is_finite():
        return None
    if value == value.to_integral_value() and abs(value) < _INT_LIMIT:
        return int(value)
    result = float(value)
    return None if math.isinf(result) else result


def normalize(value: float) -> Any:
    """A float result as FEEL sees it: integral -> ``int``, NaN/infinite -> ``None``."""
    if value != value or math.isinf(value):
        return None
    if value.is_integer() and abs(value) < _FLOAT_INT_LIMIT:
        return int(value)
    return value


def _mismatch(*operands: Any) -> None:
    """The null answer of an arithmetic operator, after checking the operands are FEEL values."""
    for operand in operands:
        kind(operand)
    return None


def _decimal_op(op: Callable[[Decimal, Decimal], Decimal], a: Any, b: Any) -> Any:
    try:
        return from_decimal(op(_dec(a), _dec(b)))
    except (decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, OverflowError):
        return None


def add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a + b
    if ta is str and tb is str:
        return a + b
    if is_number(a) and is_number(b):
        return _decimal_op(_DEC.add, a, b)
    if ta is Duration and tb is Duration:
        return Duration(a.seconds + b.seconds)
    return _mismatch(a, b)


def subtract(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a - b
    if is_number(a) and is_number(b):
        return _decimal_op(_DEC.subtract, a, b)
    if ta is Duration and tb is Duration:
        return Duration(a.seconds - b.seconds)
    return _mismatch(a, b)


def multiply(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a * b
    if is_number(a) and is_number(b):
        return _decimal_op(_DEC.multiply, a, b)
    if ta is Duration and is_number(b):
        return Duration(a.seconds * b)
    if is_number(a) and tb is Duration:
        return Duration(a * b.seconds)
    return _mismatch(a, b)


def divide(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if is_number(a) and is_number(b):
        if b == 0:
            return None
        if ta is int and tb is int:
            quotient, rest = divmod(a, b)
            if rest == 0:
                return quotient
        return _decimal_op(_DEC.divide, a, b)
    if ta is Duration and is_number(b):
        return None if b == 0 else Duration(a.seconds / b)
    if ta is Duration and tb is Duration:
        return None if b.seconds == 0 else normalize(a.seconds / b.seconds)
    return _mismatch(a, b)


def power(a: Any, b: Any) -> Any:
    if not (is_number(a) and is_number(b)):
        return _mismatch(a, b)
    if isinstance(b, float) and not b.is_integer():
        try:
            return normalize(math.pow(a, b))
        except (ValueError, OverflowError):
            return None
    exponent = int(b)
    if isinstance(a, int) and exponent >= 0 and max(a.bit_length(), 1) * exponent <= _POW_BITS_LIMIT:
        return a ** exponent
    if a == 0 and exponent < 0:
        return None
    try:
        return from_decimal(_DEC.power(_dec(a), exponent))
    except (decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, OverflowError):
        return None


def negate(a: Any) -> Any:
    if is_number(a):
        return -a
    if type(a) is Duration:
        return Duration(-a.seconds)
    return _mismatch(a)


def parse_number(text: str) -> Any:
    """A FEEL number literal (``"1"``, ``"-2.50"``, ``".5"``) as int/float; ``None`` if invalid."""
    text = text.strip()
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
        return None
    try:
        return from_decimal(Decimal(text))
    except decimal.InvalidOperation:  # pragma: no cover - the pattern already excludes these
        return None


# ------------------------------------------------------------------------------ comparison


def equal(a: Any, b: Any) -> Optional[bool]:
    """FEEL ``=``: ``null = null`` is true, null against a value false, different types null."""
    if a is None or b is None:
        return a is None and b is None
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return None
    if ka == LIST:
        if len(a) != len(b):
            return False
        return _all_equal(zip(a, b))
    if ka == CONTEXT:
        if set(a) != set(b):
            return False
        return _all_equal((a[k], b[k]) for k in a)
    return bool(a == b)


def _all_equal(pairs: Any) -> Optional[bool]:
    unknown = False
    for x, y in pairs:
        result = equal(x, y)
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True


_ORDERED = frozenset((NUMBER, STRING, DURATION))


def ordered_pair(a: Any, b: Any) -> bool:
    """True if ``a`` and ``b`` can be ordered against each other (same ordered type)."""
    if a is None or b is None:
        return False
    ka = kind(a)
    return ka in _ORDERED and ka == kind(b)


# ------------------------------------------------------------------------------ strings


def _format_number(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value or math.isinf(value):
        return repr(value)
    if value.is_integer() and abs(value) < _INT_LIMIT:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return to_string(value)


def to_string(value: Any) -> str:
    """The FEEL string form of a value (what ``string(x)`` gives), e.g. for correlation keys.

    ``42`` and ``42.0`` -> ``"42"``, ``1.5`` -> ``"1.5"``, ``"a"`` -> ``"a"``, ``True`` ->
    ``"true"``, ``None`` -> ``"null"``, ``[1, "a"]`` -> ``'[1, "a"]'``, ``{"a": 1}`` ->
    ``"{a:1}"``, a :class:`Duration` -> its ISO form.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _format_number(value)
    if isinstance(value, Duration):
        return value.iso()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}:{_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return str(value)


def to_json(value: Any) -> Any:
    """A copy of an expression result that ``json.dumps`` accepts: durations become their ISO
    string (as Zeebe stores them), tuples lists, NaN/infinity ``None``."""
    if isinstance(value, Duration):
        return value.iso()
    if isinstance(value, float) and (value != value or math.isinf(value)):
        return None
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def as_list(value: Any) -> Optional[Sequence[Any]]:
    """``value`` if it is a FEEL list, else ``None``."""
    if type(value) is list or type(value) is tuple:
        return value
    return None
