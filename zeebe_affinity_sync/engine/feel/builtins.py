"""FEEL built-in functions of the subset.

Each function takes already evaluated arguments and answers ``null`` (``None``) for arguments of
the wrong type, as FEEL does. :data:`BUILTINS` maps the FEEL name (words separated by one space,
e.g. ``"upper case"``) to a :class:`Builtin` with its arity, which the parser checks at compile
time. ``is defined`` is not here: it needs the unevaluated argument (see ``nodes.IsDefined``).
"""
from __future__ import annotations

import datetime as _dt
import decimal
import math
import re
from decimal import Decimal
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence

from zeebe_affinity_sync.engine.feel import values
from zeebe_affinity_sync.engine.feel.values import (
    Duration,
    as_list,
    equal,
    is_number,
    kind,
    ordered_pair,
    parse_duration,
    parse_number,
    to_string,
)

__all__ = ["Builtin", "BUILTINS", "MAX_NAME_WORDS"]


class Builtin(NamedTuple):
    name: str
    function: Callable[..., Any]
    min_args: int
    max_args: Optional[int]  # None: any number
    pure: bool = True        # False for now()/today(): never folded at compile time


def _str(*args: Any) -> bool:
    return all(isinstance(arg, str) for arg in args)


def _int_arg(value: Any) -> Optional[int]:
    if not is_number(value):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return value


# ------------------------------------------------------------------------------ boolean / conversion


def _not(value: Any) -> Any:
    return (not value) if isinstance(value, bool) else None


def _string(value: Any) -> Any:
    return None if value is None else to_string(value)


def _number(text: Any) -> Any:
    return parse_number(text) if isinstance(text, str) else None


def _get_or_else(value: Any, default: Any) -> Any:
    return default if value is None else value


# ------------------------------------------------------------------------------ strings


def _contains(text: Any, part: Any) -> Any:
    return (part in text) if _str(text, part) else None


def _starts_with(text: Any, part: Any) -> Any:
    return text.startswith(part) if _str(text, part) else None


def _ends_with(text: Any, part: Any) -> Any:
    return text.endswith(part) if _str(text, part) else None


def _upper_case(text: Any) -> Any:
    return text.upper() if _str(text) else None


def _lower_case(text: Any) -> Any:
    return text.lower() if _str(text) else None


def _string_length(text: Any) -> Any:
    return len(text) if _str(text) else None


def _trim(text: Any) -> Any:
    return text.strip() if _str(text) else None


def _substring(text: Any, start: Any, length: Any = None, *_: Any) -> Any:
    """1-based ``start``; a negative start counts from the end; optional ``length``."""
    begin = _int_arg(start)
    if not _str(text) or begin is None:
        return None
    begin = begin - 1 if begin > 0 else max(len(text) + begin, 0)
    if length is None:
        return text[begin:]
    count = _int_arg(length)
    if count is None or count < 0:
        return None
    return text[begin:begin + count]


def _substring_before(text: Any, match: Any) -> Any:
    if not _str(text, match):
        return None
    head, found, _ = text.partition(match)
    return head if found else ""


def _substring_after(text: Any, match: Any) -> Any:
    if not _str(text, match):
        return None
    _, found, tail = text.partition(match)
    return tail if found else ""


# ------------------------------------------------------------------------------ numbers


def _numbers(args: Sequence[Any]) -> Optional[Sequence[Any]]:
    """The varargs-or-one-list argument of sum/mean/min/max."""
    items = as_list(args[0]) if len(args) == 1 else None
    return items if items is not None else args


def _sum(*args: Any) -> Any:
    items = _numbers(args)
    if not items or not all(is_number(item) for item in items):
        return None
    total: Any = 0
    for item in items:
        total = values.add(total, item)
    return total


def _mean(*args: Any) -> Any:
    items = _numbers(args)
    total = _sum(*args)
    return None if total is None else values.divide(total, len(items))


def _extreme(args: Sequence[Any], pick_first: Callable[[Any, Any], bool]) -> Any:
    items = _numbers(args)
    if not items:
        return None
    best = items[0]
    for item in items[1:]:
        if not ordered_pair(best, item):
            return None
        if pick_first(item, best):
            best = item
    return best if ordered_pair(best, best) else None


def _min(*args: Any) -> Any:
    return _extreme(args, lambda a, b: a < b)


def _max(*args: Any) -> Any:
    return _extreme(args, lambda a, b: a > b)


def _abs(value: Any) -> Any:
    if is_number(value):
        return abs(value)
    if isinstance(value, Duration):
        return Duration(abs(value.seconds))
    return None


def _floor(value: Any) -> Any:
    return math.floor(value) if is_number(value) else None


def _ceiling(value: Any) -> Any:
    return math.ceil(value) if is_number(value) else None


def _decimal(value: Any, scale: Any) -> Any:
    """Round half to even to ``scale`` digits after the point."""
    digits = _int_arg(scale)
    if not is_number(value) or digits is None or not -6111 <= digits <= 6176:
        return None
    rounded = Decimal(repr(value) if isinstance(value, float) else value).quantize(
        Decimal(1).scaleb(-digits), rounding=decimal.ROUND_HALF_EVEN)
    return values.from_decimal(rounded)


def _modulo(dividend: Any, divisor: Any) -> Any:
    """The remainder with the sign of the divisor (FEEL ``modulo``)."""
    if not (is_number(dividend) and is_number(divisor)) or divisor == 0:
        return None
    if isinstance(dividend, int) and isinstance(divisor, int):
        return dividend % divisor
    quotient = values.divide(dividend, divisor)
    return None if quotient is None else values.subtract(
        dividend, values.multiply(divisor, math.floor(quotient)))


# ------------------------------------------------------------------------------ lists


def _count(items: Any) -> Any:
    items = as_list(items)
    return None if items is None else len(items)


def _list_contains(items: Any, element: Any) -> Any:
    items = as_list(items)
    if items is None:
        return None
    return any(equal(item, element) is True for item in items)


def _append(items: Any, *more: Any) -> Any:
    items = as_list(items)
    return None if items is None else list(items) + list(more)


def _concatenate(*lists: Any) -> Any:
    result: List[Any] = []
    for items in lists:
        items = as_list(items)
        if items is None:
            return None
        result.extend(items)
    return result


def _distinct_values(items: Any) -> Any:
    items = as_list(items)
    if items is None:
        return None
    result: List[Any] = []
    for item in items:
        if not any(equal(item, seen) is True for seen in result):
            result.append(item)
    return result


def _flatten(items: Any) -> Any:
    items = as_list(items)
    if items is None:
        return None
    result: List[Any] = []
    for item in items:
        inner = as_list(item)
        if inner is None:
            result.append(item)
        else:
            result.extend(_flatten(inner))
    return result


def _reverse(items: Any) -> Any:
    items = as_list(items)
    return None if items is None else list(reversed(items))


def _index_of(items: Any, match: Any) -> Any:
    items = as_list(items)
    if items is None:
        return None
    return [i + 1 for i, item in enumerate(items) if equal(item, match) is True]


def _sublist(items: Any, start: Any, length: Any = None) -> Any:
    items = as_list(items)
    begin = _int_arg(start)
    if items is None or begin is None or begin == 0:
        return None
    begin = begin - 1 if begin > 0 else max(len(items) + begin, 0)
    if length is None:
        return list(items[begin:])
    count = _int_arg(length)
    if count is None or count < 0:
        return None
    return list(items[begin:begin + count])


def _get_value(context: Any, key: Any) -> Any:
    if not isinstance(key, str):
        return None
    try:
        return context.get(key) if kind(context) == values.CONTEXT else None
    except values.UnsupportedValue:
        return None


# ------------------------------------------------------------------------------ time

_DATE = r"(-?\d{4,9})-(\d{2})-(\d{2})"
_TIME = r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
_ZONE = r"(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?|@[A-Za-z][A-Za-z0-9_+\-/]*)?"
_DATE_RE = re.compile(_DATE)
_TIME_RE = re.compile(_TIME + _ZONE)
_DATE_TIME_RE = re.compile(_DATE + "T" + _TIME + _ZONE)


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        _dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _valid_time(hour: str, minute: str, second: str) -> bool:
    return int(hour) <= 23 and int(minute) <= 59 and int(second) <= 59


def _date_and_time(text: Any) -> Any:
    """Checks an ISO date-time (``2024-01-31T08:00:00``, with ``Z``, an offset or ``@zone``)
    and returns it as a string; null if it is not one."""
    if not _str(text):
        return None
    match = _DATE_TIME_RE.fullmatch(text.strip())
    if match is None or not _valid_date(*match.groups()[:3]) or not _valid_time(*match.groups()[3:6]):
        return None
    return text.strip()


def _date(text: Any) -> Any:
    if not _str(text):
        return None
    match = _DATE_RE.fullmatch(text.strip())
    return text.strip() if match and _valid_date(*match.groups()) else None


def _time(text: Any) -> Any:
    if not _str(text):
        return None
    match = _TIME_RE.fullmatch(text.strip())
    return text.strip() if match and _valid_time(*match.groups()[:3]) else None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _today() -> str:
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


def _duration(text: Any) -> Any:
    if not _str(text):
        return None
    try:
        return Duration(parse_duration(text))
    except ValueError:
        return None


# ------------------------------------------------------------------------------ registry

_TABLE = [
    Builtin("not", _not, 1, 1),
    Builtin("string", _string, 1, 1),
    Builtin("number", _number, 1, 1),
    Builtin("get or else", _get_or_else, 2, 2),
    Builtin("contains", _contains, 2, 2),
    Builtin("starts with", _starts_with, 2, 2),
    Builtin("ends with", _ends_with, 2, 2),
    Builtin("upper case", _upper_case, 1, 1),
    Builtin("lower case", _lower_case, 1, 1),
    Builtin("string length", _string_length, 1, 1),
    Builtin("trim", _trim, 1, 1),
    Builtin("substring", _substring, 2, 3),
    Builtin("substring before", _substring_before, 2, 2),
    Builtin("substring after", _substring_after, 2, 2),
    Builtin("sum", _sum, 1, None),
    Builtin("mean", _mean, 1, None),
    Builtin("min", _min, 1, None),
    Builtin("max", _max, 1, None),
    Builtin("abs", _abs, 1, 1),
    Builtin("floor", _floor, 1, 1),
    Builtin("ceiling", _ceiling, 1, 1),
    Builtin("decimal", _decimal, 2, 2),
    Builtin("modulo", _modulo, 2, 2),
    Builtin("count", _count, 1, 1),
    Builtin("list contains", _list_contains, 2, 2),
    Builtin("append", _append, 1, None),
    Builtin("concatenate", _concatenate, 1, None),
    Builtin("distinct values", _distinct_values, 1, 1),
    Builtin("flatten", _flatten, 1, 1),
    Builtin("reverse", _reverse, 1, 1),
    Builtin("index of", _index_of, 2, 2),
    Builtin("sublist", _sublist, 2, 3),
    Builtin("get value", _get_value, 2, 2),
    Builtin("now", _now, 0, 0, pure=False),
    Builtin("today", _today, 0, 0, pure=False),
    Builtin("duration", _duration, 1, 1),
    Builtin("date and time", _date_and_time, 1, 1),
    Builtin("date", _date, 1, 1),
    Builtin("time", _time, 1, 1),
]

BUILTINS: Dict[str, Builtin] = {builtin.name: builtin for builtin in _TABLE}
# `is defined` is parsed into its own node; listed so the parser recognises the name.
SPECIAL_FUNCTIONS = frozenset(("is defined",))
MAX_NAME_WORDS = max(len(name.split()) for name in list(BUILTINS) + list(SPECIAL_FUNCTIONS))
