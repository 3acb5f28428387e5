"""Flows a halt upstream kept from running: an OpenLineage ABORT each, naming the upstream stops.

Dagster skips the steps downstream of a failed one without running them, so no asset code emits
anything for them. After a run, tagtrail stores an ABORT for each such flow, with the upstream
datasets that were held back or failed in the ``tagtrail_audit`` facet; the lineage store turns
it into a ``flow_skipped`` audit record. The run id is the one the flow's step would have used.
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
            run_id=asset_run_id(launch, name),
            parent_run_id=run_id,
            parent_job_name=run.job_name,
            event_time=dt.datetime.now(dt.UTC),
            computed=computed,
            launch=launch,
            skipped_because=[{"dataset": d, "status": s} for d, s in stops],
        )
        Emitter(store).emit(event)
        recorded.append(name)
    return recorded
