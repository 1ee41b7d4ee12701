"""Temporal functions: ``now``, ``today``, ``day of week``/``year``, ``week of year``,
``month of year``, ``last day of month``."""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, Optional

from zeebe_affinity_sync.engine.feel import temporal
from zeebe_affinity_sync.engine.feel.builtins import builtin

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _date(value: Any) -> Optional[dt.date]:
    if type(value) is dt.datetime:
        return value.date()
    if type(value) is dt.date:
        return value
    return None


@builtin("now", pure=False)
def now() -> dt.datetime:
    return temporal.now()


@builtin("today", pure=False)
def today() -> dt.date:
    return temporal.now().date()


@builtin("day of week", "date")
def day_of_week(value: Any) -> Any:
    date = _date(value)
    return None if date is None else _DAYS[date.weekday()]


@builtin("day of year", "date")
def day_of_year(value: Any) -> Any:
    date = _date(value)
    return None if date is None else date.timetuple().tm_yday


@builtin("week of year", "date")
def week_of_year(value: Any) -> Any:
    date = _date(value)
    return None if date is None else date.isocalendar()[1]


@builtin("month of year", "date")
def month_of_year(value: Any) -> Any:
    date = _date(value)
    return None if date is None else _MONTHS[date.month - 1]


@builtin("last day of month", "date")
def last_day_of_month(value: Any) -> Any:
    date = _date(value)
    if date is None:
        return None
    return date.replace(day=calendar.monthrange(date.year, date.month)[1])
