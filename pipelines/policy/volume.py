"""Volume guards: a delivery that is empty, or much smaller than the version it replaces, halts.

A truncated extract or an opt-out register delivered with only its header row passes every
expectation about its values; only its size betrays it. Every dataset's new row count is
compared with its previous published version: by default an empty dataset halts, and so does a
drop of more than half its rows. An opt-out register is never allowed to be empty and may shrink
by only a small share (policy ``register_max_drop``, default 5%), because a short register lets
opted-out people through. A person may acknowledge an expected big change for one run; the
control then warns instead of halting, and the acknowledgement stays in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.estate import Estate
from pipelines.policy.result import VOLUME, ControlResult


@dataclass(frozen=True)
class Limits:
    """The volume rule in force for one dataset."""

    allow_empty: bool
    max_drop: float
    register: bool


def limits(estate: Estate, dataset: str) -> Limits:
    """The dataset's own volume rule, with the estate policy's defaults for what it leaves out."""
    declared = estate.datasets[dataset].volume
    register = any(f.opt_out and f.opt_out.register == dataset for f in estate.flows.values())
    policy = estate.manifest.policy if estate.manifest else None
    default_drop = (
        (policy.register_max_drop if register else policy.max_drop)
        if policy
        else (0.05 if register else 0.5)
    )
    return Limits(
        allow_empty=bool(declared.allow_empty) and not register,
        max_drop=declared.max_drop if declared.max_drop is not None else default_drop,
        register=register,
    )


def check_volume(
    estate: Estate,
    dataset: str,
    rows: int,
    previous: int | None,
    acknowledged_by: str | None = None,
) -> ControlResult:
    """Judge ``rows`` against the previous published version's ``previous`` rows (None: none)."""
    rule = limits(estate, dataset)
    what = "an opt-out register" if rule.register else "a dataset"
    text = (
        f"{what} is {'allowed' if rule.allow_empty else 'never'} empty and may lose at most "
        f"{rule.max_drop:.0%} of its rows from one published version to the next"
    )
    counts: dict[str, int | str] = {"rows": rows}
    findings: list[str] = []
    if rows == 0 and not rule.allow_empty:
        findings.append(f"{dataset} holds no rows")
    if previous:
        counts["previous_rows"] = previous
        drop = (previous - rows) / previous
        counts["drop_percent"] = f"{max(drop, 0):.1%}"
        if drop > rule.max_drop and rows > 0:
            findings.append(
                f"{dataset} has {rows:,} rows, {drop:.1%} fewer than the {previous:,} it replaces "
                f"(at most {rule.max_drop:.0%} allowed)"
            )
    if not findings:
        summary = f"{rows:,} rows" + (f" (previously {previous:,})" if previous else "")
        return ControlResult(VOLUME, True, text, summary, counts=counts)
    if acknowledged_by:
        counts["acknowledged_by"] = acknowledged_by
        return ControlResult(
            VOLUME,
            False,
            text,
            "; ".join(findings) + f"; acknowledged for this run by {acknowledged_by}",
            severity="warn",
            findings=(*findings, f"acknowledged by {acknowledged_by}"),
            counts=counts,
        )
    return ControlResult(
        VOLUME,
        False,
        text,
        "; ".join(findings)
        + f". If the change is expected, run again with --acknowledge {dataset}",
        findings=tuple(findings),
        counts=counts,
    )
