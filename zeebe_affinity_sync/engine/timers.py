"""Timer definitions as Zeebe reads them: ``timeDate``, ``timeDuration`` and ``timeCycle``.

* **timeDate**: an ISO 8601 combined date and time with an offset (``2025-01-01T09:00:00Z``,
  ``2025-01-01T09:00:00+02:00``) or a FEEL-style zone id (``2025-01-01T09:00:00@Europe/Berlin``);
  one without an offset is read as UTC. A FEEL expression may also give a ``date and time``.
* **timeDuration**: an ISO 8601 duration (``PT10S``, ``P1DT2H``, ``P1M``); months and years are
  calendar months and years, added to the date the timer starts at.
* **timeCycle**: an ISO 8601 repeating interval - ``R5/PT10S`` (5 times, every 10 s), ``R/PT1H``
  (forever), ``R3/2025-01-01T00:00:00Z/PT1H`` (3 times, the first at that start date) - or a
  cron expression in Spring's format, as Zeebe takes it: six fields, seconds first
  (``0 0 9 * * MON-FRI``), with ``?``, ``L``, ``W``, ``#`` and the macros ``@yearly``,
  ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``, ``@hourly``. A cron cycle repeats forever.
  Day of month and day of week must both match when both are given (Spring's rule).

Everything here is pure computation on aware UTC datetimes: the engine passes its own clock's
``now`` in, so ``increase_time`` and real time behave alike.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from croniter import croniter

__all__ = ["Interval", "Cycle", "parse_date_time", "parse_interval", "parse_cycle", "utc_now", "INFINITE"]

#: repetitions of ``R/...`` and of cron cycles
INFINITE = -1

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$")
_DATE_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?(?:@(?P<zone>[A-Za-z0-9_/+-]+)|\[(?P<bzone>[A-Za-z0-9_/+-]+)\])?$")
_CRON_MACROS = {
    "@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *",
}


@dataclass(frozen=True)
class Interval:
    """An ISO 8601 duration: calendar ``months`` plus exact ``seconds``."""

    months: int = 0
    seconds: float = 0.0

    def after(self, start: datetime) -> datetime:
        """``start`` plus this interval (months first, clamped to the month's last day)."""
        due = _add_months(start, self.months) if self.months else start
        return due + timedelta(seconds=self.seconds)

    @property
    def is_positive(self) -> bool:
        return self.months > 0 or self.seconds > 0


@dataclass(frozen=True)
class Cycle:
    """A repeating timer: ISO 8601 ``R<n>/[start/]duration`` or a cron expression.

    Attributes:
        repetitions: How many times it fires in all (:data:`INFINITE` for ``R/...`` and cron).
        interval: The repeat interval (ISO cycles).
        start: The first due date of an ISO cycle with a start, else ``None``.
        cron: The cron expression (six fields) of a cron cycle, else ``None``.
    """

    repetitions: int
    interval: Optional[Interval] = None
    start: Optional[datetime] = None
    cron: Optional[str] = None

    def first_due(self, now: datetime) -> datetime:
        """When the cycle fires first, counted from ``now`` (the moment the timer is created)."""
        if self.cron is not None:
            return _cron_next(self.cron, now)
        assert self.interval is not None
        if self.start is not None and self.start > now:
            return self.start
        return self.interval.after(now)

    def next_due(self, last_due: datetime) -> datetime:
        """When it fires again after firing at ``last_due``."""
        if self.cron is not None:
            return _cron_next(self.cron, last_due)
        assert self.interval is not None
        return self.interval.after(last_due)

    def remaining_after_fire(self, repetitions_left: int) -> int:
        """Repetitions left after one firing (``INFINITE`` stays infinite)."""
        return INFINITE if repetitions_left == INFINITE else repetitions_left - 1


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_date_time(text: str) -> datetime:
    """An ISO 8601 date-time (aware; no offset means UTC).

    Raises:
        ValueError: Not a date-time Zeebe accepts; the message says what was expected.
    """
    match = _DATE_TIME.match(text.strip())
    if not match:
        raise ValueError(f"Invalid date-time format '{text}': expected an ISO 8601 date and time such as "
                         "'2025-01-01T09:00:00Z' or '2025-01-01T09:00:00+02:00'")
    year, month, day = (int(p) for p in match.group("date").split("-"))
    frac = (match.group("frac") or "0")[:6].ljust(6, "0")
    tz = timezone.utc
    offset, zone = match.group("offset"), match.group("zone") or match.group("bzone")
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = timezone(delta if offset[0] == "+" else -delta)
    try:
        result = datetime(year, month, day, int(match.group("h")), int(match.group("m")),
                          int(match.group("s") or 0), int(frac), tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"Invalid date-time '{text}': {exc}") from None
    if zone and not offset:
        result = result.replace(tzinfo=_zone(zone, text))
    return result.astimezone(timezone.utc)


def parse_interval(text: str) -> Interval:
    """An ISO 8601 duration (``PT10S``, ``P1DT2H``, ``P1Y2M``, ``P2W``).

    Raises:
        ValueError: Not an ISO 8601 duration.
    """
    # Java's Duration / Period parsers (Zeebe's) take the letters in either case
    upper = text.strip().upper()
    match = _DURATION.match(upper)
    if not match or upper in ("P", "PT", "-P") or upper.endswith("T"):
        raise ValueError(f"Invalid duration format '{text}': expected an ISO 8601 duration such as PT10S or "
                         "P1DT2H")
    g = {k: v for k, v in match.groupdict().items() if v is not None and k != "sign"}
    months = int(g.get("years", 0)) * 12 + int(g.get("months", 0))
    seconds = ((int(g.get("weeks", 0)) * 7 + int(g.get("days", 0))) * 86400 + int(g.get("hours", 0)) * 3600
               + int(g.get("minutes", 0)) * 60 + float(g.get("seconds", "0").replace(",", ".")))
    sign = -1 if match.group("sign") else 1
    return Interval(sign * months, sign * seconds)


def parse_cycle(text: str) -> Cycle:
    """A ``timeCycle``: ISO 8601 repeating interval or a Spring cron expression.

    Raises:
        ValueError: Neither; the message says which forms are accepted.
    """
    stripped = text.strip()
    if stripped.upper().startswith("R"):
        return _iso_cycle(stripped)
    return _cron_cycle(stripped)


def _iso_cycle(text: str) -> Cycle:
    parts = text.split("/")
    head = parts[0][1:]
    if len(parts) not in (2, 3) or (head and not head.isdigit()):
        raise ValueError(f"Invalid time cycle '{text}': expected an ISO 8601 repeating interval such as R5/PT10S, "
                         "R/PT1H or R3/2025-01-01T00:00:00Z/PT1H")
    repetitions = int(head) if head else INFINITE
    start = parse_date_time(parts[1]) if len(parts) == 3 else None
    interval = parse_interval(parts[-1])
    if not interval.is_positive:
        raise ValueError(f"Invalid time cycle '{text}': the repeat interval must be positive")
    return Cycle(repetitions, interval=interval, start=start)


def _cron_cycle(text: str) -> Cycle:
    expression = _CRON_MACROS.get(text.lower(), text)
    fields = expression.split()
    if len(fields) != 6 or not croniter.is_valid(expression, second_at_beginning=True):
        raise ValueError(f"Invalid time cycle '{text}': expected an ISO 8601 repeating interval (R5/PT10S) or a "
                         "cron expression of six fields, seconds first ('0 0 9 * * MON-FRI')")
    # Spring's cron takes 0 or 7 for Sunday and '?' for "any": croniter does too
    return Cycle(INFINITE, cron=expression)


def _cron_next(expression: str, after: datetime) -> datetime:
    # day_or=False: Spring matches day-of-month AND day-of-week (classic cron ORs them)
    it = croniter(expression, after.astimezone(timezone.utc), second_at_beginning=True, day_or=False)
    return it.get_next(datetime).astimezone(timezone.utc)


def _add_months(start: datetime, months: int) -> datetime:
    total = start.year * 12 + start.month - 1 + months
    year, month = divmod(total, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


def _zone(name: str, text: str):  # -> tzinfo
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for bad keys
        raise ValueError(f"Invalid date-time '{text}': unknown time zone '{name}'") from exc
