"""Retention: cut-off dates, the purge before storing, and the check that nothing expired is kept."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.model import Agreement
from pipelines.policy.result import RETENTION
from pipelines.policy.retention import (
    Purge,
    apply_retention,
    check_retention,
    cutoff,
    expired,
    keys_sha256,
)

D = dt.date


@pytest.fixture(scope="module")
def agreement() -> Agreement:
    # DSA-HLT-ASC-01: keep P1Y after expected_discharge_date, then secure deletion.
    return load_estate(DEMO_ESTATE).agreements["DSA-HLT-ASC-01"]


@pytest.mark.parametrize(
    ("period", "as_of", "expected"),
    [
        ("P1Y", D(2027, 6, 15), D(2026, 6, 15)),
        ("P6M", D(2026, 8, 31), D(2026, 2, 28)),  # no 31 February: end of month
        ("P6M", D(2026, 9, 15), D(2026, 3, 15)),
        ("P2W", D(2026, 3, 5), D(2026, 2, 19)),
        ("P10D", D(2026, 3, 5), D(2026, 2, 23)),
        ("P1Y6M", D(2027, 8, 31), D(2026, 2, 28)),
        ("P1Y6M", D(2027, 7, 10), D(2026, 1, 10)),
        ("P1Y", D(2028, 2, 29), D(2027, 2, 28)),  # leap day, no 29 February in 2027
        ("P4Y", D(2028, 2, 29), D(2024, 2, 29)),
        ("P1M", D(2028, 3, 31), D(2028, 2, 29)),
        ("P1Y2M3W4D", D(2027, 12, 31), D(2026, 10, 6)),
    ],
)
def test_cutoff(period: str, as_of: dt.date, expected: dt.date) -> None:
    result = cutoff(period, as_of)
    assert result == expected
    assert type(result) is dt.date


def _notifications() -> pd.DataFrame:
    # as_of 2027-03-15 with P1Y: cut-off 2026-03-15.
    return pd.DataFrame(
        {
            "notification_id": ["n1", "n2", "n3", "n4", "n5", "n6"],
            "specialty": [
                "cardiology",
                "surgery",
                "surgery",
                "geriatrics",
                "surgery",
                "cardiology",
            ],
            "expected_discharge_date": [
                "2026-03-14",  # one day too old: purged
                "2026-03-15",  # the cut-off day itself: kept
                "2026-12-01",
                "2025-01-01",  # purged
                "2027-03-20",  # in the future: kept
                "2020-02-29",  # purged
            ],
        }
    )


AS_OF = D(2027, 3, 15)


def _sha(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def test_apply_retention_removes_exactly_the_rows_before_the_cutoff(agreement: Agreement) -> None:
    frame = _notifications()
    kept, purge = apply_retention(frame, agreement, ["notification_id"], AS_OF)
    assert list(kept["notification_id"]) == ["n2", "n3", "n5"]
    assert list(kept.index) == [0, 1, 2]
    assert purge.cutoff == D(2026, 3, 15)
    assert purge.purged == 3
    assert purge.undated == 0
    assert purge.previously_stored == 0
    assert purge.date_column == "expected_discharge_date"
    assert purge.period == "P1Y"
    assert (
        purge.rule == "DSA-HLT-ASC-01: keep P1Y after expected_discharge_date, then secure deletion"
    )
    assert purge.keys_sha256 == _sha(["n1", "n4", "n6"])
    # The input frame is not modified.
    assert len(frame) == 6


def test_keys_sha256_over_a_compound_key(agreement: Agreement) -> None:
    _, purge = apply_retention(_notifications(), agreement, ["notification_id", "specialty"], AS_OF)
    assert purge.keys_sha256 == _sha(["n1|cardiology", "n4|geriatrics", "n6|cardiology"])
    assert purge.keys_sha256 == keys_sha256(
        pd.DataFrame({"a": ["n6", "n1", "n4"], "b": ["cardiology", "cardiology", "geriatrics"]})
    )


def test_keys_sha256_does_not_depend_on_row_order() -> None:
    a = pd.DataFrame({"k": ["x", "y", "z"], "n": [1, 2, 3]})
    assert keys_sha256(a) == keys_sha256(a.iloc[::-1]) == _sha(["x|1", "y|2", "z|3"])


def test_nothing_expired_gives_no_key_hash(agreement: Agreement) -> None:
    frame = _notifications().iloc[[1, 2, 4]]
    kept, purge = apply_retention(frame, agreement, ["notification_id"], AS_OF)
    assert len(kept) == 3
    assert purge.purged == 0
    assert purge.keys_sha256 is None


def test_previously_stored_counts_only_purged_rows_that_were_stored(agreement: Agreement) -> None:
    stored = pd.DataFrame(
        {
            # n1 and n6 are purged and stored; n2 is stored but kept; n9 is not in the frame.
            "notification_id": ["n1", "n2", "n6", "n9"],
            "expected_discharge_date": ["2026-03-14", "2026-03-15", "2020-02-29", "2019-01-01"],
        }
    )
    _, purge = apply_retention(_notifications(), agreement, ["notification_id"], AS_OF, stored)
    assert purge.purged == 3
    assert purge.previously_stored == 2


def test_previously_stored_is_zero_when_storage_lacks_the_key(agreement: Agreement) -> None:
    stored = pd.DataFrame({"other": ["n1", "n4"]})
    _, purge = apply_retention(_notifications(), agreement, ["notification_id"], AS_OF, stored)
    assert purge.previously_stored == 0


def test_undated_rows_are_kept_and_counted(agreement: Agreement) -> None:
    frame = _notifications()
    frame.loc[2, "expected_discharge_date"] = None
    frame.loc[4, "expected_discharge_date"] = "not a date"
    kept, purge = apply_retention(frame, agreement, ["notification_id"], AS_OF)
    assert purge.undated == 2
    assert purge.purged == 3
    assert list(kept["notification_id"]) == ["n2", "n3", "n5"]


def test_check_retention_passes_after_apply(agreement: Agreement) -> None:
    kept, purge = apply_retention(_notifications(), agreement, ["notification_id"], AS_OF)
    result = check_retention(kept, purge)
    assert result.control == RETENTION
    assert result.passed
    assert result.findings == ()
    assert result.rule == purge.rule
    assert result.summary == "3 row(s) purged (dated before 2026-03-15); 3 kept"
    assert dict(result.counts) == {
        "cutoff": "2026-03-15",
        "purged": 3,
        "purged_from_storage": 0,
        "kept": 3,
        "past_retention_after_purge": 0,
        "undated": 0,
    }


def test_check_retention_fails_on_undated_rows(agreement: Agreement) -> None:
    frame = _notifications()
    frame.loc[2, "expected_discharge_date"] = None
    kept, purge = apply_retention(frame, agreement, ["notification_id"], AS_OF)
    result = check_retention(kept, purge)
    assert not result.passed
    assert result.halts
    assert result.findings == (
        "1 row(s) have no expected_discharge_date, so their retention cannot be enforced",
    )
    assert result.counts["undated"] == 1
    assert result.counts["past_retention_after_purge"] == 0


def test_check_retention_fails_on_a_row_still_past_retention() -> None:
    purge = Purge(
        rule="DSA-X: keep P1Y after d",
        date_column="d",
        period="P1Y",
        cutoff=D(2026, 3, 15),
        purged=0,
        previously_stored=0,
        undated=0,
        keys_sha256=None,
    )
    frame = pd.DataFrame({"id": ["a", "b", "c"], "d": ["2026-03-14", "2026-03-15", "2027-01-01"]})
    result = check_retention(frame, purge)
    assert not result.passed
    assert result.halts
    assert result.findings == ("1 row(s) are past retention (before 2026-03-15)",)
    assert result.counts["past_retention_after_purge"] == 1
    assert result.counts["kept"] == 3

    both = frame.assign(d=["2026-03-14", None, "2020-01-01"])
    result = check_retention(both, purge)
    assert result.findings == (
        "2 row(s) are past retention (before 2026-03-15)",
        "1 row(s) have no d, so their retention cannot be enforced",
    )
    assert result.summary == "; ".join(result.findings)


def test_dates_mixing_utc_offsets_are_compared_in_utc() -> None:
    dates = pd.Series(
        ["2025-12-31T23:30:00-05:00", "2025-12-31T23:30:00+01:00", "2026-01-01", "not a date"],
        dtype="string",
    )
    # the first is 1 January in UTC, the second 31 December; undated rows are not expired
    assert expired(dates, dt.date(2026, 1, 1)).tolist() == [False, True, False, False]
