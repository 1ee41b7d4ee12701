"""FEEL temporal values: parsing, string forms, arithmetic and properties.

Dates, times and date-times are the standard library's types (see :mod:`values`); zone ids go
through :mod:`zoneinfo`. Calendar arithmetic follows java.time as Camunda's FEEL engine uses it:
adding months clamps to the month's last day (``2021-01-31`` + ``P1M`` = ``2021-02-28``), adding a
days-time duration to a zoned date-time moves the instant (not the wall clock).
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import threading
from decimal import Decimal
from typing import Any, Callable, List, Optional

from zeebe_affinity_sync.engine.feel.values import Duration, YearsMonths, is_number, norm_number, num

try:  # Python 3.9+
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - 3.8 has no zoneinfo; zone ids then give null
    ZoneInfo = None  # type: ignore
    ZoneInfoNotFoundError = Exception  # type: ignore

__all__ = ["parse_date", "parse_time", "parse_date_time", "parse_feel_duration", "parse_duration",
           "format_value", "format_json", "add", "subtract", "zone", "now", "use_clock"]

_DATE_RE = re.compile(r"(-?\d{4,9})-(\d{2})-(\d{2})")
_TIME = r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
_ZONE = r"([Zz]|[+-]\d{2}:\d{2}(?::\d{2})?)?(?:\[([A-Za-z0-9_/+\-]+)\]|@([A-Za-z0-9_/+\-]+))?"
_TIME_RE = re.compile("T?" + _TIME + _ZONE)
_DATE_TIME_RE = re.compile(r"(-?\d{4,9})-(\d{2})-(\d{2})T" + _TIME + _ZONE)

# What now() and today() read: the clock of the engine whose lock the evaluating thread holds
# (a clock source, see add_clock_source), else a clock the thread has installed (use_clock),
# else the real UTC clock. Per thread, so engines with different clocks in one process do not
# see each other's.
_clocks = threading.local()
#: callables giving the clock for the calling thread, or None (read-only after import)
_sources: List[Callable[[], Optional[Callable[[], dt.datetime]]]] = []


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def use_clock(clock: Optional[Callable[[], dt.datetime]]) -> Optional[Callable[[], dt.datetime]]:
    """Make ``now()``/``today()`` on this thread read ``clock`` (``None``: the real clock).

    Returns:
        The clock installed before, to restore it.
    """
    previous = getattr(_clocks, "clock", None)
    _clocks.clock = clock
    return previous


def add_clock_source(source: Callable[[], Optional[Callable[[], dt.datetime]]]) -> None:
    """Let ``now()``/``today()`` ask ``source`` first for the calling thread's clock (the engine
    lock registers one at import: the holder of an engine's lock reads that engine's clock, with
    no per-hold cost)."""
    _sources.append(source)


def now() -> dt.datetime:
    for source in _sources:
        clock = source()
        if clock is not None:
            return clock()
    clock = getattr(_clocks, "clock", None)
    return clock() if clock is not None else _utc_now()


def zone(name: str) -> Any:
    """A tzinfo for ``Z``, ``+01:00`` or an IANA id; ``None`` if unknown."""
    if name in ("Z", "z", "UTC+00:00"):
        return dt.timezone.utc
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})(?::(\d{2}))?", name)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)),
                             seconds=int(match.group(4) or 0))
        return None if delta > dt.timedelta(hours=18) else dt.timezone(sign * delta)
    if ZoneInfo is None or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_/+\-]*", name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _tz(offset: Optional[str], region: Optional[str]) -> Any:
    """The tzinfo of a parsed offset/zone suffix; ``False`` when invalid; ``None`` when absent."""
    if region:
        found = zone(region)
        return found if found is not None else False
    if offset:
        found = zone(offset)
        return found if found is not None else False
    return None


def _micro(fraction: Optional[str]) -> int:
    return int((fraction or "0").ljust(6, "0")[:6])


def parse_date(text: str) -> Optional[dt.date]:
    match = _DATE_RE.fullmatch(text.strip())
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_time(text: str) -> Optional[dt.time]:
    match = _TIME_RE.fullmatch(text.strip())
    if not match:
        return None
    hour, minute, second, fraction, offset, region, region2 = match.groups()
    tz = _tz(offset, region or region2)
    if tz is False:
        return None
    if tz is not None and is_zoned_tz(tz):
        # A time has no date: a zone id counts with the zone's offset today (as Camunda's engine
        # does), and keeps its id for `.timezone` and the string form.
        now = dt.datetime.now(tz)  # the zone's standard offset (no daylight saving), as Camunda
        tz = TimeZoneAtOffset(tz.key, (now.utcoffset() or dt.timedelta(0)) - (now.dst() or dt.timedelta(0)))
    try:
        return dt.time(int(hour), int(minute), int(second or 0), _micro(fraction), tzinfo=tz)
    except ValueError:
        return None


def parse_date_time(text: str) -> Optional[dt.datetime]:
    text = text.strip()
    match = _DATE_TIME_RE.fullmatch(text)
    if not match:
        return None
    y, mo, d, hour, minute, second, fraction, offset, region, region2 = match.groups()
    tz = _tz(offset, region or region2)
    if tz is False:
        return None
    try:
        value = dt.datetime(int(y), int(mo), int(d), int(hour), int(minute), int(second or 0),
                            _micro(fraction))
    except ValueError:
        return None
    return value if tz is None else value.replace(tzinfo=tz)


def parse_temporal(text: str) -> Any:
    """``@"..."`` literals: a date-time, date, time or duration (``None`` when none fits)."""
    text = text.strip()
    if text.startswith(("P", "-P")):
        return parse_feel_duration(text)
    if "T" in text[1:] and "-" in text[:8]:
        return parse_date_time(text)
    if _DATE_RE.fullmatch(text):
        return parse_date(text)
    return parse_time(text)


def looks_temporal(text: str) -> bool:
    """Shaped like a date, time or date-time, whether or not the calendar allows it."""
    text = text.strip()
    return bool(_DATE_RE.fullmatch(text) or _DATE_TIME_RE.fullmatch(text) or _TIME_RE.fullmatch(text))


# ------------------------------------------------------------------------------ durations

_YM_RE = re.compile(r"(-)?P(?:(-?\d+)Y)?(?:(-?\d+)M)?")
_DT_RE = re.compile(r"(-)?P(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+(?:\.\d*)?)S)?)?")


def parse_feel_duration(text: str) -> Any:
    """FEEL ``duration()``: a :class:`YearsMonths` (``P1Y2M``), a :class:`Duration`
    (``P1DT2H``, ``PT0.5S``) or ``None``."""
    text = text.strip()
    match = _YM_RE.fullmatch(text)
    if match and (match.group(2) or match.group(3)):
        months = int(match.group(2) or 0) * 12 + int(match.group(3) or 0)
        return YearsMonths(-months if match.group(1) else months)
    match = _DT_RE.fullmatch(text)
    if not match or text.endswith("T") or not any(match.groups()[1:]):
        return None
    days, hours, minutes, seconds = match.groups()[1:]
    total = Decimal(days or 0) * 86400 + Decimal(hours or 0) * 3600 + Decimal(minutes or 0) * 60 \
        + Decimal(seconds or 0)
    return Duration.of(-total if match.group(1) else total)


_ISO_RE = re.compile(
    r"([-+])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?"
    r"(T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?", re.IGNORECASE)
# Timers: a year counts 365 days and a month 30 (documented in docs/feel.md).
_UNIT_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def parse_duration(text: str) -> float:
    """Parse an ISO-8601 duration into seconds (timers).

    Accepts ``PnYnMnWnDTnHnMnS`` with any subset of the parts in that order, an optional leading
    sign, and a fraction with ``.`` or ``,`` (``PT0.5S``). A year counts as 365 days and a month as
    30 days.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``text`` is not an ISO-8601 duration; the message shows the expected form.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_duration() takes an ISO-8601 duration string, not {type(text).__name__}")
    match = _ISO_RE.fullmatch(text.strip())
    numbers = match.groups()[1:5] + match.groups()[6:] if match else ()
    if match is None or not any(numbers) or (match.group(6) is not None and not any(match.groups()[6:])):
        raise ValueError(
            f"Invalid ISO-8601 duration {text[:80]!r}: expected 'P', then optional nY nM nW nD, then "
            f"optional 'T' with nH nM nS, e.g. 'PT10S', 'PT1H30M', 'P1DT2H', 'PT0.5S' or 'P2W'")
    seconds = 0.0
    for value, unit in zip(numbers, _UNIT_SECONDS):
        if value:
            seconds += float(value.replace(",", ".")) * unit
    return -seconds if match.group(1) == "-" else seconds


# ------------------------------------------------------------------------------ string forms

def _fraction(micro: int) -> str:
    return ("." + f"{micro:06d}".rstrip("0")) if micro else ""


def _clock(value: Any) -> str:
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{_fraction(value.microsecond)}"


def _offset_id(offset: dt.timedelta) -> str:
    if not offset:
        return "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    text = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


def _date(value: dt.date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


class TimeZoneAtOffset(dt.tzinfo):
    """The zone of a time with a zone id: a fixed offset that remembers the id."""

    def __init__(self, key: str, offset: dt.timedelta) -> None:
        self.key = key
        self._offset = offset

    def utcoffset(self, _: Any) -> dt.timedelta:
        return self._offset

    def dst(self, _: Any) -> Optional[dt.timedelta]:
        return None

    def tzname(self, _: Any) -> str:
        return self.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeZoneAtOffset) and (other.key, other._offset) == (self.key, self._offset)

    def __hash__(self) -> int:
        return hash((self.key, self._offset))

    def __repr__(self) -> str:
        return f"TimeZoneAtOffset({self.key!r}, {self._offset!r})"


def is_zoned_tz(tz: Any) -> bool:
    return ZoneInfo is not None and isinstance(tz, ZoneInfo)


def is_zoned(value: Any) -> bool:
    return isinstance(value.tzinfo, TimeZoneAtOffset) or (ZoneInfo is not None and isinstance(value.tzinfo, ZoneInfo))


def format_value(value: Any) -> str:
    """FEEL's string form: ``2018-04-29``, ``09:30:00``, ``09:30:00+02:00``,
    ``2018-04-29T09:30:00Z``, ``2018-04-29T09:30:00@Europe/Berlin``."""
    if isinstance(value, dt.datetime):
        text = _date(value) + "T" + _clock(value)
        if value.tzinfo is None:
            return text
        if is_zoned(value):
            return text + "@" + value.tzinfo.key
        return text + _offset_id(value.utcoffset())
    if isinstance(value, dt.date):
        return _date(value)
    text = _clock(value)
    if value.tzinfo is None:
        return text
    if is_zoned(value):
        return text + "@" + value.tzinfo.key
    return text + _offset_id(value.utcoffset())


def format_json(value: Any) -> str:
    """The string Zeebe stores for a temporal FEEL result in a variable: a date-time with an
    offset or zone as ISO offset date-time (``2018-04-29T09:30:00+02:00``, the zone id is not
    kept), a local date-time as ISO local date-time, a date as ``2018-04-29``, a time as FEEL's
    form (``10:00:00``; Zeebe writes a local time with zero seconds as ``10:00``, we keep the
    seconds)."""
    if isinstance(value, dt.datetime):
        text = _date(value) + "T" + _clock(value)
        return text if value.tzinfo is None else text + _offset_id(value.utcoffset())
    if isinstance(value, dt.date):
        return _date(value)
    return format_value(value)


# ------------------------------------------------------------------------------ arithmetic

def add_months(value: Any, months: int) -> Any:
    """``value`` moved by calendar months, clamped to the last day (java.time plusMonths)."""
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        return None
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _plus_exact(value: dt.datetime, delta: dt.timedelta) -> Optional[dt.datetime]:
    try:
        if value.tzinfo is None or not is_zoned(value):
            return value + delta
        # A zoned date-time moves its instant; the wall clock follows the zone's rules.
        return (value.astimezone(dt.timezone.utc) + delta).astimezone(value.tzinfo)
    except OverflowError:
        return None


def _plus_time(value: dt.time, delta: dt.timedelta) -> dt.time:
    seconds = (value.hour * 3600 + value.minute * 60 + value.second) * 1_000_000 + value.microsecond
    seconds = (seconds + (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) \
        % (86400 * 1_000_000)
    micro = seconds % 1_000_000
    seconds //= 1_000_000
    return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro, tzinfo=value.tzinfo)


def _is_date(v: Any) -> bool:
    return type(v) is dt.date


def add(a: Any, b: Any) -> Any:
    """FEEL ``a + b`` where at least one side is temporal; ``None`` if the pair has no meaning."""
    ta, tb = type(a), type(b)
    if ta is Duration and tb is Duration:
        return Duration.of(num(a.seconds) + num(b.seconds))
    if ta is YearsMonths and tb is YearsMonths:
        return YearsMonths(a.months + b.months)
    if ta in (Duration, YearsMonths) and tb not in (Duration, YearsMonths):
        a, b, ta, tb = b, a, tb, ta
    if tb is YearsMonths:
        if ta is dt.date or ta is dt.datetime:
            return add_months(a, b.months)
        return None
    if tb is Duration:
        delta = b.timedelta
        if ta is dt.datetime:
            return _plus_exact(a, delta)
        if ta is dt.date:
            try:
                return (dt.datetime(a.year, a.month, a.day) + delta).date()
            except OverflowError:
                return None
        if ta is dt.time:
            return _plus_time(a, delta)
    return None


def negate(value: Any) -> Any:
    if type(value) is Duration:
        return Duration.of(-num(value.seconds))
    if type(value) is YearsMonths:
        return YearsMonths(-value.months)
    return None


def subtract(a: Any, b: Any) -> Any:
    """FEEL ``a - b`` where at least one side is temporal."""
    ta, tb = type(a), type(b)
    if tb in (Duration, YearsMonths):
        if ta in (Duration, YearsMonths) and ta is not tb:
            return None
        return add(a, negate(b))
    if ta is dt.datetime and tb is dt.datetime:
        if (a.tzinfo is None) != (b.tzinfo is None):
            return None
        return Duration.from_timedelta(a - b)
    if ta is dt.date and tb is dt.date:
        return Duration.from_timedelta(dt.datetime(a.year, a.month, a.day) - dt.datetime(b.year, b.month, b.day))
    if ta is dt.time and tb is dt.time:
        if (a.tzinfo is None) != (b.tzinfo is None):
            return None
        from zeebe_affinity_sync.engine.feel.values import _time_key
        return Duration.of(Decimal(repr(_time_key(a))) - Decimal(repr(_time_key(b))))
    return None


def multiply(a: Any, b: Any) -> Any:
    if is_number(a):
        a, b = b, a
    if not is_number(b):
        return None
    factor = num(b)
    if type(a) is Duration:
        return Duration.of(num(a.seconds) * factor)
    if type(a) is YearsMonths:
        return YearsMonths(int(Decimal(a.months) * factor))
    return None


def divide(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is Duration and tb is Duration:
        if b.seconds == 0:
            return None
        return norm_number(Decimal(repr(a.seconds) if isinstance(a.seconds, float) else a.seconds) /
                           Decimal(repr(b.seconds) if isinstance(b.seconds, float) else b.seconds))
    if ta is YearsMonths and tb is YearsMonths:
        return None if b.months == 0 else norm_number(Decimal(a.months) / Decimal(b.months))
    if is_number(b) and num(b) != 0:
        if ta is Duration:
            return Duration.of(Decimal(repr(a.seconds) if isinstance(a.seconds, float) else a.seconds) / num(b))
        if ta is YearsMonths:
            return YearsMonths(int(Decimal(a.months) / num(b)))
    return None


def years_and_months(start: Any, end: Any) -> Optional[YearsMonths]:
    """java.time Period.between(start, end) in whole months."""
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        return None
    if isinstance(start, dt.datetime) != isinstance(end, dt.datetime) and False:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    s_rest = (start.day, start.time() if isinstance(start, dt.datetime) else dt.time())
    e_rest = (end.day, end.time() if isinstance(end, dt.datetime) else dt.time())
    if months > 0 and e_rest < s_rest:
        months -= 1
    elif months < 0 and e_rest > s_rest:
        months += 1
    return YearsMonths(months)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def property_of(value: Any, name: str, missing: Any) -> Any:
    """``value.name`` for temporal values and durations; ``missing`` for an unknown property."""
    t = type(value)
    if t is dt.date or t is dt.datetime:
        if name == "year":
            return value.year
        if name == "month":
            return value.month
        if name == "day":
            return value.day
        if name == "weekday":
            return value.isoweekday()
        if t is dt.date:
            return missing
    if t is dt.datetime or t is dt.time:
        if name == "hour":
            return value.hour
        if name == "minute":
            return value.minute
        if name == "second":
            return value.second
        if name == "time offset":
            offset = value.utcoffset() if value.tzinfo is not None else None
            return None if offset is None else Duration.from_timedelta(offset)
        if name == "timezone":
            return value.tzinfo.key if is_zoned(value) else None
        return missing
    if t is Duration:
        total = int(value.seconds)
        if name == "days":
            return _trunc_div(total, 86400)
        if name == "hours":
            return _trunc_div(total, 3600) % 24 if total >= 0 else -(_trunc_div(-total, 3600) % 24)
        if name == "minutes":
            return _trunc_div(total, 60) % 60 if total >= 0 else -(_trunc_div(-total, 60) % 60)
        if name == "seconds":
            return total % 60 if total >= 0 else -((-total) % 60)
        return missing
    if t is YearsMonths:
        if name == "years":
            return _trunc_div(value.months, 12)
        if name == "months":
            return value.months % 12 if value.months >= 0 else -((-value.months) % 12)
    return missing
