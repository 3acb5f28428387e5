"""What a flow's transform function receives besides its input dataframes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from pipelines import masking
from pipelines.model import KAnonymityRule
from pipelines.policy.issued import Issued
from pipelines.policy.retention import expired


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
    k_anonymity: int = 5
    k_rule: KAnonymityRule | None = None
    retention_column: str | None = None
    retention_cutoff: dt.date | None = None
    _key: bytes | None = field(default=None, repr=False)
    _issued: Issued = field(default_factory=Issued, repr=False, compare=False)

    @property
    def has_key(self) -> bool:
        """Whether a pseudonymisation key is available to this run."""
        return self._key is not None

    @property
    def issued(self) -> Issued:
        """The pseudonyms :meth:`pseudonymise` has returned in this run (for the controls)."""
        return self._issued

    def pseudonymise(self, values: pd.Series) -> pd.Series:
        """Keyed-hash (HMAC-SHA-256) pseudonyms: stable for one key, unlinkable without it."""
        if self._key is None:
            raise MissingKeyError(
                f"flow '{self.flow}' pseudonymises but no key is configured; set "
                "TAGTRAIL_PSEUDONYM_KEY or TAGTRAIL_PSEUDONYM_KEY_FILE (tagtrail demo creates one)"
            )
        pseudonyms = masking.keyed_hash(values, self._key)
        self._issued.add(pseudonyms)
        return pseudonyms

    def age_band(self, dates_of_birth: pd.Series) -> pd.Series:
        """Age bands on the reference date."""
        return masking.age_band(dates_of_birth, self.as_of)

    def k_anonymise(self, frame: pd.DataFrame, suppress: tuple[str, ...] = ()) -> pd.DataFrame:
        """``frame`` made k-anonymous on the flow's declared quasi-identifiers by local suppression.

        The agreement's k applies; ``suppress`` names the quasi-identifiers that may be blanked,
        in order, before rows still in small classes are dropped (see
        :func:`pipelines.masking.local_suppression`). Rows the retention rule will purge do not
        count.
        """
        if self.k_rule is None:
            raise ValueError(
                f"flow '{self.flow}' calls k_anonymise but declares no disclosure.k_anonymity rule"
            )
        return masking.local_suppression(
            frame,
            self.k_rule.quasi_identifiers,
            self.k_anonymity,
            suppress=suppress,
            unit=self.k_rule.unit,
            stored=self.retained(frame),
        )

    def retained(self, frame: pd.DataFrame) -> pd.Series | None:
        """Which rows the agreement's retention rule will keep (None: no dated rule applies).

        Rows past the period are purged after the transform; disclosure control is judged on the
        rows that remain, so a transform that k-anonymises counts only those.
        """
        column, limit = self.retention_column, self.retention_cutoff
        if column is None or limit is None or column not in frame.columns:
            return None
        return ~expired(frame[column], limit)
