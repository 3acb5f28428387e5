"""What a privacy control found: the evidence a steward reads and the lineage records."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Severity = Literal["error", "warn"]

AGREEMENT_IN_FORCE = "agreement_in_force"
MINIMISATION = "minimisation"
PSEUDONYMISATION = "pseudonymisation"
DISCLOSURE_CONTROL = "disclosure_control"
RETENTION = "retention"
OPT_OUTS = "opt_outs"
VOLUME = "volume"

CONTROLS: tuple[str, ...] = (
    VOLUME,
    AGREEMENT_IN_FORCE,
    MINIMISATION,
    PSEUDONYMISATION,
    DISCLOSURE_CONTROL,
    RETENTION,
    OPT_OUTS,
)


@dataclass(frozen=True)
class ControlResult:
    """One control's outcome on one flow run.

    ``evaluated`` is False for a control an earlier halt kept from running. ``findings`` are the
    broken rules in words; ``counts`` the numbers behind them; ``groups`` the failing groups of a
    disclosure check by their (generalised) quasi-identifier values, never by the people in them;
    ``row_keys`` the primary keys of offending rows, with any key that is itself an identifier
    withheld.
    """

    control: str
    passed: bool
    rule: str
    summary: str
    severity: Severity = "error"
    findings: tuple[str, ...] = ()
    counts: Mapping[str, int | str] = field(default_factory=dict)
    groups: tuple[Mapping[str, object], ...] = ()
    row_keys: tuple[Mapping[str, object], ...] = ()
    evaluated: bool = True

    @property
    def halts(self) -> bool:
        """True when this outcome stops the flow: failed at error severity."""
        return not self.passed and self.severity == "error"


def not_evaluated(control: str, rule: str, reason: str) -> ControlResult:
    """A control that did not run because the flow was already halted by ``reason``.

    It is reported as not passed (nothing was shown to hold) at warn severity, so it never counts
    as a second reason for the halt.
    """
    return ControlResult(
        control=control,
        passed=False,
        rule=rule,
        summary=f"not evaluated: {reason}",
        severity="warn",
        evaluated=False,
    )


def passed(control: str, rule: str, summary: str, **counts: int | str) -> ControlResult:
    """A passing outcome."""
    return ControlResult(control=control, passed=True, rule=rule, summary=summary, counts=counts)


WITHHELD = "(withheld: holds an identifier)"


def keys_sha256(keys: pd.DataFrame) -> str:
    """SHA-256 over sorted row keys (one ``a|b`` line a row): evidence of which rows, not what."""
    lines = sorted(
        "|".join("" if pd.isna(v) else str(v) for v in row) for row in keys.itertuples(index=False)
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def row_keys(
    frame: pd.DataFrame,
    rows: pd.Series,
    primary_key: Sequence[str],
    flagged: Mapping[str, pd.Series],
    limit: int,
) -> tuple[dict[str, object], ...]:
    """Primary keys and row numbers of the first ``limit`` ``rows``, safe to show a steward.

    A key value that is itself flagged (``flagged[column]`` true on that row) is withheld, so a
    check never echoes the identifier it found; the row's number (from 1) is given instead.
    """
    out = []
    for position in rows.to_numpy().nonzero()[0][:limit]:
        index = frame.index[position]
        key: dict[str, object] = {}
        for column in primary_key:
            if column not in frame.columns:
                continue
            hit = flagged.get(column)
            value = frame.at[index, column]
            if hit is not None and bool(hit.loc[index]):
                key[column] = WITHHELD
                key["row_number"] = int(position) + 1
            else:
                key[column] = None if pd.isna(value) else str(value)
        out.append(key)
    return tuple(out)
