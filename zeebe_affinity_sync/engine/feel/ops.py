"""FEEL operators on values: arithmetic, comparison, logic. A type mismatch gives ``None``.

Numbers are ``int`` (fast path) or ``Decimal``; a ``float`` from the variables goes through
:func:`values.num` first. Temporal operands are handed to :mod:`temporal`.
"""
from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any, Optional

from zeebe_affinity_sync.engine.feel import temporal
from zeebe_affinity_sync.engine.feel.values import (
    DEC, Duration, YearsMonths, compare, equal, is_number, norm_number, num,
)

__all__ = ["add", "subtract", "multiply", "divide", "power", "negate", "less", "less_equal",
           "greater", "greater_equal", "eq", "neq", "TEMPORAL"]

TEMPORAL = (dt.date, dt.time, Duration, YearsMonths)
_POW_BITS_LIMIT = 4096
_ARITH_ERRORS = (decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, ArithmeticError,
                 ValueError, OverflowError)


def _number_pair(a: Any, b: Any) -> bool:
    return is_number(a) and is_number(b) and type(a) is not bool and type(b) is not bool


def _decimal(fn: Any, a: Any, b: Any) -> Any:
    try:
        a, b = num(a), num(b)
        if a is None or b is None:
            return None
        return norm_number(fn(Decimal(a) if type(a) is int else a, Decimal(b) if type(b) is int else b))
    except _ARITH_ERRORS:
        return None


def add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a + b
    if ta is str and tb is str:
        return a + b
    if _number_pair(a, b):
        return _decimal(DEC.add, a, b)
    if isinstance(a, TEMPORAL) and isinstance(b, TEMPORAL):
        return temporal.add(a, b)
    return None


def subtract(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a - b
    if _number_pair(a, b):
        return _decimal(DEC.subtract, a, b)
    if isinstance(a, TEMPORAL) and isinstance(b, TEMPORAL):
        return temporal.subtract(a, b)
    return None


def multiply(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a * b
    if _number_pair(a, b):
        return _decimal(DEC.multiply, a, b)
    if (isinstance(a, (Duration, YearsMonths)) and is_number(b)) or \
            (isinstance(b, (Duration, YearsMonths)) and is_number(a)):
        return temporal.multiply(a, b)
    return None


def divide(a: Any, b: Any) -> Any:
    if _number_pair(a, b):
        if num(b) == 0:
            return None
        return _decimal(DEC.divide, a, b)
    if isinstance(a, (Duration, YearsMonths)):
        return temporal.divide(a, b)
    return None


def power(a: Any, b: Any) -> Any:
    if not _number_pair(a, b):
        return None
    a, b = num(a), num(b)
    if a is None or b is None:
        return None
    if type(a) is int and type(b) is int and 0 <= b and a.bit_length() * b <= _POW_BITS_LIMIT:
        return a ** b
    try:
        if type(b) is int or b == b.to_integral_value():
            if abs(int(b)) > 100_000:
                return None
            return norm_number(DEC.power(Decimal(a), int(b)))
        return norm_number(DEC.power(Decimal(a), Decimal(b)))
    except _ARITH_ERRORS:
        return None


def negate(a: Any) -> Any:
    t = type(a)
    if t is int:
        return -a
    if t is not bool and is_number(a):
        return norm_number(-Decimal(num(a))) if num(a) is not None else None
    if t is Duration or t is YearsMonths:
        return temporal.negate(a)
    return None


def eq(a: Any, b: Any) -> Optional[bool]:
    ta, tb = type(a), type(b)
    if ta is tb and (ta is int or ta is str or ta is bool):
        return a == b
    return equal(a, b)


def neq(a: Any, b: Any) -> Optional[bool]:
    r = eq(a, b)
    return None if r is None else not r


def _fast(a: Any, b: Any) -> bool:
    ta = type(a)
    return ta is type(b) and (ta is int or ta is str)


def less(a: Any, b: Any) -> Optional[bool]:
    ta = type(a)
    if ta is type(b) and (ta is int or ta is str):
        return a < b
    c = compare(a, b)
    return None if c is None else c < 0


def less_equal(a: Any, b: Any) -> Optional[bool]:
    ta = type(a)
    if ta is type(b) and (ta is int or ta is str):
        return a <= b
    c = compare(a, b)
    return None if c is None else c <= 0


def greater(a: Any, b: Any) -> Optional[bool]:
    ta = type(a)
    if ta is type(b) and (ta is int or ta is str):
        return a > b
    c = compare(a, b)
    return None if c is None else c > 0


def greater_equal(a: Any, b: Any) -> Optional[bool]:
    ta = type(a)
    if ta is type(b) and (ta is int or ta is str):
        return a >= b
    c = compare(a, b)
    return None if c is None else c >= 0


COMPARISONS = {"=": eq, "!=": neq, "<": less, "<=": less_equal, ">": greater, ">=": greater_equal}
ARITHMETIC = {"+": add, "-": subtract, "*": multiply, "/": divide, "**": power}


def in_range(value: Any, r: Any) -> Optional[bool]:
    """``value in r`` for a :class:`values.Range` (open ends are ``None`` bounds)."""
    if value is None:
        return None
    if r.start is not None:
        c = compare(value, r.start)
        if c is None:
            return None
        if c < 0 or (c == 0 and not r.start_included):
            return False
    if r.end is not None:
        c = compare(value, r.end)
        if c is None:
            return None
        if c > 0 or (c == 0 and not r.end_included):
            return False
    return True
