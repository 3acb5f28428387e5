"""Reference periods a partitioned flow publishes one at a time: keys, bounds and expiry.

A period is a calendar day (key ``2026-10-14``) or a calendar month (key ``2026-10``). Its
bounds are half-open, ``[start, end)``: the day after a period's last day is its ``end``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Literal

import pandas as pd

from pipelines.extracts import to_dates
from pipelines.policy.retention import cutoff

Period = Literal["daily", "monthly"]
PERIODS: tuple[Period, ...] = ("daily", "monthly")
_KEY = {
    "daily": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "monthly": re.compile(r"^\d{4}-\d{2}$"),
}


class PartitionKeyError(ValueError):
    """A partition key that does not name a period of the given kind."""


def key_of(period: Period, day: dt.date) -> str:
    """The key of the period holding ``day``."""
    return day.strftime("%Y-%m") if period == "monthly" else day.isoformat()


def first_day(period: Period, key: str) -> dt.date:
    """The first day of the period ``key`` (:class:`PartitionKeyError` if malformed)."""
    example = "2026-10" if period == "monthly" else "2026-10-14"
    if not _KEY[period].match(key):
        raise PartitionKeyError(f"'{key}' is not a {period} period key such as {example}")
    try:
        return dt.date.fromisoformat(f"{key}-01" if period == "monthly" else key)
    except ValueError:
        raise PartitionKeyError(f"'{key}' is not a {period} period key such as {example}") from None


def bounds(period: Period, key: str) -> tuple[dt.date, dt.date]:
    """The period's first day and the day after its last (half-open)."""
    start = first_day(period, key)
    if period == "daily":
        return start, start + dt.timedelta(days=1)
    nxt = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, nxt


def last_day(period: Period, key: str) -> dt.date:
    """The last day of the period ``key``: a run for it judges its data as of that day."""
    return bounds(period, key)[1] - dt.timedelta(days=1)


def keys_between(period: Period, first: str, last: str) -> list[str]:
    """Every key from ``first`` to ``last``, both included, in order."""
    day, end = first_day(period, first), first_day(period, last)
    keys: list[str] = []
    while day <= end:
        keys.append(key_of(period, day))
        day = bounds(period, keys[-1])[1]
    return keys


def keys_of(period: Period, dates: pd.Series) -> pd.Series:
    """Each row's period key (missing where the date is missing or unreadable)."""
    parsed = to_dates(dates)
    fmt = "%Y-%m" if period == "monthly" else "%Y-%m-%d"
    return parsed.dt.strftime(fmt).where(parsed.notna())


def in_period(period: Period, key: str, dates: pd.Series) -> pd.Series:
    """Which rows fall in the period ``key`` (undated rows do not)."""
    return (keys_of(period, dates) == key).fillna(False).astype(bool)


def covered(period: Period, dates: pd.Series, start: dt.date, until: dt.date) -> list[str]:
    """The keys of the periods from ``start``'s to ``until``'s that ``dates`` has rows in."""
    lo, hi = key_of(period, start), key_of(period, until)
    found = {k for k in keys_of(period, dates).dropna().unique() if lo <= k <= hi}
    return sorted(found)


def expired(period: Period, keys: Iterable[str], retention: str, as_of: dt.date) -> list[str]:
    """The keys whose period ended before the retention ``cutoff`` of ``as_of``: every day of
    them is older than the agreement lets rows be kept (rows dated on the cutoff stay)."""
    limit = cutoff(retention, as_of)
    return sorted(k for k in keys if bounds(period, k)[1] <= limit)


_PERIOD_TABLE = re.compile(r"^(?P<dataset>.+)__(?P<key>\d{4}_\d{2}(?:_\d{2})?)$")


def period_table(dataset: str, key: str) -> str:
    """The warehouse table holding period ``key`` of ``dataset``: ``<dataset>__2026_10``."""
    return f"{dataset}__{key.replace('-', '_')}"


def split_period_table(table: str) -> tuple[str, str] | None:
    """``(dataset, key)`` of a period table's name, or None if it is not one."""
    match = _PERIOD_TABLE.match(table)
    return (match["dataset"], match["key"].replace("_", "-")) if match else None
