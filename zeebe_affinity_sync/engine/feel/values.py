"""FEEL values: numbers, type names, equality, ordering and the string/JSON forms.

Values inside the evaluator are plain Python objects:

========================== ==================================================================
FEEL type                  Python
========================== ==================================================================
null / boolean / string    ``None`` / ``bool`` / ``str``
number                     ``int`` while integral, else :class:`decimal.Decimal` (34 digits,
                           FEEL's decimal128); a ``float`` from the variables is read through
                           :func:`num` so ``0.1 + 0.2`` is ``0.3``
list / context             ``list`` (a ``tuple`` from the variables too) / ``dict`` (any Mapping)
date, time, date and time  ``datetime.date`` / ``datetime.time`` / ``datetime.datetime``
                           (naive = local; ``timezone`` = offset; ``ZoneInfo`` = zone id)
days-time duration         :class:`Duration` (seconds)
years-months duration      :class:`YearsMonths` (months)
range / function           :class:`Range` / :class:`Function`
========================== ==================================================================

:func:`out` turns a result into what the engine stores: ``Decimal`` -> ``int``/``float``.
Everything here is a pure function; the decimal context is read-only after import.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

__all__ = [
    "Duration", "YearsMonths", "Range", "Function", "UnsupportedValue", "DEC", "num", "is_number",
    "feel_type_name", "kind", "equal", "compare", "to_string", "to_json", "out", "hash_key",
]

DEC = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=6144, Emin=-6143,
                      traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_INT_LIMIT = 10 ** 21  # integral results below this leave as int, larger ones as float


class UnsupportedValue(Exception):
    """Internal: a variable holds something that is not a JSON/FEEL value."""


@dataclass(frozen=True, order=True)
class Duration:
    """A FEEL days-and-time duration, held as seconds (``int`` when whole, else ``float``).

    ``str(d)`` is FEEL's form (``P1DT2H``, ``PT0.5S``, ``-PT5S``, ``P0D``); timers read
    :attr:`seconds`.
    """

    seconds: Any

    def __str__(self) -> str:
        return self.iso()

    def iso(self) -> str:
        total = Decimal(repr(self.seconds)) if isinstance(self.seconds, float) else Decimal(self.seconds)
        if total == 0:
            return "P0D"
        sign = "-" if total < 0 else ""
        total = abs(total)
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = sign + "P" + (f"{int(days)}D" if days else "")
        clock = (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
        if secs:
            clock += format(secs.normalize(), "f") + "S"
        return text + ("T" + clock if clock else "")

    @property
    def timedelta(self) -> _dt.timedelta:
        return _dt.timedelta(seconds=self.seconds)

    @staticmethod
    def of(seconds: Any) -> "Duration":
        if isinstance(seconds, Decimal):
            seconds = int(seconds) if seconds == seconds.to_integral_value() else float(seconds)
        elif isinstance(seconds, float) and seconds.is_integer():
            seconds = int(seconds)
        return Duration(seconds)

    @staticmethod
    def from_timedelta(delta: _dt.timedelta) -> "Duration":
        if delta.microseconds:
            return Duration(delta.days * 86400 + delta.seconds + delta.microseconds / 1e6)
        return Duration(delta.days * 86400 + delta.seconds)


@dataclass(frozen=True, order=True)
class YearsMonths:
    """A FEEL years-and-months duration, held as a number of months (``P1Y2M`` is 14)."""

    months: int

    def __str__(self) -> str:
        return self.iso()

    def iso(self) -> str:
        if self.months == 0:
            return "P0Y"
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        return sign + "P" + (f"{years}Y" if years else "") + (f"{months}M" if months else "")


@dataclass(frozen=True)
class Range:
    """A FEEL range ``[1..10)``; an endpoint of ``None`` is open-ended (``> 5``)."""

    start: Any
    end: Any
    start_included: bool
    end_included: bool

    def __str__(self) -> str:
        left = "[" if self.start_included else "("
        right = "]" if self.end_included else ")"
        return f"{left}{_literal(self.start)}..{_literal(self.end)}{right}"


class Function:
    """A FEEL function value: a user definition, or a built-in used as a value.

    ``call(args)`` takes positional arguments; ``params`` names them (``None`` for varargs).
    """

    __slots__ = ("params", "call", "name", "order")

    def __init__(self, params: Optional[Sequence[str]], call: Callable[[list], Any], name: str = "",
                 order: Any = None) -> None:
        self.params = None if params is None else tuple(params)
        self.call = call
        self.name = name
        # (descending, path) when the body is `x.p < y.p` / `x > y`...: lets `sort` use keys
        self.order = order

    def __repr__(self) -> str:
        return f"function({', '.join(self.params or ('...',))})"


_NUMBER_TYPES = (int, Decimal, float)


def is_number(value: Any) -> bool:
    t = type(value)
    return t is int or t is Decimal or t is float or (isinstance(value, _NUMBER_TYPES) and t is not bool)


def num(value: Any) -> Any:
    """A number as the evaluator holds it: floats through their shortest text (0.1 stays 0.1)."""
    if type(value) is float:
        if value != value or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < _INT_LIMIT:
            return int(value)
        return Decimal(repr(value))
    return value


def norm_number(value: Decimal) -> Any:
    """A Decimal result back to ``int`` when integral (keeps the fast int paths); ``None`` for
    an infinite or NaN result."""
    if not value.is_finite():
        return None
    if value == value.to_integral_value() and abs(value) < _INT_LIMIT:
        return int(value)
    return value


# ------------------------------------------------------------------------------ types

def feel_type_name(value: Any) -> str:
    """The type of a value as Zeebe names it in incident messages.

    Returns:
        ``"BOOLEAN"``, ``"NUMBER"``, ``"STRING"``, ``"NULL"``, ``"LIST"``, ``"CONTEXT"``,
        ``"DURATION"`` (days-time), ``"PERIOD"`` (years-months), ``"DATE"``, ``"TIME"``,
        ``"DATE_TIME"``, ``"RANGE"``, ``"FUNCTION"``; else the Python class name in capitals.
    """
    name = _kind(value)
    return name if name is not None else type(value).__name__.upper()


def kind(value: Any) -> str:
    """Like :func:`feel_type_name` but raises :class:`UnsupportedValue` for non-FEEL values."""
    name = _kind(value)
    if name is None:
        raise UnsupportedValue(f"a value of Python type {type(value).__name__} is not a JSON value")
    return name


_KINDS: Dict[type, str] = {
    type(None): "NULL", bool: "BOOLEAN", int: "NUMBER", float: "NUMBER", Decimal: "NUMBER",
    str: "STRING", list: "LIST", tuple: "LIST", dict: "CONTEXT", Duration: "DURATION",
    YearsMonths: "PERIOD", _dt.date: "DATE", _dt.time: "TIME", _dt.datetime: "DATE_TIME",
    Range: "RANGE", Function: "FUNCTION",
}


def _kind(value: Any) -> Optional[str]:
    name = _KINDS.get(type(value))
    if name is not None:
        return name
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, _dt.datetime):
        return "DATE_TIME"
    if isinstance(value, _dt.date):
        return "DATE"
    if isinstance(value, _dt.time):
        return "TIME"
    if isinstance(value, _NUMBER_TYPES):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, Mapping):
        return "CONTEXT"
    if isinstance(value, (list, tuple)):
        return "LIST"
    return None


# ------------------------------------------------------------------------------ equality, order

def _instant(value: Any) -> Any:
    return value


def equal(a: Any, b: Any) -> Optional[bool]:
    """FEEL ``=``: ``None`` when the two values are not comparable (different types)."""
    if a is None or b is None:
        return a is None and b is None
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return None
    if ka == "NUMBER":
        return num(a) == num(b)
    if ka == "LIST":
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            r = equal(x, y)
            if r is not True:
                return r
        return True
    if ka == "CONTEXT":
        if len(a) != len(b):
            return False
        for key, x in a.items():
            if key not in b:
                return False
            r = equal(x, b[key])
            if r is not True:
                return r
        return True
    if ka == "DATE_TIME":
        if (a.tzinfo is None) != (b.tzinfo is None):
            return None
        return a == b
    if ka == "TIME":
        if (a.tzinfo is None) != (b.tzinfo is None):
            return None
        return _time_key(a) == _time_key(b)
    return a == b


def _time_key(t: _dt.time) -> Any:
    seconds = t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6
    offset = t.utcoffset() if t.tzinfo is not None else None
    if offset is not None:
        seconds -= offset.total_seconds()
    return seconds


_ORDERED = frozenset(("NUMBER", "STRING", "DATE", "TIME", "DATE_TIME", "DURATION", "PERIOD"))


def compare(a: Any, b: Any) -> Optional[int]:
    """-1/0/1 for FEEL ``<``; ``None`` when the values have no order between them."""
    if a is None or b is None:
        return None
    ka, kb = _kind(a), _kind(b)
    if ka != kb or ka not in _ORDERED:
        return None
    if ka == "NUMBER":
        a, b = num(a), num(b)
    elif ka == "TIME":
        if (a.tzinfo is None) != (b.tzinfo is None):
            return None
        a, b = _time_key(a), _time_key(b)
    elif ka == "DATE_TIME" and (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return -1 if a < b else (1 if a > b else 0)


def hash_key(value: Any) -> Any:
    """A hashable key such that FEEL-equal values give equal keys (1 and 1.0, nested contexts);
    used by ``distinct values``, ``union``, ``duplicate values``, ``mode`` in O(n)."""
    t = type(value)
    if t is int or t is str or value is None or t is bool:
        return (t is bool, value)
    if t is float or t is Decimal:
        return (False, num(value))
    if isinstance(value, (list, tuple)):
        return ("l",) + tuple(hash_key(v) for v in value)
    if isinstance(value, Mapping):
        return ("c", frozenset((k, hash_key(v)) for k, v in value.items()))
    if t is _dt.time:
        return ("t", value.tzinfo is None, _time_key(value))
    if isinstance(value, _dt.datetime):
        return ("dt", value.tzinfo is None, value if value.tzinfo is None else value.timestamp())
    try:
        hash(value)
        return value
    except TypeError:
        return ("id", id(value))


# ------------------------------------------------------------------------------ string forms

def format_number(value: Any) -> str:
    value = num(value)
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if isinstance(value, Decimal):
        value = norm_number(value)
        if type(value) is int:
            return str(value)
        return format(value.normalize(DEC), "f")
    return str(value)


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return to_string(value, nested=True)


def to_string(value: Any, nested: bool = False) -> str:
    """The FEEL string form of a value (what ``string(x)`` gives), e.g. for correlation keys.

    ``42`` -> ``"42"``, ``1.5`` -> ``"1.5"``, ``True`` -> ``"true"``, ``None`` -> ``"null"``,
    ``[1, "a"]`` -> ``'[1, "a"]'``, ``{"a": 1}`` -> ``"{a:1}"``, dates and durations their ISO
    forms (``2012-12-25``, ``2018-04-29T09:30:00@Europe/Berlin``, ``P1Y2M``).
    """
    from zeebe_affinity_sync.engine.feel import temporal

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_number(value):
        return format_number(value)
    if isinstance(value, (Duration, YearsMonths)):
        return value.iso()
    if isinstance(value, (_dt.date, _dt.time)):
        return temporal.format_value(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}:{_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return str(value)


def to_json(value: Any) -> Any:
    """A copy of a result that ``json.dumps`` accepts, as Zeebe stores a FEEL result in a
    variable: numbers ``int``/``float``, temporal values and durations as strings (a date-time
    with a zone or offset as ``2018-04-29T09:30:00+02:00``; see
    :func:`temporal.format_json`), tuples lists, NaN/infinity ``None``."""
    from zeebe_affinity_sync.engine.feel import temporal

    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is Decimal:
        value = norm_number(value)
        return value if type(value) is int else float(value)
    if t is float:
        return None if (value != value or math.isinf(value)) else value
    if isinstance(value, (Duration, YearsMonths)):
        return value.iso()
    if isinstance(value, (_dt.date, _dt.time)):
        return temporal.format_json(value)
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (Range, Function)):
        return None  # Zeebe stores null for a range or function result
    return value


def out(value: Any) -> Any:
    """An evaluation result for the engine: Decimals become ``int``/``float``; temporal values,
    durations, ranges and functions stay objects (use :func:`to_json` to store them)."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is Decimal:
        value = norm_number(value)
        return value if type(value) is int else float(value)
    if t is list or t is tuple:
        if t is list and all(type(v) in _OUT_AS_IS for v in value):
            return value  # nothing to convert: no copy
        return [out(v) for v in value]
    if t is dict:
        if all(type(v) in _OUT_AS_IS for v in value.values()):
            return value
        return {k: out(v) for k, v in value.items()}
    return value


_OUT_AS_IS = frozenset((str, int, bool, type(None)))


def as_pair(value: Any) -> Tuple[Any, Any]:
    return value, value
