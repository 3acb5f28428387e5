"""Privacy controls as Dagster asset checks: what a steward sees when a flow is stopped.

Every dataset carries ``volume``; every flow output also ``agreement_in_force``, ``minimisation``
and ``pseudonymisation``;
``disclosure_control``, ``retention`` and ``opt_outs`` where the flow or its agreement declares
them. ERROR halts the flow and everything downstream (the data is not stored); WARN (an overdue
review) never does. A control not reached because an earlier one halted the flow is not reported,
so it shows as skipped. Metadata carries rules, counts, generalised group keys and primary keys,
never a value of a tagged column.
"""

from __future__ import annotations

import dagster as dg

from pipelines.estate import Estate
from pipelines.policy.result import (
    AGREEMENT_IN_FORCE,
    DISCLOSURE_CONTROL,
    MINIMISATION,
    OPT_OUTS,
    PSEUDONYMISATION,
    RETENTION,
    VOLUME,
    ControlResult,
)

DESCRIPTIONS: dict[str, str] = {
    VOLUME: "The dataset is not empty and has not lost more rows than its rule allows since the "
    "version it replaces (an opt-out register may lose only a small share); a person may "
    "acknowledge an expected change for one run.",
    AGREEMENT_IN_FORCE: "The flow's data-sharing agreement exists, names both departments, is in "
    "force on the reference date, is not overdue for review, permits the purpose and gives the "
    "Art. 9/10 condition for special-category or criminal data.",
    MINIMISATION: "Every output column is declared and permitted by the agreement's data items.",
    PSEUDONYMISATION: "No direct identifier leaves its department except as a keyed-hash "
    "pseudonym (unless the agreement permits identified sharing), and no output value equals or "
    "looks like an input identifier.",
    DISCLOSURE_CONTROL: "k-anonymity (and l-diversity) of a record-level extract, or safe "
    "primary and secondary suppression of a published table.",
    RETENTION: "Rows past the agreement's retention period are purged before storing; none "
    "remain and every row has a retention date.",
    OPT_OUTS: "People in the opt-out register are excluded and none remain in the output.",
}


def applicable(estate: Estate, dataset: str) -> tuple[str, ...]:
    """The controls ``dataset`` must pass: the volume guard, and for a flow's output its privacy
    controls."""
    flow = estate.producer(dataset)
    if flow is None:
        return (VOLUME,)
    names = [AGREEMENT_IN_FORCE, MINIMISATION, VOLUME, PSEUDONYMISATION]
    if flow.disclosure is not None:
        names.append(DISCLOSURE_CONTROL)
    agr = estate.agreements.get(flow.agreement)
    if agr is not None and agr.retention.date_column:
        names.append(RETENTION)
    if flow.opt_out is not None:
        names.append(OPT_OUTS)
    return tuple(names)


def control_specs(estate: Estate, dataset: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """One check spec per applicable control."""
    return [
        dg.AssetCheckSpec(name, asset=key, description=DESCRIPTIONS[name])
        for name in applicable(estate, dataset)
    ]


def check_result(result: ControlResult) -> dg.AssetCheckResult:
    """A control's outcome as a Dagster check result with steward metadata."""
    findings = "\n".join(f"- {f}" for f in result.findings) or "None."
    metadata: dict[str, dg.RawMetadataValue] = {
        "rule": result.rule,
        "evaluated": result.evaluated,
        "findings": dg.MetadataValue.md(findings),
        **{f"count/{k}": v for k, v in result.counts.items()},
    }
    if result.groups:
        metadata["failing_groups"] = dg.MetadataValue.json([dict(g) for g in result.groups])
    if result.row_keys:
        metadata["failing_row_keys"] = dg.MetadataValue.json([dict(k) for k in result.row_keys])
    return dg.AssetCheckResult(
        check_name=result.control,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR
        if result.severity == "error"
        else dg.AssetCheckSeverity.WARN,
        description=result.summary,
        metadata=metadata,
    )
