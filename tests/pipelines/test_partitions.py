"""Reference periods: keys, bounds, filtering and expiry, against independent calculations."""

from __future__ import annotations

import calendar
import datetime as dt

import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta

from pipelines import partitions as p

DAYS = [dt.date(2023, 12, 25) + dt.timedelta(days=i) for i in range(800)]


@pytest.mark.parametrize("day", DAYS[::7])
def test_month_bounds_hold_their_days(day: dt.date) -> None:
    key = p.key_of("monthly", day)
    start, end = p.bounds("monthly", key)
    assert start == day.replace(day=1)
    assert (end - start).days == calendar.monthrange(day.year, day.month)[1]
    assert start <= day < end
    assert p.last_day("monthly", key) == end - dt.timedelta(days=1)


def test_day_bounds_and_keys() -> None:
    for day in DAYS:
        key = p.key_of("daily", day)
        assert key == day.isoformat()
        assert p.bounds("daily", key) == (day, day + dt.timedelta(days=1))


def test_keys_between_cover_every_day_once() -> None:
    keys = p.keys_between("monthly", "2024-01", "2025-12")
    assert len(keys) == 24
    assert sum((p.bounds("monthly", k)[1] - p.bounds("monthly", k)[0]).days for k in keys) == 731
    assert p.keys_between("daily", "2024-02-27", "2024-03-01") == [
        "2024-02-27",
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]


@pytest.mark.parametrize(
    ("period", "key"),
    [("monthly", "2026-13"), ("monthly", "2026-1"), ("daily", "2026-02-30"), ("daily", "2026-02")],
)
def test_malformed_keys_are_refused(period: p.Period, key: str) -> None:
    with pytest.raises(p.PartitionKeyError):
        p.bounds(period, key)


def test_filtering_keeps_exactly_the_rows_of_the_period() -> None:
    dates = pd.Series(["2026-01-31", "2026-02-01", None, "not a date", "2026-02-28T23:00:00"])
    assert p.in_period("monthly", "2026-02", dates).tolist() == [False, True, False, False, True]
    assert p.in_period("daily", "2026-01-31", dates).tolist() == [True, False, False, False, False]
    assert p.covered("monthly", dates, dt.date(2026, 2, 1), dt.date(2026, 12, 1)) == ["2026-02"]


@pytest.mark.parametrize("retention", ["P6M", "P1Y", "P30D", "P2W", "P1Y6M"])
def test_expiry_matches_brute_force(retention: str) -> None:
    as_of = dt.date(2026, 3, 15)
    units = {"Y": "years", "M": "months", "W": "weeks", "D": "days"}
    import re

    offset = {units[u]: int(n) for n, u in re.findall(r"(\d+)([YMWD])", retention)}
    limit = as_of - relativedelta(**offset)
    for period in p.PERIODS:
        keys = sorted({p.key_of(period, d) for d in DAYS})
        days_of = {k: [d for d in DAYS if p.key_of(period, d) == k] for k in keys}
        want = [
            k
            for k in keys
            if all(d < limit for d in days_of[k]) and days_of[k][-1] == p.last_day(period, k)
        ]
        got = [
            k
            for k in p.expired(period, keys, retention, as_of)
            if days_of[k][-1] == p.last_day(period, k)
        ]
        assert got == want
