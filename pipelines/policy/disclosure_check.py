"""Disclosure control as a flow check: k-anonymity (and l-diversity) or safe small-cell suppression."""

from __future__ import annotations

from math import isinf

import pandas as pd

from pipelines.model import Agreement, Disclosure, Flow, KAnonymityRule, SmallCellRule
from pipelines.policy.disclosure import (
    KAnonymity,
    LDiversity,
    SuppressionAudit,
    audit_suppression,
    k_anonymity,
    l_diversity,
)
from pipelines.policy.result import DISCLOSURE_CONTROL, ControlResult

MAX_GROUPS = 20


def check_disclosure(
    flow: Flow, agreement: Agreement | None, output: pd.DataFrame
) -> ControlResult:
    """Check ``output`` against the flow's declared disclosure rule and the agreement's thresholds.

    Failing groups are reported by their generalised keys (the values a reader of the output sees
    anyway), never by the people in them.
    """
    assert flow.disclosure is not None, "check_disclosure needs a flow with a disclosure rule"
    limits = agreement.disclosure if agreement else Disclosure()
    if flow.disclosure.k_anonymity is not None:
        return _k_anonymity(flow.disclosure.k_anonymity, limits.k_anonymity, output)
    assert flow.disclosure.small_cells is not None
    return _small_cells(flow.disclosure.small_cells, limits.min_cell_count, output)


def _k_anonymity(rule: KAnonymityRule, k: int, output: pd.DataFrame) -> ControlResult:
    qis = list(rule.quasi_identifiers)
    kres = k_anonymity(output, qis, k, unit=rule.unit, max_groups=MAX_GROUPS)
    lres = (
        l_diversity(
            output, qis, rule.sensitive, rule.l_diversity, unit=rule.unit, max_groups=MAX_GROUPS
        )
        if rule.sensitive and rule.l_diversity
        else None
    )
    return k_anonymity_result(rule, k, kres, lres)


def k_anonymity_result(
    rule: KAnonymityRule, k: int, kres: KAnonymity, lres: LDiversity | None
) -> ControlResult:
    """The disclosure control's verdict on a k-anonymity rule from its measures (``lres`` when
    the rule asks for l-diversity), however they were taken (pandas or SQL)."""
    qis = list(rule.quasi_identifiers)
    findings: list[str] = []
    counts: dict[str, int | str] = {
        "k": k,
        "smallest_k": kres.min_k,
        "classes": kres.classes,
        "classes_below_k": kres.classes_below,
        "people_in_classes_below_k" if rule.unit else "rows_in_classes_below_k": kres.rows_below,
    }
    groups = list(kres.failing_groups)
    if not kres.passed:
        findings.append(
            f"{kres.classes_below} combination(s) of {', '.join(qis)} cover fewer than {k} "
            f"{'people' if rule.unit else 'rows'} (smallest: {kres.min_k})"
        )
    rule_text = f"k-anonymity: every combination of {', '.join(qis)} covers at least {k} " + (
        "people" if rule.unit else "rows"
    )
    if lres is not None and rule.sensitive and rule.l_diversity:
        l, sensitive = rule.l_diversity, rule.sensitive  # noqa: E741
        counts |= {
            "l": l,
            "smallest_l": lres.min_l,
            "classes_below_l": lres.classes_below,
            "classes_with_shared_value": lres.classes_shared,
        }
        rule_text += (
            f"; l-diversity: at least {l} distinct {sensitive} a combination, and none held by "
            f"every {'person' if rule.unit else 'row'} of it"
        )
        if lres.classes_under_l:
            findings.append(
                f"{lres.classes_under_l} combination(s) hold fewer than {l} distinct "
                f"{sensitive} values (smallest: {lres.min_l})"
            )
        if lres.classes_below > lres.classes_under_l:
            findings.append(
                f"{lres.classes_below - lres.classes_under_l} combination(s) with {l} or more "
                f"distinct values still have a {sensitive} value held by every "
                f"{'person' if rule.unit else 'row'} in them"
            )
        groups += [g | {"failed": "l-diversity"} for g in lres.failing_groups]
    return ControlResult(
        control=DISCLOSURE_CONTROL,
        passed=not findings,
        rule=rule_text,
        summary="; ".join(findings)
        if findings
        else f"smallest k is {kres.min_k} over {kres.classes} combinations",
        findings=tuple(findings),
        counts=counts,
        groups=tuple(groups[:MAX_GROUPS]),
    )


def _small_cells(rule: SmallCellRule, threshold: int, output: pd.DataFrame) -> ControlResult:
    """Audit the table as exact sums, the strictest reading its published counts allow.

    If the published counts break exact sums (distinct people counted once in a total), audit
    them as distinct units instead: each line sums to at least its total, no entry above it.
    """

    def audit(additive: bool) -> SuppressionAudit:
        return audit_suppression(
            output,
            list(rule.dimensions),
            threshold,
            count_column=rule.count,
            suppressed_column=rule.suppressed,
            additive=additive,
            max_groups=MAX_GROUPS,
        )

    result = audit(additive=True)
    if not result.consistent:
        result = audit(additive=False)
    width, narrowest = result.protection, _width(result.narrowest)
    findings: list[str] = []
    if not result.consistent:
        findings.append(
            "the published counts break the relations between cells and totals (a cell above its "
            "total, or a line below it), so no suppressed cell can be shown protected"
        )
    if result.unsafe_cells:
        findings.append(f"{result.unsafe_cells} published cell(s) rest on fewer than {threshold}")
    if result.recoverable_cells:
        findings.append(
            f"{result.recoverable_cells} suppressed cell(s) can be narrowed from the published "
            f"counts to a range under {width} (narrowest: {narrowest})"
        )
    relations = "exact sums" if result.additive else "distinct units"
    return ControlResult(
        control=DISCLOSURE_CONTROL,
        passed=result.passed,
        rule=f"small cells: no published count below {threshold} over "
        f"{', '.join(rule.dimensions)}, and no suppressed count narrowed to a range under {width} "
        f"by the published counts and totals (lines as {relations})",
        summary="; ".join(findings)
        if findings
        else f"{result.suppressed} of {result.cells} cells suppressed ({result.primary} primary, "
        f"{result.secondary} secondary); narrowest range {narrowest}",
        findings=tuple(findings),
        counts={
            "threshold": threshold,
            "protection_width": width,
            "line_relations": relations,
            "cells": result.cells,
            "suppressed_cells": result.suppressed,
            "primary_cells": result.primary,
            "secondary_cells": result.secondary,
            "unsafe_cells": result.unsafe_cells,
            "recoverable_cells": result.recoverable_cells,
            "narrowest_interval": narrowest,
        },
        groups=result.failing_groups,
    )


def _width(width: float | None) -> int | str:
    if width is None:
        return "none suppressed"
    return "unbounded" if isinf(width) else int(width)
