"""Policy floors: the least protection the estate's manifest lets any declaration give.

``policy.floors`` in ``estate.yaml`` bounds disclosure thresholds, retention periods, and which
recipients' flows must apply opt-outs or a disclosure rule. A declaration below a floor is a
declaration error naming the file, line and field, the floor and where it is set.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pipelines.manifest import MANIFEST, Floors
from pipelines.model import Flow
from pipelines.policy.retention import cutoff
from pipelines.yamlfile import SourceFile

if TYPE_CHECKING:
    from pipelines.crosscheck_controls import ControlChecks, Loc

_REFERENCE = dt.date(2000, 1, 1)


def span_days(period: str) -> int:
    """How many days an ISO 8601 ``period`` reaches back (months and years as the calendar has them)."""
    return (_REFERENCE - cutoff(period, _REFERENCE)).days


def check_floors(checks: ControlChecks, manifest: SourceFile) -> None:
    """Every declaration of the estate at or above the manifest's ``policy.floors``."""
    estate = checks.e
    if estate.manifest is None:
        return
    floors = estate.manifest.policy.floors
    _check_manifest(checks, manifest, floors)
    for agr in estate.agreements.values():
        src = estate.declared_in[f"agreement:{agr.id}"].file
        idx = checks._agreement_index(src, agr.id)
        raw = src.data["agreements"][idx].get("disclosure") or {}
        for field in ("k_anonymity", "min_cell_count"):
            if field in raw:
                _at_least(
                    checks, src, ("agreements", idx, "disclosure", field), field, raw[field], floors
                )
        _retention(checks, src, ("agreements", idx, "retention", "period"), agr.retention.period)
    for name, ds in estate.datasets.items():
        if ds.retention is not None:
            declared = estate.declared_in[f"dataset:{name}"]
            loc = (*declared.loc, "retention", "period")
            _retention(checks, declared.file, loc, ds.retention.period)
    for flow in estate.flows.values():
        _check_flow(checks, estate.declared_in[f"flow:{flow.name}"].file, flow, floors)


def _check_manifest(checks: ControlChecks, src: SourceFile, floors: Floors) -> None:
    for field in ("opt_out_required_for", "disclosure_required_for"):
        for i, dept in enumerate(getattr(floors, field)):
            if dept not in checks.e.departments:
                known = ", ".join(sorted(checks.e.departments)) or "none declared"
                checks.fail(
                    src,
                    ("policy", "floors", field, i),
                    f"unknown department '{dept}'; declared departments: {known}",
                )
    shortest, longest = floors.retention_shortest, floors.retention_longest
    if shortest and longest and span_days(shortest) > span_days(longest):
        checks.fail(
            src,
            ("policy", "floors", "retention_shortest"),
            f"retention_shortest {shortest} is longer than retention_longest {longest}",
        )
    defaults = checks.e.manifest.policy.disclosure if checks.e.manifest else None
    raw = ((src.data or {}).get("policy") or {}).get("disclosure") or {}
    for field in ("k_anonymity", "min_cell_count"):
        if defaults is not None and field in raw:
            value = getattr(defaults, field)
            _at_least(checks, src, ("policy", "disclosure", field), field, value, floors)


def _at_least(
    checks: ControlChecks, src: SourceFile, loc: Loc, field: str, value: int, floors: Floors
) -> None:
    floor: int | None = getattr(floors, field)
    if floor is not None and value < floor:
        checks.fail(
            src,
            loc,
            f"{field} {value} is below the estate's floor of {floor} (policy.floors.{field} in "
            f"{MANIFEST}); raise it to {floor} or more",
        )


def _retention(checks: ControlChecks, src: SourceFile, loc: Loc, period: str) -> None:
    if checks.e.manifest is None:
        return
    floors = checks.e.manifest.policy.floors
    days = span_days(period)
    if floors.retention_shortest and days < span_days(floors.retention_shortest):
        checks.fail(
            src,
            loc,
            f"retention {period} is shorter than the estate's floor of "
            f"{floors.retention_shortest} (policy.floors.retention_shortest in {MANIFEST})",
        )
    if floors.retention_longest and days > span_days(floors.retention_longest):
        checks.fail(
            src,
            loc,
            f"retention {period} is longer than the estate allows, "
            f"{floors.retention_longest} (policy.floors.retention_longest in {MANIFEST})",
        )


def _check_flow(checks: ControlChecks, src: SourceFile, flow: Flow, floors: Floors) -> None:
    where = f"policy.floors.%s in {MANIFEST} lists '{flow.recipient}'"
    if flow.recipient in floors.opt_out_required_for and flow.opt_out is None:
        checks.fail(
            src,
            ("recipient",),
            f"a flow to '{flow.recipient}' must leave out people who opted out "
            f"({where % 'opt_out_required_for'}); add opt_out: {{register: <register dataset>, "
            "register_column: <its identifier column>}",
        )
    if flow.recipient in floors.disclosure_required_for and flow.disclosure is None:
        checks.fail(
            src,
            ("recipient",),
            f"a flow to '{flow.recipient}' must declare a disclosure rule "
            f"({where % 'disclosure_required_for'}); add disclosure: {{k_anonymity: ...}} for "
            "records or disclosure: {small_cells: ...} for tables",
        )
    rule = flow.disclosure.k_anonymity if flow.disclosure else None
    if rule is not None and rule.l_diversity is not None:
        loc = ("disclosure", "k_anonymity", "l_diversity")
        _at_least(checks, src, loc, "l_diversity", rule.l_diversity, floors)
