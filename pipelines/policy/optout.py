"""Opt-outs: people in a register are left out of every input of a flow, by every route, and
the output is searched for any trace of them.

The register's identifiers are normalised (:mod:`pipelines.policy.recognise`) and linked to the
person's other identifiers (:mod:`pipelines.policy.linkage`). Every transform input then loses
each row holding, in a declared identifier column, an identifier of an opted-out person, or, in a
pseudonym column, a keyed pseudonym of one (in any written form). The check afterwards searches
every output column for the same identifiers, whole, inside text or as an unkeyed digest, and for
their keyed pseudonyms, whole or truncated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.estate import Estate
from pipelines.model import Flow
from pipelines.policy.issued import Issued
from pipelines.policy.linkage import (
    People,
    Pseudonymise,
    Pseudonyms,
    display_forms,
    identifier_columns,
    long_ids,
    pseudonym_columns,
    written_forms,
)
from pipelines.policy.recognise import SCHEMES, search
from pipelines.policy.result import OPT_OUTS, ControlResult, keys_sha256, row_keys


def register_version(register: pd.DataFrame, primary_key: Sequence[str]) -> str:
    """A short content version of the register: SHA-256 of its sorted entry ids (not identifiers)."""
    return keys_sha256(register[list(primary_key)])[:16]


@dataclass(frozen=True)
class Route:
    """One input the register was applied to: the columns matched and the rows left out."""

    input: str
    columns: tuple[str, ...]
    excluded_rows: int


@dataclass(frozen=True)
class Exclusion:
    """What applying the register to a flow's inputs removed (counts and routes, no identifiers)."""

    register: str
    version: str
    register_size: int
    matched_on: str
    excluded_rows: int
    excluded_people: int
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class OptedOut:
    """The opted-out people's identifiers (every linked scheme) and keyed pseudonyms.

    Held in memory for one run only: never reported, logged or stored.
    """

    people: People
    pseudonyms: Pseudonyms


def opted_out(
    estate: Estate,
    flow: Flow,
    inputs: Mapping[str, pd.DataFrame],
    pseudonymise: Pseudonymise | None,
) -> OptedOut:
    """The people in ``flow``'s register, linked through the flow's inputs to every identifier."""
    rule = flow.opt_out
    assert rule is not None
    register = inputs[rule.register]
    declared = estate.datasets[rule.register].column(rule.register_column).identifier
    assert declared is not None, "the cross-checks require the register column's scheme"
    people = People.seed(register[rule.register_column], SCHEMES[declared])
    columns = {n: identifier_columns(estate.datasets[n], inputs[n]) for n in flow.inputs}
    people = people.link(long_ids(inputs[n], columns[n]) for n in flow.inputs)
    forms = [display_forms(people)]
    forms += [written_forms(inputs[n], columns[n], people) for n in flow.inputs]
    return OptedOut(people, Pseudonyms.of(pd.concat(forms, ignore_index=True), pseudonymise))


def exclude(
    estate: Estate,
    flow: Flow,
    inputs: Mapping[str, pd.DataFrame],
    register_primary_key: Sequence[str],
    pseudonymise: Pseudonymise | None,
) -> tuple[dict[str, pd.DataFrame], Exclusion, OptedOut]:
    """The inputs without any row of an opted-out person, what was left out, and who."""
    rule = flow.opt_out
    assert rule is not None
    opted = opted_out(estate, flow, inputs, pseudonymise)
    kept = dict(inputs)
    routes, people = [], set()
    for name in flow.transform_inputs:
        frame, ds = inputs[name], estate.datasets[name]
        ids = identifier_columns(ds, frame)
        owner = opted.people.matched(long_ids(frame, ids))
        hit = np.zeros(len(frame), dtype=bool)
        hit[owner.index.to_numpy(dtype=np.int64)] = True
        people.update(owner.tolist())
        pseudo = pseudonym_columns(ds, frame)
        for column in pseudo:
            found = opted.pseudonyms.find(frame[column])
            hit |= found >= 0
            people.update(found[found >= 0].tolist())
        if ids or pseudo:
            routes.append(Route(name, (*(c for c, _ in ids), *pseudo), int(hit.sum())))
        kept[name] = frame.loc[~hit].reset_index(drop=True)
    exclusion = Exclusion(
        register=rule.register,
        version=register_version(inputs[rule.register], register_primary_key),
        register_size=opted.people.count,
        matched_on=", ".join(f"{r.input}.{c}" for r in routes for c in r.columns),
        excluded_rows=sum(r.excluded_rows for r in routes),
        excluded_people=len(people),
        routes=tuple(routes),
    )
    return kept, exclusion, opted


def check_opt_outs(
    flow: Flow,
    output: pd.DataFrame,
    opted: OptedOut,
    exclusion: Exclusion,
    primary_key: Sequence[str],
    *,
    issued: Issued | None = None,
    max_keys: int = 20,
) -> ControlResult:
    """Verify no output column holds an opted-out person's identifier (in any form, inside text or
    as an unkeyed digest) or a keyed pseudonym of one. Values in ``issued`` (this run's keyed
    pseudonyms) are only compared with the opted-out people's pseudonyms."""
    found = pd.Series(False, index=output.index)
    flagged: dict[str, pd.Series] = {}
    known = opted.people.known
    for col in output.columns:
        values = output[col]
        hit = search(values, known, issued=issued).any
        hit = hit | (opted.pseudonyms.find(values, issued) >= 0)
        if hit.any():
            flagged[str(col)] = pd.Series(hit, index=output.index)
            found |= flagged[str(col)]
    count = int(found.sum())
    keys = row_keys(output, found, primary_key, flagged, max_keys)
    rule = (
        f"people in '{exclusion.register}' (version {exclusion.version}) are excluded from "
        f"'{flow.name}' wherever the estate can link them: {exclusion.matched_on or 'no route'}"
    )
    columns = sorted(flagged)
    findings = (
        (
            f"{count} output row(s) still hold an opted-out person's identifier or pseudonym "
            f"(column(s) {', '.join(columns)})",
        )
        if count
        else ()
    )
    per_input = {f"{r.input}.excluded_rows": r.excluded_rows for r in exclusion.routes}
    return ControlResult(
        control=OPT_OUTS,
        passed=not count,
        rule=rule,
        summary=findings[0]
        if findings
        else f"{exclusion.excluded_rows} row(s) of {exclusion.excluded_people} opted-out "
        f"people excluded from {len(exclusion.routes)} input(s); none found in the output",
        findings=findings,
        counts={
            "register_version": exclusion.version,
            "register_size": exclusion.register_size,
            "excluded_rows": exclusion.excluded_rows,
            "excluded_people": exclusion.excluded_people,
            **per_input,
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
