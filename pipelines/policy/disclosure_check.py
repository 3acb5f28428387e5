"""Disclosure control as a flow check: k-anonymity (and l-diversity) or safe small-cell suppression."""

from __future__ import annotations

import pandas as pd

from pipelines.model import Agreement, Disclosure, Flow, KAnonymityRule, SmallCellRule
from pipelines.policy.disclosure import audit_suppression, k_anonymity, l_diversity
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
    people = output.drop_duplicates([*qis, rule.unit]) if rule.unit else output
    kres = k_anonymity(people, qis, k, max_groups=MAX_GROUPS)
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
    if rule.sensitive and rule.l_diversity:
        lres = l_diversity(output, qis, rule.sensitive, rule.l_diversity, max_groups=MAX_GROUPS)
        counts |= {
            "l": rule.l_diversity,
            "smallest_l": lres.min_l,
            "classes_below_l": lres.classes_below,
        }
        rule_text += (
            f"; l-diversity: at least {rule.l_diversity} distinct {rule.sensitive} a combination"
        )
        if not lres.passed:
            findings.append(
                f"{lres.classes_below} combination(s) hold fewer than {rule.l_diversity} distinct "
                f"{rule.sensitive} values (smallest: {lres.min_l})"
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
    audit = audit_suppression(
        output,
        list(rule.dimensions),
        threshold,
        count_column=rule.count,
        suppressed_column=rule.suppressed,
        max_groups=MAX_GROUPS,
    )
    findings: list[str] = []
    if audit.unsafe_cells:
        findings.append(f"{audit.unsafe_cells} published cell(s) rest on fewer than {threshold}")
    if audit.recoverable_cells:
        findings.append(
            f"{audit.recoverable_cells} suppressed cell(s) can be recovered from a published total"
        )
    return ControlResult(
        control=DISCLOSURE_CONTROL,
        passed=audit.passed,
        rule=f"small cells: no published count below {threshold} over "
        f"{', '.join(rule.dimensions)}, and no suppressed count recoverable from the totals",
        summary="; ".join(findings)
        if findings
        else f"{audit.suppressed} of {audit.cells} cells suppressed; none recoverable",
        findings=tuple(findings),
        counts={
            "threshold": threshold,
            "cells": audit.cells,
            "suppressed_cells": audit.suppressed,
            "unsafe_cells": audit.unsafe_cells,
            "recoverable_cells": audit.recoverable_cells,
        },
        groups=audit.failing_groups,
    )
