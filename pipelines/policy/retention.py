"""Retention: rows kept past the agreement's retention period are purged before anything is stored."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pipelines.extracts import to_dates
from pipelines.model import Agreement
from pipelines.policy.result import RETENTION, ControlResult, keys_sha256

_PARTS = re.compile(r"(\d+)([YMWD])")


def cutoff(period: str, as_of: dt.date) -> dt.date:
    """The earliest date still kept: ``as_of`` minus the ISO 8601 ``period`` (P1Y, P6M, P1Y6M...)."""
    units = {"Y": "years", "M": "months", "W": "weeks", "D": "days"}
    offset = {units[u]: int(n) for n, u in _PARTS.findall(period)}
    limit: dt.date = (pd.Timestamp(as_of) - pd.DateOffset(**offset)).date()
    return limit


def expired(dates: pd.Series, limit: dt.date) -> pd.Series:
    """Which rows are past retention: dated before ``limit`` (undated rows are not)."""
    parsed = to_dates(dates)
    return (parsed < pd.Timestamp(limit)).fillna(False).astype(bool)


@dataclass(frozen=True)
class Purge:
    """What the retention rule removed from one flow's output."""

    rule: str
    date_column: str
    period: str
    cutoff: dt.date
    purged: int
    previously_stored: int
    undated: int
    keys_sha256: str | None


def apply_retention(
    frame: pd.DataFrame,
    agreement: Agreement,
    primary_key: Sequence[str],
    as_of: dt.date,
    stored: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, Purge]:
    """``frame`` without the rows past retention, and a record of the purge.

    A row is past retention when its ``date_column`` is before ``as_of`` minus the period.
    ``stored`` is the dataset as currently stored, if any: the purge record says how many of the
    purged rows it held, since those are the ones deleted from storage by this run.
    """
    ret = agreement.retention
    assert ret.date_column is not None, "apply_retention needs a retention date_column"
    limit = cutoff(ret.period, as_of)
    dates = frame[ret.date_column]
    past = expired(dates, limit)
    purged = frame.loc[past, list(primary_key)]
    previously = 0
    if stored is not None and len(purged) and set(primary_key) <= set(stored.columns):
        stored_keys = stored[list(primary_key)].astype("string")
        merged = purged.astype("string").merge(stored_keys, on=list(primary_key), how="inner")
        previously = len(merged)
    purge = Purge(
        rule=f"{agreement.id}: keep {ret.period} after {ret.date_column}, then {ret.disposal}",
        date_column=ret.date_column,
        period=ret.period,
        cutoff=limit,
        purged=int(past.sum()),
        previously_stored=previously,
        undated=int(to_dates(dates).isna().sum()),
        keys_sha256=keys_sha256(purged) if len(purged) else None,
    )
    return frame.loc[~past].reset_index(drop=True), purge


def check_retention(frame: pd.DataFrame, purge: Purge) -> ControlResult:
    """Verify the output to be stored holds no row past retention and none without a date."""
    dates = frame[purge.date_column]
    late = int(expired(dates, purge.cutoff).sum())
    undated = int(to_dates(dates).isna().sum())
    return retention_result(purge, len(frame), late, undated)


def retention_result(purge: Purge, kept: int, late: int, undated: int) -> ControlResult:
    """The retention control's verdict on stored rows: ``kept`` of them, ``late`` past the
    cutoff, ``undated`` without a date (however they were counted)."""
    findings = []
    if late:
        findings.append(f"{late} row(s) are past retention (before {purge.cutoff})")
    if undated:
        findings.append(
            f"{undated} row(s) have no {purge.date_column}, so their retention cannot be enforced"
        )
    return ControlResult(
        control=RETENTION,
        passed=not findings,
        rule=purge.rule,
        summary="; ".join(findings)
        if findings
        else f"{purge.purged} row(s) purged (dated before {purge.cutoff}); {kept} kept",
        findings=tuple(findings),
        counts={
            "cutoff": purge.cutoff.isoformat(),
            "purged": purge.purged,
            "purged_from_storage": purge.previously_stored,
            "kept": kept,
            "past_retention_after_purge": late,
            "undated": undated,
        },
    )
