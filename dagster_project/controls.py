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
from pipelines.policy.applicable import DESCRIPTIONS as DESCRIPTIONS
from pipelines.policy.applicable import applicable as applicable
from pipelines.policy.result import ControlResult


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
