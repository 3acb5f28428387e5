"""Transforms with known bugs, for the policy defects of ``tagtrail demo --defect``.

They wrap the real care-extract transform with a context that skips one masking step, as a
careless edit to the transform would.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.demo.estate.flows import care_research_extract
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
