"""Opt-outs: people in a register are left out of every flow subject to it, and checked for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from pipelines.model import Flow, OptOut
from pipelines.policy.result import OPT_OUTS, ControlResult, keys_sha256, row_keys

Pseudonymise = Callable[[pd.Series], pd.Series]


def register_version(register: pd.DataFrame, primary_key: Sequence[str]) -> str:
    """A short content version of the register: SHA-256 of its sorted entry ids (not identifiers)."""
    return keys_sha256(register[list(primary_key)])[:16]


@dataclass(frozen=True)
class Exclusion:
    """What applying the register to a flow's input removed."""

    register: str
    version: str
    register_size: int
    matched_on: str
    excluded_rows: int
    excluded_people: int


def _ids(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def exclude(
    inputs: dict[str, pd.DataFrame],
    rule: OptOut,
    register: pd.DataFrame,
    register_primary_key: Sequence[str],
) -> tuple[dict[str, pd.DataFrame], Exclusion]:
    """The inputs with every row of an opted-out person removed from the matched input."""
    dataset, column = rule.match.split(".", 1)
    opted = set(_ids(register[rule.register_column]).dropna())
    frame = inputs[dataset]
    hit = _ids(frame[column]).isin(opted).fillna(False).astype(bool)
    kept = dict(inputs)
    kept[dataset] = frame.loc[~hit].reset_index(drop=True)
    return kept, Exclusion(
        register=rule.register,
        version=register_version(register, register_primary_key),
        register_size=len(opted),
        matched_on=rule.match,
        excluded_rows=int(hit.sum()),
        excluded_people=int(_ids(frame.loc[hit, column]).nunique()),
    )


def check_opt_outs(
    flow: Flow,
    output: pd.DataFrame,
    register: pd.DataFrame,
    exclusion: Exclusion,
    primary_key: Sequence[str],
    pseudonymise: Pseudonymise | None,
    *,
    max_keys: int = 20,
) -> ControlResult:
    """Verify no output column holds an opted-out person's identifier or its keyed-hash pseudonym."""
    assert flow.opt_out is not None
    ids = _ids(register[flow.opt_out.register_column]).dropna()
    searched = set(ids)
    if pseudonymise is not None and len(ids):
        searched |= set(pseudonymise(ids).astype("string"))
    found = pd.Series(False, index=output.index)
    flagged: dict[str, pd.Series] = {}
    for col in output.columns:
        hit = _ids(output[col]).isin(searched).fillna(False).astype(bool)
        flagged[str(col)] = hit
        found |= hit
    count = int(found.sum())
    keys = row_keys(output, found, primary_key, flagged, max_keys)
    rule = (
        f"people in '{exclusion.register}' (version {exclusion.version}) are excluded from "
        f"'{flow.name}' by {exclusion.matched_on}"
    )
    findings = (
        (f"{count} output row(s) still hold an opted-out person's identifier or pseudonym",)
        if count
        else ()
    )
    return ControlResult(
        control=OPT_OUTS,
        passed=not count,
        rule=rule,
        summary=findings[0]
        if findings
        else f"{exclusion.excluded_rows} row(s) of {exclusion.excluded_people} opted-out "
        f"people excluded; none found in the output",
        findings=findings,
        counts={
            "register_version": exclusion.version,
            "register_size": exclusion.register_size,
            "excluded_rows": exclusion.excluded_rows,
            "excluded_people": exclusion.excluded_people,
            "opted_out_rows_in_output": count,
        },
        row_keys=keys,
    )


def unpublished_register(flow: Flow, version: str) -> ControlResult:
    """The ``opt_outs`` outcome when the register in use was not published by a passing gate."""
    assert flow.opt_out is not None
    return ControlResult(
        control=OPT_OUTS,
        passed=False,
        rule=f"the opt-out register '{flow.opt_out.register}' must be a version published by its "
        "passing gate and volume guard",
        summary=f"the register in use (version {version[:12]}) was not published through its "
        "gate: it may be short or empty; publish the register before the flows that use it",
        findings=("the opt-out register was not published by a passing gate",),
        counts={"register_version": version[:12]},
    )
