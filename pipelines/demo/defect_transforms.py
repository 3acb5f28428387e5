"""Transforms with known bugs, for the policy defects of ``tagtrail demo --defect``.

They wrap the real care-extract transform with a context that skips one masking step, as a
careless edit to the transform would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pipelines.demo.estate.flows import admissions_research_extract, care_research_extract
from pipelines.policy.disclosure import tabulate
from pipelines.transform import TransformContext


@dataclass(frozen=True)
class _NoHashing(TransformContext):
    def pseudonymise(self, values: pd.Series) -> pd.Series:
        return values.astype("string")


@dataclass(frozen=True)
class _NoSuppression(TransformContext):
    def k_anonymise(self, frame: pd.DataFrame, suppress: tuple[str, ...] = ()) -> pd.DataFrame:
        return frame


def _as(kind: type[TransformContext], ctx: TransformContext) -> TransformContext:
    fields = {f: getattr(ctx, f) for f in ctx.__dataclass_fields__}
    return kind(**fields)


def care_unhashed(ctx: TransformContext, care_packages: pd.DataFrame) -> pd.DataFrame:
    """The care extract with its keyed hashing forgotten."""
    return care_research_extract.transform(_as(_NoHashing, ctx), care_packages)


def care_unsuppressed(ctx: TransformContext, care_packages: pd.DataFrame) -> pd.DataFrame:
    """The care extract without its k-anonymising step."""
    return care_research_extract.transform(_as(_NoSuppression, ctx), care_packages)


def statistics_primary_only(
    ctx: TransformContext, care_research_extract: pd.DataFrame
) -> pd.DataFrame:
    """Care statistics with primary suppression only: a withheld cell can be worked out."""
    dims = ["postcode_district", "age_band"]
    table = tabulate(care_research_extract, dims, unit="person_key", count_column="people")
    small = (table["people"] > 0) & (table["people"] < ctx.min_cell_count)
    table["people"] = table["people"].astype("Int64").mask(small)
    table["suppressed"] = small.astype("boolean")
    table["suppression"] = pd.Series(pd.NA, index=table.index, dtype="string").mask(
        small, "primary"
    )
    return table


@dataclass(frozen=True)
class _MonthsWithheld(TransformContext):
    def k_anonymise(self, frame: pd.DataFrame, suppress: tuple[str, ...] = ()) -> pd.DataFrame:
        return super().k_anonymise(frame, suppress=("admission_month",))


def admissions_months_withheld(
    ctx: TransformContext, inpatient_episodes: pd.DataFrame
) -> pd.DataFrame:
    """Admissions whose rare months are blanked, leaving rows with no retention date."""
    return admissions_research_extract.transform(_as(_MonthsWithheld, ctx), inpatient_episodes)


@dataclass(frozen=True)
class _Rewritten(TransformContext):
    """A pseudonymise step replaced by ``rewrite``: how identifiers leak in other forms."""

    rewrite: Callable[[str], str] = str

    def pseudonymise(self, values: pd.Series) -> pd.Series:
        return values.astype("string").map(self.rewrite).astype("string")


def _rewritten(ctx: TransformContext, rewrite: Callable[[str], str]) -> TransformContext:
    fields = {f: getattr(ctx, f) for f in TransformContext.__dataclass_fields__}
    return _Rewritten(**fields, rewrite=rewrite)


def care_dashed(ctx: TransformContext, care_packages: pd.DataFrame) -> pd.DataFrame:
    """The care extract with NHS numbers written 999-123-4567 instead of hashed."""
    return care_research_extract.transform(
        _rewritten(ctx, lambda v: f"{v[:3]}-{v[3:6]}-{v[6:]}"), care_packages
    )


def care_in_text(ctx: TransformContext, care_packages: pd.DataFrame) -> pd.DataFrame:
    """The care extract with NHS numbers inside a note instead of hashed."""
    return care_research_extract.transform(
        _rewritten(ctx, lambda v: f"client {v[:3]} {v[3:6]} {v[6:]} (see file)"), care_packages
    )


def care_unsalted(ctx: TransformContext, care_packages: pd.DataFrame) -> pd.DataFrame:
    """The care extract hashed with plain SHA-256: anyone can hash the NHS number range."""
    return care_research_extract.transform(
        _rewritten(ctx, lambda v: hashlib.sha256(v.encode()).hexdigest()), care_packages
    )
