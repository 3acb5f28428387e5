"""Minimisation: a flow's output holds only the data items its agreement permits."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.estate import Estate
from pipelines.model import Flow
from pipelines.policy.result import MINIMISATION, ControlResult


def check_minimisation(estate: Estate, flow: Flow, columns: Sequence[str]) -> ControlResult:
    """Every column the transform produced must be declared and permitted by the agreement.

    ``columns`` are the column names of the transform's output before anything is stored; an
    undeclared column or one outside the agreement's ``data_items`` halts the flow.
    """
    declared = set(estate.datasets[flow.output].column_names)
    agr = estate.agreements.get(flow.agreement)
    permitted = set(agr.data_items.get(flow.output, ())) if agr else set()
    names = [str(c) for c in columns]
    undeclared = [c for c in names if c not in declared]
    unpermitted = [c for c in names if c in declared and c not in permitted]
    findings: list[str] = []
    if undeclared:
        findings.append(
            f"undeclared column(s) {', '.join(undeclared)}: not in the declaration of '{flow.output}'"
        )
    if unpermitted:
        where = f"{flow.agreement} data_items for '{flow.output}'"
        findings.append(f"column(s) {', '.join(unpermitted)} not permitted by {where}")
    rule = (
        f"every column of '{flow.output}' must be declared and listed in {flow.agreement} "
        f"data_items ({len(permitted)} permitted)"
    )
    return ControlResult(
        control=MINIMISATION,
        passed=not findings,
        rule=rule,
        summary="; ".join(findings)
        if findings
        else f"all {len(names)} columns are declared and permitted",
        findings=tuple(findings),
        counts={
            "columns": len(names),
            "undeclared": len(undeclared),
            "unpermitted": len(unpermitted),
            "permitted": len(permitted),
        },
    )
