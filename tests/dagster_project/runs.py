"""Helpers for tests that inspect real Dagster runs of the demo estate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_project.instance import dagster_home
from lineage.store import LineageStore, default_url, open_store
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate

ESTATE = load_estate(DEMO_ESTATE)


def instance(home: Path) -> dg.DagsterInstance:
    """The Dagster instance the demo ran in."""
    return dg.DagsterInstance.from_config(str(dagster_home(home)))


def store(home: Path) -> LineageStore:
    """The demo's lineage store."""
    return open_store(default_url(home))


def asset_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey([ESTATE.dataset_owner[dataset], dataset])


def materialization(inst: dg.DagsterInstance, dataset: str, run_id: str) -> dict[str, Any] | None:
    """The metadata of ``dataset``'s materialization in run ``run_id``, if any."""
    for r in inst.fetch_materializations(asset_key(dataset), limit=10).records:
        if r.run_id == run_id:
            return dict(r.asset_materialization.metadata)  # type: ignore[union-attr]
    return None


def check_evaluations(inst: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], Any]:
    """Every asset check evaluation of a run, by (dataset, check name)."""
    logs = inst.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    out = {}
    for entry in logs:
        ev = entry.dagster_event.event_specific_data  # type: ignore[union-attr]
        out[(ev.asset_key.path[-1], ev.check_name)] = ev
    return out


def events(home: Path, run_id: str) -> list[dict[str, Any]]:
    """The OpenLineage events of a Dagster run, parsed."""
    with store(home) as s:
        return [json.loads(raw) for raw in s.events(run_id)]
