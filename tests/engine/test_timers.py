"""Timer definitions (engine/timers.py): ISO 8601 dates, durations, repeating intervals, cron."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zeebe_affinity_sync.engine import timers

UTC = timezone.utc
NOW = datetime(2026, 1, 30, 10, 0, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize("text, expected", [
    ("2026-03-01T09:00:00Z", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
    ("2026-03-01T09:00:00+02:00", datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),
    ("2026-03-01T09:00+0130", datetime(2026, 3, 1, 7, 30, tzinfo=UTC)),
    ("2026-03-01T09:00:00.250Z", datetime(2026, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)),
    ("2026-03-01T09:00:00", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
    ("2026-07-01T09:00:00@Europe/Berlin", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
    ("2026-01-01T09:00:00[Europe/Berlin]", datetime(2026, 1, 1, 8, 0, tzinfo=UTC)),
])
def test_date_times(text, expected):
    assert timers.parse_date_time(text) == expected


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00@Nowhere/City"])
def test_bad_date_times(text):
    with pytest.raises(ValueError):
        timers.parse_date_time(text)


def test_durations_with_calendar_months_and_either_letter_case():
    assert timers.parse_interval("PT10S").after(NOW) == NOW + timedelta(seconds=10)
    assert timers.parse_interval("pt30s").after(NOW) == NOW + timedelta(seconds=30)
    assert timers.parse_interval("P1DT2H30M").after(NOW) == NOW + timedelta(days=1, hours=2, minutes=30)
    assert timers.parse_interval("P2W").after(NOW) == NOW + timedelta(days=14)
    # Jan 30 + 1 month is the last day of February
    assert timers.parse_interval("P1M").after(NOW) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert timers.parse_interval("P1Y").after(NOW) == datetime(2027, 1, 30, 10, 0, tzinfo=UTC)
    assert timers.parse_interval("-PT5S").after(NOW) == NOW - timedelta(seconds=5)
    for bad in ("P", "PT", "10S", "P1H", "PT1D", "soon"):
        with pytest.raises(ValueError):
            timers.parse_interval(bad)


def test_iso_repeating_intervals():
    cycle = timers.parse_cycle("R5/PT10S")
    assert cycle.repetitions == 5 and cycle.first_due(NOW) == NOW + timedelta(seconds=10)
    assert cycle.next_due(NOW + timedelta(seconds=10)) == NOW + timedelta(seconds=20)
    assert cycle.remaining_after_fire(5) == 4
    forever = timers.parse_cycle("R/PT1H")
    assert forever.repetitions == timers.INFINITE and forever.remaining_after_fire(timers.INFINITE) == timers.INFINITE
    started = timers.parse_cycle("R3/2026-02-01T00:00:00Z/PT1H")
    assert started.repetitions == 3 and started.first_due(NOW) == datetime(2026, 2, 1, tzinfo=UTC)
    assert started.next_due(datetime(2026, 2, 1, tzinfo=UTC)) == datetime(2026, 2, 1, 1, tzinfo=UTC)
    past_start = timers.parse_cycle("R3/2020-01-01T00:00:00Z/PT1H")
    assert past_start.first_due(NOW) == NOW + timedelta(hours=1)


def test_cron_cycles_are_springs_six_field_format():
    cycle = timers.parse_cycle("0 0 9 * * MON-FRI")
    assert cycle.repetitions == timers.INFINITE
    # Friday 10:00 -> Monday 09:00
    assert cycle.first_due(NOW) == datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    assert cycle.next_due(datetime(2026, 2, 2, 9, 0, tzinfo=UTC)) == datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    assert timers.parse_cycle("*/15 * * * * ?").first_due(NOW) == NOW + timedelta(seconds=15)
    assert timers.parse_cycle("@hourly").first_due(NOW) == NOW + timedelta(hours=1)
    assert timers.parse_cycle("0 0 0 L * *").first_due(NOW) == datetime(2026, 1, 31, tzinfo=UTC)
    # day of month AND day of week (Spring), not OR: the next 13th that is a Friday
    assert timers.parse_cycle("0 0 0 13 * FRI").first_due(NOW) == datetime(2026, 2, 13, tzinfo=UTC)


@pytest.mark.parametrize("text", ["0 9 * * *", "R5", "R5/soon", "Rx/PT1S", "R/PT0S", "every day", "61 * * * * *"])
def test_bad_cycles(text):
    with pytest.raises(ValueError):
        timers.parse_cycle(text)


class _YearsMonths:  # the shape of FEEL's years-and-months duration: months only
    months = 2


class _DaysTime:  # the shape of FEEL's days-and-time duration: seconds only
    seconds = 90.0


def test_feel_durations_of_either_kind_give_due_dates():
    from zeebe_affinity_sync.engine.timer_events import _duration_value

    assert _duration_value(_YearsMonths(), "=duration(\"P2M\")", NOW) == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
    assert _duration_value(_DaysTime(), "=duration(\"PT90S\")", NOW) == NOW + timedelta(seconds=90)
    with pytest.raises(Exception):
        _duration_value(42, "=42", NOW)
