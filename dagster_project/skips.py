"""Flows a halt upstream kept from running: an OpenLineage ABORT each, naming the upstream stops.

Dagster skips the steps downstream of a failed one without running them, so no asset code emits
anything for them. After a run, tagtrail stores an ABORT for each such flow, with the upstream
datasets that were held back or failed in the ``tagtrail_audit`` facet; the lineage store turns
it into a ``flow_skipped`` audit record. The run id is the one the flow's step would have used,
and the event is timed at the run's end, so recording it twice (``tagtrail run`` and the
run-failure sensor) stores it once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from dagster_project.lineage import asset_run_id, launch_of_run
from dagster_project.summary import upstream_stops
from lineage.emit import Emitter
from lineage.events import build_event
from lineage.propagation import propagate
from lineage.store import LineageStore
from pipelines.estate import Estate


def record_skipped(
    store: LineageStore,
    instance: dg.DagsterInstance,
    run_id: str,
    estate: Estate,
    status: Mapping[str, str],
) -> list[str]:
    """Store an ABORT for every flow of run ``run_id`` whose ``status`` is ``not run`` because
    of an upstream stop; the flows recorded."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return []
    launch = launch_of_run(instance, run)
    record = instance.get_run_record_by_id(run_id)
    ended = record.end_time if record is not None else None
    at = dt.datetime.fromtimestamp(ended, dt.UTC) if ended else dt.datetime.now(dt.UTC)
    computed = None
    recorded = []
    for name, state in status.items():
        stops = upstream_stops(estate, name, status) if state == "not run" else []
        if not stops:
            continue
        computed = computed or propagate(estate)
        event = build_event(
            "ABORT",
            estate=estate,
            dataset=name,
            run_id=asset_run_id(launch.at, run_id, name),
            parent_run_id=run_id,
            parent_job_name=run.job_name,
            event_time=at,
            computed=computed,
            launch=launch,
            skipped_because=[{"dataset": d, "status": s} for d, s in stops],
        )
        Emitter(store).emit(event)
        recorded.append(name)
    return recorded


def run_status(instance: dg.DagsterInstance, run_id: str, estate: Estate) -> dict[str, str]:
    """What happened to each dataset the run was to materialise, read from the event log:
    published, held back (a check failed at error severity), error (its step failed) or not run."""
    from dagster_project.metadata import asset_key

    run = instance.get_run_by_id(run_id)
    if run is None:
        return {}
    planned = run.asset_selection or None  # empty: the whole job
    records = instance.get_records_for_run(
        run_id,
        of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            dg.DagsterEventType.STEP_FAILURE,
        },
        limit=100_000,
    ).records
    published: set[dg.AssetKey] = set()
    held: set[dg.AssetKey] = set()
    errored: set[str] = set()
    for entry in records:
        event = entry.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key:
            published.add(event.asset_key)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            failed = not evaluation.passed  # type: ignore[union-attr]
            if failed and evaluation.severity == dg.AssetCheckSeverity.ERROR:  # type: ignore[union-attr]
                held.add(evaluation.asset_key)  # type: ignore[union-attr]
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key:
            errored.add(event.step_key)
    status = {}
    for name in estate.datasets:
        key = asset_key(estate, name)
        if planned is not None and key not in planned:
            continue
        status[name] = (
            "published"
            if key in published
            else "held back"
            if key in held
            else "error"
            if "__".join(key.path) in errored
            else "not run"
        )
    return status
