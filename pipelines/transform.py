"""What a flow's transform function receives besides its input dataframes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from pipelines import masking


class MissingKeyError(RuntimeError):
    """A flow asked to pseudonymise but no pseudonymisation key was configured."""


@dataclass(frozen=True)
class TransformContext:
    """Run-time facts a transform may use: the flow, the reference date and masking helpers.

    A transform is ``def transform(ctx: TransformContext, **inputs: pd.DataFrame) -> pd.DataFrame``;
    each input is passed under its dataset name.
    """

    flow: str
    as_of: dt.date
    min_cell_count: int = 10
    _key: bytes | None = field(default=None, repr=False)

    def pseudonymise(self, values: pd.Series) -> pd.Series:
        """Keyed-hash (HMAC-SHA-256) pseudonyms: stable for one key, unlinkable without it."""
        if self._key is None:
            raise MissingKeyError(
                f"flow '{self.flow}' pseudonymises but no key is configured; set "
                "TAGTRAIL_PSEUDONYM_KEY or TAGTRAIL_PSEUDONYM_KEY_FILE (tagtrail demo creates one)"
            )
        return masking.keyed_hash(values, self._key)

    def age_band(self, dates_of_birth: pd.Series) -> pd.Series:
        """Age bands on the reference date."""
        return masking.age_band(dates_of_birth, self.as_of)
