"""Conforming a frame to its declared types: dates with UTC offsets and time zones."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.extracts import conform, to_dates
from pipelines.model import Dataset


def _dataset() -> Dataset:
    return Dataset.model_validate(
        {
            "name": "events",
            "description": "test",
            "primary_key": ["id"],
            "columns": [{"name": "id", "type": "string"}, {"name": "on", "type": "date"}],
        }
    )


def test_a_column_mixing_offsets_is_read_as_utc_dates() -> None:
    values = pd.Series(
        [
            "2026-03-01T23:30:00+01:00",
            "2026-03-01T23:30:00-05:00",
            "2026-03-01T10:00:00Z",
            "2026-03-01",
        ],
        dtype="string",
    )
    frame, report = conform(pd.DataFrame({"id": list("abcd"), "on": values}), _dataset())
    assert report.ok
    assert [d.date().isoformat() for d in frame["on"]] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-01",
        "2026-03-01",
    ]
    assert str(frame["on"].dtype) == "datetime64[ms]"


def test_unreadable_dates_are_reported_by_row_not_raised() -> None:
    values = pd.Series(["2026-03-01T23:30:00+01:00", "31/02/2026 soon", None], dtype="string")
    frame, report = conform(pd.DataFrame({"id": list("abc"), "on": values}), _dataset())
    assert report.failures == {"on": [1]}
    assert frame["on"].isna().tolist() == [False, True, True]


def test_time_zone_aware_values_are_taken_to_utc() -> None:
    london = pd.Series(pd.to_datetime(["2026-06-30 23:30"]).tz_localize("Europe/London"))
    assert to_dates(london).dt.date.tolist() == [dt.date(2026, 6, 30)]
    tokyo = pd.Series(pd.to_datetime(["2026-07-01 08:00"]).tz_localize("Asia/Tokyo"))
    assert to_dates(tokyo).dt.date.tolist() == [dt.date(2026, 6, 30)]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
            st.integers(min_value=-14 * 60, max_value=14 * 60),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_mix_of_offsets_gives_the_standard_librarys_utc_date(
    stamps: list[tuple[dt.datetime, int]],
) -> None:
    aware = [
        when.replace(microsecond=0, tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
        for when, minutes in stamps
    ]
    got = to_dates(pd.Series([a.isoformat() for a in aware], dtype="string"))
    assert got.dt.date.tolist() == [a.astimezone(dt.UTC).date() for a in aware]
