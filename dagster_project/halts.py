"""What a halt leaves for stewards: why the dataset was held back and what did not run because of it.

A held-back dataset's step succeeds without storing anything, so the run does not fail and the
checks of datasets downstream (never executed) resolve to *skipped*, not *execution failed*. Each
of those datasets gets an observation saying it was not run and why: which upstream dataset was
held back, by which checks, in which run. The run is tagged so halted runs can be found; a
held-back period of a partitioned dataset also gets an observation on that period, and the run
the tag ``tagtrail/held_back_period``.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from dagster_project.gate import summary
from dagster_project.metadata import asset_key
from expectations import GateResult
from pipelines.estate import Estate
from pipelines.policy.result import ControlResult

HELD_BACK_TAG = "tagtrail/held_back"
NOT_RUN = "tagtrail/not_run_because"
HELD_BACK_PERIOD_TAG = "tagtrail/held_back_period"


def halting_checks(gate: GateResult | None, halting: Sequence[ControlResult]) -> list[str]:
    """The names of the checks that held the data back, controls first."""
    names = [r.control for r in halting]
    if gate is not None and not gate.passed:
        names.append("quality_gate")
    return names


def halt_message(name: str, gate: GateResult | None, halting: Sequence[ControlResult]) -> str:
    """Why the dataset was held back: the failed controls, then the failed gate."""
    parts = [f"{r.control} failed: {r.summary}" for r in halting]
    if gate is not None and not gate.passed:
        parts.append(summary(gate))
    return "; ".join(parts) or f"{name} was not produced"


def report_halt(
    context: dg.AssetExecutionContext, estate: Estate, name: str, checks: Sequence[str]
) -> None:
    """Tag the run and tell every dataset downstream in this run that it was not run, and why."""
    key = asset_key(estate, name)
    where = "/".join(key.path)
    tags = {HELD_BACK_TAG: "yes", f"{HELD_BACK_TAG}/{where}": ",".join(checks)}
    if context.has_partition_key:
        tags[HELD_BACK_PERIOD_TAG] = context.partition_key
        _report_period(context, key, context.partition_key, checks)
    context.instance.add_run_tags(context.run.run_id, tags)
    in_run = context.run.asset_selection or None  # empty or None: the whole job
    reason = (
        f"Not run: upstream dataset {where} was held back by {', '.join(checks)} "
        f"in run {context.run.run_id}."
    )
    for downstream in sorted(estate.downstream(name)):
        target = asset_key(estate, downstream)
        if in_run is not None and target not in in_run:
            continue
        context.log_event(
            dg.AssetObservation(
                asset_key=target,
                description=reason,
                metadata={
                    NOT_RUN: reason,
                    "tagtrail/held_back_upstream": where,
                    "tagtrail/halting_checks": ", ".join(checks),
                    "tagtrail/run": dg.MetadataValue.dagster_run(context.run.run_id),
                },
            )
        )


def _report_period(
    context: dg.AssetExecutionContext, key: dg.AssetKey, period: str, checks: Sequence[str]
) -> None:
    """An observation on the held-back period itself: its previous version stays published."""
    reason = (
        f"Period {period} held back by {', '.join(checks)} in run {context.run.run_id}; "
        "its previously published version, if any, stays."
    )
    context.log_event(
        dg.AssetObservation(
            asset_key=key,
            partition=period,
            description=reason,
            metadata={
                HELD_BACK_PERIOD_TAG: period,
                "tagtrail/halting_checks": ", ".join(checks),
                "tagtrail/run": dg.MetadataValue.dagster_run(context.run.run_id),
            },
        )
    )
