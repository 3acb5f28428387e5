"""What a run did to each dataset, for the terminal: published, held back, not run or error.

A dataset is *held back* when one of its checks failed at ERROR severity (nothing was stored),
*not run* when an upstream dataset was held back or failed, and *error* when its step failed.
Checks a held-back dataset never reached are *not run*.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dagster as dg

from dagster_project.controls import applicable
from dagster_project.gate import GATE_CHECK, WARN_CHECK
from dagster_project.metadata import asset_key, dataset_tags
from pipelines.estate import Estate

if TYPE_CHECKING:
    from dagster_project.run import RunReport


@dataclass
class DatasetOutcome:
    """What happened to one dataset in a run."""

    dataset: str
    department: str
    flow: str | None
    status: str
    rows_in: int | None = None
    rows_out: int | None = None
    checks: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    reason: str | None = None
    period: str | None = None


def summarise(
    result: dg.ExecuteInProcessResult | dg.JobExecutionResult,
    estate: Estate,
    datasets: Sequence[str],
    unfinished: Collection[str] = (),
) -> list[DatasetOutcome]:
    """Per dataset run: published, held back, not run or error; rows; checks; privacy tags.

    ``unfinished`` names steps that started and never ended: their process died without saying
    so (a killed worker), and their datasets are errors, not "not run".
    """
    materialized = {
        e.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None
    }
    checks: dict[dg.AssetKey, dict[str, str]] = {}
    for ev in result.get_asset_check_evaluations():
        label = (
            "passed"
            if ev.passed
            else ("failed" if ev.severity == dg.AssetCheckSeverity.ERROR else "warned")
        )
        checks.setdefault(ev.asset_key, {})[ev.check_name] = label
    errored = {e.step_key for e in result.get_step_failure_events()} | set(unfinished)
    status: dict[str, str] = {}
    out = []
    for name in datasets:
        key = asset_key(estate, name)
        meta = materialized.get(key)
        flow = estate.producer(name)
        seen = checks.get(key, {})
        status[name] = (
            "published"
            if meta
            else "held back"
            if "failed" in seen.values()
            else "error"
            if "__".join(key.path) in errored
            else "not run"
        )
        if status[name] == "held back":
            names = [*applicable(estate, name), GATE_CHECK, WARN_CHECK]
            seen = {n: seen.get(n, "not run") for n in names}
        out.append(
            DatasetOutcome(
                dataset=name,
                department=estate.dataset_owner[name],
                flow=flow.name if flow else None,
                status=status[name],
                rows_in=_int(meta, "tagtrail/rows_in"),
                rows_out=_int(meta, "dagster/row_count"),
                checks=seen,
                tags=tuple(sorted(dataset_tags(estate.datasets[name]))),
                reason=_not_run_because(estate, name, status)
                if status[name] == "not run"
                else None,
            )
        )
    return out


def _not_run_because(estate: Estate, name: str, status: Mapping[str, str]) -> str | None:
    """The upstream datasets of this run that were held back or failed, nearest first."""
    stops = upstream_stops(estate, name, status)
    return "upstream " + ", ".join(f"{d} ({s})" for d, s in stops) if stops else None


def upstream_stops(estate: Estate, name: str, status: Mapping[str, str]) -> list[tuple[str, str]]:
    """(dataset, status) of the nearest upstream datasets of this run that were held back or
    failed, which kept ``name`` from running."""
    flow = estate.producer(name)
    if flow is None:
        return []
    stopped = [d for d in flow.inputs if status.get(d) in ("held back", "error", "not run")]
    direct = [(d, status[d]) for d in stopped if status[d] != "not run"]
    if direct:
        return direct
    for upstream in stopped:
        if found := upstream_stops(estate, upstream, status):
            return found
    return []


def _int(meta: Mapping[str, dg.MetadataValue] | None, label: str) -> int | None:
    value = meta.get(label) if meta else None
    return int(value.value) if value is not None else None  # type: ignore[arg-type]


def render(report: RunReport, title: str = "tagtrail run") -> str:
    """A readable summary for the terminal."""
    lines = [f"{title} {report.run_id}: {'succeeded' if report.success else 'HALTED'}", ""]
    header = (
        f"{'dataset':<29} {'department':<17} {'status':<10} {'rows in':>8} {'rows out':>8}  checks"
    )
    lines += [header, "-" * len(header)]
    for o in report.outcomes:
        gate = o.checks.get(GATE_CHECK, "-")
        warn = o.checks.get(WARN_CHECK, "-")
        name = f"{o.dataset}[{o.period}]" if o.period else o.dataset
        lines.append(
            f"{name:<29} {o.department:<17} {o.status:<10} {_n(o.rows_in):>8} {_n(o.rows_out):>8}  "
            f"gate {gate}, warnings {warn}{_controls(o)}"
        )
        if o.reason:
            lines.append(f"{'':<29} not run: {o.reason}")
        lines.append(f"{'':<29} tags: {', '.join(o.tags) or 'none'}")
    values = [v for o in report.outcomes for v in o.checks.values()]
    not_run = values.count("not run")
    lines += [
        "",
        f"checks: {values.count('passed')} passed, {values.count('warned')} warned, "
        f"{values.count('failed')} failed"
        + (f", {not_run} not run (the dataset was already held back)" if not_run else ""),
        f"Dagster runs are in {report.runs_stored or report.dagster_home}; `make ui` opens "
        "them on http://127.0.0.1:3000",
    ]
    held = [
        f"{o.dataset}[{o.period}]" for o in report.outcomes if o.period and o.status == "held back"
    ]
    if held:
        lines.append(f"periods held back (their previous versions stay): {', '.join(held)}")
    if len(report.run_ids) > 1:
        lines.append(
            f"{len(report.run_ids)} Dagster runs, one a period: {', '.join(report.run_ids)}"
        )
    if report.distributed:
        workers = len(set(report.step_pids.values()))
        lines.append(f"steps: {len(report.step_pids)} ran in {workers} Celery worker processes")
    if report.delivery is not None:
        lines.append(f"OpenLineage: {report.delivery.summary()}")
        if report.delivery.pending:
            lines.append("  they wait in the lineage store: `tagtrail events send` sends them")
    return "\n".join(lines)


def _controls(o: DatasetOutcome) -> str:
    labels = {k: v for k, v in o.checks.items() if k not in (GATE_CHECK, WARN_CHECK)}
    if not labels:
        return ""
    failed = [k for k, v in labels.items() if v == "failed"]
    warned = [k for k, v in labels.items() if v == "warned"]
    if failed:
        return f", controls HALTED by {', '.join(failed)}"
    if warned:
        return f", controls {len(labels) - len(warned)}/{len(labels)} passed, warned: {', '.join(warned)}"
    return f", controls {len(labels)}/{len(labels)} passed"


def _n(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"
