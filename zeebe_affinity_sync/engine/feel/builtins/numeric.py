"""Numeric functions (rounding on FEEL's decimals, ``modulo`` with the divisor's sign, ...)."""
from __future__ import annotations

import decimal
import math
import random
from decimal import Decimal
from typing import Any, Optional

from zeebe_affinity_sync.engine.feel.builtins import builtin
from zeebe_affinity_sync.engine.feel.values import DEC, Duration, YearsMonths, is_number, norm_number, num

_MODES = {"UP": decimal.ROUND_UP, "DOWN": decimal.ROUND_DOWN, "CEILING": decimal.ROUND_CEILING,
          "FLOOR": decimal.ROUND_FLOOR, "HALF_UP": decimal.ROUND_HALF_UP,
          "HALF_DOWN": decimal.ROUND_HALF_DOWN, "HALF_EVEN": decimal.ROUND_HALF_EVEN}
_rng = random.SystemRandom()


def number(value: Any) -> Optional[Decimal]:
    """A FEEL number argument as a Decimal (``None`` for anything else)."""
    if type(value) is bool or not is_number(value):
        return None
    value = num(value)
    return None if value is None else Decimal(value)


def _scale(value: Any) -> Optional[int]:
    scale = number(value)
    if scale is None or scale != scale.to_integral_value() or abs(scale) > 6000:
        return None
    return int(scale)


def round_to(n: Any, scale: Any, mode: str) -> Any:
    value, places = number(n), _scale(scale)
    if value is None or places is None:
        return None
    return norm_number(value.quantize(Decimal(1).scaleb(-places), rounding=mode, context=DEC))


@builtin("decimal", "n", "scale", "mode?")
def decimal_(n: Any, scale: Any, mode: Any = None) -> Any:
    if mode is None:
        return round_to(n, scale, decimal.ROUND_HALF_EVEN)
    if type(mode) is not str:
        return None
    if mode.upper() == "UNNECESSARY":
        value, places = number(n), _scale(scale)
        if value is None or places is None:
            return None
        rounded = value.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_DOWN, context=DEC)
        return norm_number(rounded) if rounded == value else None
    rounding = _MODES.get(mode.upper())
    return None if rounding is None else round_to(n, scale, rounding)


@builtin("floor", "n", "scale|scala?")
def floor(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, decimal.ROUND_FLOOR)


@builtin("ceiling", "n", "scale?")
def ceiling(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, decimal.ROUND_CEILING)


@builtin("round up", "n", "scale?")
def round_up(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, decimal.ROUND_UP)


@builtin("round down", "n", "scale?")
def round_down(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, decimal.ROUND_DOWN)


@builtin("round half up", "n", "scale?")
def round_half_up(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, decimal.ROUND_HALF_UP)


@builtin("round half down", "n", "scale|scala?")
def round_half_down(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, decimal.ROUND_HALF_DOWN)


@builtin("abs", "n|number")
def abs_(n: Any) -> Any:
    if type(n) is Duration:
        return Duration(abs(n.seconds))
    if type(n) is YearsMonths:
        return YearsMonths(abs(n.months))
    value = number(n)
    return None if value is None else norm_number(abs(value))


@builtin("modulo", "dividend", "divisor")
def modulo(dividend: Any, divisor: Any) -> Any:
    a, b = number(dividend), number(divisor)
    if a is None or b is None or b == 0:
        return None
    quotient = DEC.divide(a, b).to_integral_value(rounding=decimal.ROUND_FLOOR)
    return norm_number(DEC.subtract(a, DEC.multiply(b, quotient)))


def _from_float(value: float) -> Any:
    if value != value or math.isinf(value):
        return None
    return norm_number(Decimal(repr(value)))


@builtin("sqrt", "number")
def sqrt(n: Any) -> Any:
    value = number(n)
    if value is None or value < 0:
        return None
    root = value.sqrt(DEC)
    return norm_number(root) if root * root == value else _from_float(math.sqrt(float(value)))


@builtin("log", "number")
def log(n: Any) -> Any:
    value = number(n)
    return None if value is None or value <= 0 else _from_float(math.log(float(value)))


@builtin("exp", "number")
def exp(n: Any) -> Any:
    value = number(n)
    return None if value is None else _from_float(math.exp(float(value)))


@builtin("odd", "number")
def odd(n: Any) -> Any:
    value = number(n)
    if value is None:
        return None
    return value == value.to_integral_value() and int(value) % 2 == 1


@builtin("even", "number")
def even(n: Any) -> Any:
    value = number(n)
    if value is None:
        return None
    return value == value.to_integral_value() and int(value) % 2 == 0


@builtin("random number", pure=False)
def random_number() -> Any:
    return Decimal(repr(_rng.random()))
