"""``tagtrail demo``: generate the synthetic estate, run every flow in-process, summarise."""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
from dagster_project.gate import GATE_CHECK, WARN_CHECK
from dagster_project.lineage import LineageResource
from dagster_project.metadata import asset_key, dataset_tags
from dagster_project.resources import DatasetIOManager, TagtrailSettings, ensure_demo_key
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.defects import inject
from pipelines.demo.generate import generate
from pipelines.demo.policy_defects import POLICY_DEFECTS
from pipelines.estate import Estate, load_estate

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


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


@dataclass
class DemoReport:
    run_id: str
    success: bool
    outcomes: list[DatasetOutcome]
    injected: list[str]
    dagster_home: Path


def dagster_home(home: Path) -> Path:
    """The Dagster instance folder under ``home``, created with telemetry off."""
    path = home / "dagster"
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "dagster.yaml").exists():
        (path / "dagster.yaml").write_text(DAGSTER_YAML)
    return path


def run_demo(
    home: Path,
    *,
    people: int = 10_000,
    seed: int = 2026,
    defect: str | None = None,
    as_of: dt.date | None = None,
    estate: Estate | None = None,
    lineage_url: str | None = None,
    regenerate: bool = True,
    launched_by: str | None = None,
) -> DemoReport:
    """Generate sources under ``home``, optionally inject ``defect``, and run the ``all_flows`` job.

    ``regenerate=False`` reruns on the extracts already there (to see a changed opt-out register
    or a later ``as_of`` at work); ``launched_by`` defaults to the OS user.
    """
    home = home.resolve()
    as_of = as_of or dt.date.today()
    if regenerate:
        generate(home, people=people, seed=seed, reference_date=as_of)
    injected: list[str] = []
    if defect in POLICY_DEFECTS:
        estate = load_estate(POLICY_DEFECTS[defect].estate_copy(DEMO_ESTATE, home))
    elif defect:
        injected = inject(home, defect, seed)
    estate = estate or load_estate(DEMO_ESTATE)
    ensure_demo_key(home)
    defs = build_definitions(
        estate,
        resources={
            "settings": TagtrailSettings(home=str(home), as_of=as_of.isoformat()),
            "io_manager": DatasetIOManager(home=str(home)),
            "lineage": LineageResource(home=str(home), url=lineage_url),
        },
    )
    instance_dir = dagster_home(home)
    with dg.DagsterInstance.from_config(str(instance_dir)) as instance:
        result = defs.resolve_job_def(ALL_FLOWS_JOB).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            tags={
                "tagtrail/launched_by": launched_by or getpass.getuser(),
                **({"tagtrail/defect": defect} if defect else {}),
            },
        )
    return DemoReport(
        result.run_id, result.success, summarise(result, estate), injected, instance_dir
    )


def summarise(result: dg.ExecuteInProcessResult, estate: Estate) -> list[DatasetOutcome]:
    """Per dataset: materialized, held back or skipped; rows; check outcomes; privacy tags."""
    materialized = {
        e.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None
    }
    checks: dict[dg.AssetKey, dict[str, str]] = {}
    for ev in result.get_asset_check_evaluations():
        evaluated = ev.metadata.get("evaluated")
        label = (
            "passed"
            if ev.passed
            else "not run"
            if evaluated is not None and evaluated.value is False
            else ("failed" if ev.severity == dg.AssetCheckSeverity.ERROR else "warned")
        )
        checks.setdefault(ev.asset_key, {})[ev.check_name] = label
    errored = {e.step_key for e in result.get_step_failure_events()}
    out = []
    for name in estate.topological_datasets():
        key = asset_key(estate, name)
        meta = materialized.get(key)
        flow = estate.producer(name)
        status = (
            "published"
            if meta
            else "held back"
            if "failed" in checks.get(key, {}).values()
            else "error"
            if "__".join(key.path) in errored
            else "skipped"
        )
        out.append(
            DatasetOutcome(
                dataset=name,
                department=estate.dataset_owner[name],
                flow=flow.name if flow else None,
                status=status,
                rows_in=_int(meta, "tagtrail/rows_in"),
                rows_out=_int(meta, "dagster/row_count"),
                checks=checks.get(key, {}),
                tags=tuple(sorted(dataset_tags(estate.datasets[name]))),
            )
        )
    return out


def _int(meta: dict[str, dg.MetadataValue] | None, label: str) -> int | None:
    value = meta.get(label) if meta else None
    return int(value.value) if value is not None else None  # type: ignore[arg-type]


def render(report: DemoReport) -> str:
    """A readable summary for the terminal."""
    lines = [
        f"tagtrail demo run {report.run_id}: {'succeeded' if report.success else 'HALTED'}",
        "",
    ]
    header = (
        f"{'dataset':<29} {'department':<17} {'status':<10} {'rows in':>8} {'rows out':>8}  checks"
    )
    lines += [header, "-" * len(header)]
    for o in report.outcomes:
        gate = o.checks.get(GATE_CHECK, "-")
        warn = o.checks.get(WARN_CHECK, "-")
        lines.append(
            f"{o.dataset:<29} {o.department:<17} {o.status:<10} {_n(o.rows_in):>8} {_n(o.rows_out):>8}  "
            f"gate {gate}, warnings {warn}{_controls(o)}"
        )
        lines.append(f"{'':<29} tags: {', '.join(o.tags) or 'none'}")
    passed = sum(v == "passed" for o in report.outcomes for v in o.checks.values())
    warned = sum(v == "warned" for o in report.outcomes for v in o.checks.values())
    failed = sum(v == "failed" for o in report.outcomes for v in o.checks.values())
    not_run = sum(v == "not run" for o in report.outcomes for v in o.checks.values())
    lines += [
        "",
        f"checks: {passed} passed, {warned} warned, {failed} failed"
        + (f", {not_run} not run (halted earlier in the same asset)" if not_run else ""),
    ]
    lines.append(
        f"Dagster runs are in {report.dagster_home}; `make ui` opens them on http://127.0.0.1:3000"
    )
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
