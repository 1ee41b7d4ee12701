"""Conversion functions: ``string``, ``number``, ``date``, ``time``, ``date and time``,
``duration``, ``years and months duration``, ``from json`` / ``to json``."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any, Optional

from zeebe_affinity_sync.engine.feel import temporal
from zeebe_affinity_sync.engine.feel.builtins import builtin
from zeebe_affinity_sync.engine.feel.builtins.numeric import number as _number
from zeebe_affinity_sync.engine.feel.values import DEC, Duration, norm_number, to_json, to_string

_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@builtin("string", "from")
def string(value: Any) -> Any:
    return None if value is None else to_string(value)


def _parse_number(text: str) -> Any:
    if not _NUMBER_RE.fullmatch(text):
        return None
    return norm_number(DEC.create_decimal(text))


@builtin("number", "from")
def number(value: Any) -> Any:
    return _parse_number(value) if type(value) is str else None


@builtin("number", "from", "grouping separator", "decimal separator?")
def number_grouped(value: Any, grouping: Any, decimal: Any = None) -> Any:
    if type(value) is not str:
        return None
    if grouping is not None:
        if grouping not in (" ", ",", "."):
            return None
        value = value.replace(grouping, "")
    if decimal is not None:
        if decimal not in (",", ".") or decimal == grouping:
            return None
        value = value.replace(decimal, ".")
    return _parse_number(value)


def _whole(value: Any) -> Optional[int]:
    n = _number(value)
    if n is None or n != n.to_integral_value():
        return None
    return int(n)


@builtin("date", "from")
def date(value: Any) -> Any:
    if type(value) is str:
        return temporal.parse_date(value)
    if type(value) is dt.datetime:
        return value.date()
    if type(value) is dt.date:
        return value
    return None


@builtin("date", "year", "month", "day")
def date3(year: Any, month: Any, day: Any) -> Any:
    y, m, d = _whole(year), _whole(month), _whole(day)
    if None in (y, m, d):
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


@builtin("time", "from")
def time(value: Any) -> Any:
    if type(value) is str:
        return temporal.parse_time(value)
    if type(value) is dt.datetime:
        if temporal.is_zoned(value):
            return value.time().replace(tzinfo=temporal.TimeZoneAtOffset(value.tzinfo.key, value.utcoffset()))
        return value.timetz()
    if type(value) is dt.time:
        return value
    if type(value) is dt.date:
        return dt.time(0, 0, 0, tzinfo=dt.timezone.utc)
    return None


@builtin("time", "hour", "minute", "second", "offset?")
def time4(hour: Any, minute: Any, second: Any, offset: Any = None) -> Any:
    h, m, s = _whole(hour), _whole(minute), _number(second)
    if h is None or m is None or s is None:
        return None
    micro = int((s - int(s)) * 1_000_000)
    tz = None
    if offset is not None:
        if type(offset) is not Duration:
            return None
        tz = dt.timezone(offset.timedelta)
    return dt.time(h, m, int(s), micro, tzinfo=tz)


@builtin("date and time", "from")
def date_and_time(value: Any) -> Any:
    if type(value) is str:
        day = temporal.parse_date(value)  # a date alone is that day at midnight (local), as Camunda
        return dt.datetime(day.year, day.month, day.day) if day is not None else temporal.parse_date_time(value)
    if type(value) is dt.datetime:
        return value
    return None


@builtin("date and time", "date", "time")
def date_and_time2(date: Any, time: Any) -> Any:
    if type(date) not in (dt.date, dt.datetime):
        return None
    day = date.date() if type(date) is dt.datetime else date
    if type(time) is dt.time:
        tz = time.tzinfo
        if isinstance(tz, temporal.TimeZoneAtOffset):
            tz = temporal.zone(tz.key)
        return dt.datetime.combine(day, time.replace(tzinfo=None), tzinfo=tz)
    if type(time) is str and type(date) is dt.datetime:
        zone = temporal.zone(time)
        if zone is None:
            return None
        if date.tzinfo is None:
            return date.replace(tzinfo=zone)
        return date.astimezone(zone)
    return None


@builtin("duration", "from")
def duration(value: Any) -> Any:
    return temporal.parse_feel_duration(value) if type(value) is str else None


@builtin("years and months duration", "from", "to")
def years_and_months_duration(start: Any, end: Any) -> Any:
    return temporal.years_and_months(start, end)


def _from_json(value: Any) -> Any:
    if type(value) is float:
        return Decimal(repr(value))
    if type(value) is list:
        return [_from_json(v) for v in value]
    if type(value) is dict:
        return {k: _from_json(v) for k, v in value.items()}
    return value


@builtin("from json", "value")
def from_json(value: Any) -> Any:
    # Not in Camunda 8.8 (feel-scala 1.19); Camunda 8.9 added it.
    if type(value) is not str:
        return None
    try:
        return _from_json(json.loads(value, parse_float=Decimal))
    except ValueError:
        return None


@builtin("to json", "value")
def to_json_(value: Any) -> Any:
    # Not in Camunda 8.8 (feel-scala 1.19); Camunda 8.9 added it.
    return json.dumps(to_json(value), separators=(",", ":"), ensure_ascii=False)
