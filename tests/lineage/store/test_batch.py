"""Batched ingest: the demo's events ingested one at a time and in batches give the same store."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from lineage.control_facets import Launch
from lineage.events import build_event, to_json
from lineage.propagation import propagate
from lineage.store import LineageStore, open_store
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate

from ...conftest import backend_url

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

# Every table by natural keys: ids differ with the order rows were written, the facts must not.
DUMP = {
    "events": "SELECT content_hash, event_type, event_time, run_id, parent_run_id, job_namespace,"
    " job_name, producer, raw FROM tagtrail_events",
    "jobs": "SELECT namespace, name FROM tagtrail_jobs",
    "runs": "SELECT r.run_id, j.name, r.parent_run_id, r.parent_job_name, r.state, r.state_time,"
    " r.started_at, r.ended_at, r.error_message FROM tagtrail_runs r"
    " JOIN tagtrail_jobs j ON j.id = r.job_id",
    "datasets": "SELECT namespace, name, department, description, purpose, legal_basis,"
    " retention, source_system, identifiability, agreement_id, agreement, owners, tags,"
    " assertions, row_count, lifecycle_state, version_run_id, version_time"
    " FROM tagtrail_datasets",
    "columns": "SELECT d.name, c.name, c.type, c.description, c.position FROM tagtrail_columns c"
    " JOIN tagtrail_datasets d ON d.id = c.dataset_id",
    "column_tags": "SELECT d.name, c.name, t.tag, t.value, t.identifiability, t.attributions"
    " FROM tagtrail_column_tags t JOIN tagtrail_columns c ON c.id = t.column_id"
    " JOIN tagtrail_datasets d ON d.id = c.dataset_id",
    "run_datasets": "SELECT r.run_id, d.name, r.role FROM tagtrail_run_datasets r"
    " JOIN tagtrail_datasets d ON d.id = r.dataset_id",
    "dataset_edges": "SELECT i.name, o.name, j.name, e.run_id, e.agreement_id, e.purpose"
    " FROM tagtrail_dataset_edges e JOIN tagtrail_datasets i ON i.id = e.input_dataset_id"
    " JOIN tagtrail_datasets o ON o.id = e.output_dataset_id"
    " JOIN tagtrail_jobs j ON j.id = e.job_id",
    "column_edges": "SELECT fd.name, fc.name, td.name, tc.name, j.name, e.run_id, e.type,"
    " e.subtype, e.masking, e.description FROM tagtrail_column_edges e"
    " JOIN tagtrail_columns fc ON fc.id = e.from_column_id"
    " JOIN tagtrail_datasets fd ON fd.id = fc.dataset_id"
    " JOIN tagtrail_datasets td ON td.id = e.to_dataset_id"
    " LEFT JOIN tagtrail_columns tc ON tc.id = e.to_column_id"
    " JOIN tagtrail_jobs j ON j.id = e.job_id",
    "audit_records": "SELECT v.content_hash, a.kind, a.at, a.run_id, a.dagster_run_id,"
    " a.namespace, a.dataset, a.department, a.agreement, a.purpose, a.launched_by,"
    " a.launched_at, a.details, a.observed_by FROM tagtrail_audit_records a"
    " JOIN tagtrail_events v ON v.id = a.event_id",
}


def demo_events() -> list[str]:
    """Two runs of the demo estate (the second fails one dataset), START then COMPLETE or FAIL."""
    estate = load_estate(DEMO_ESTATE)
    computed = propagate(estate)
    texts: list[str] = []
    tick = 0
    for attempt in range(2):
        parent = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{attempt}"))
        launch = Launch("steward", "run_tag", AT, parent, "tagtrail")
        for position, dataset in enumerate(estate.datasets):
            run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{attempt}/{dataset}"))
            failed = attempt == 1 and position == 3
            for kind in ("START", "FAIL" if failed else "COMPLETE"):
                tick += 1
                facts: dict[str, Any] = {}
                if kind == "COMPLETE":
                    facts = {"row_count": 100 + tick, "lifecycle": "OVERWRITE"}
                elif kind == "FAIL":
                    facts = {"error_message": "a quality gate halted the flow"}
                event = build_event(
                    kind,  # type: ignore[arg-type]
                    estate=estate,
                    dataset=dataset,
                    run_id=run_id,
                    parent_run_id=parent,
                    parent_job_name="__ASSET_JOB",
                    event_time=AT + dt.timedelta(seconds=tick),
                    computed=computed,
                    launch=launch,
                    **facts,
                )
                texts.append(to_json(event))
    return texts


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows by natural keys, sorted."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: sorted(tuple(map(str, row)) for row in connection.execute(text(sql)))
                for name, sql in DUMP.items()
            }
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty stores on the backend under test."""
    with (
        backend_url(request.param, tmp_path / "one") as one,
        backend_url(request.param, tmp_path / "two") as two,
    ):
        yield one, two


def test_one_at_a_time_and_one_batch_store_the_same(two_urls: tuple[str, str]) -> None:
    events = demo_events()
    single_url, batch_url = two_urls
    with open_store(single_url) as single, open_store(batch_url) as batch:
        assert sum(single.ingest(event) for event in events) == len(events)
        assert batch.ingest_many(events, batch_size=len(events)) == len(events)
        assert _view(single) == _view(batch)
    expected = dump(single_url)
    assert expected["audit_records"] and expected["column_edges"] and expected["column_tags"]
    assert dump(batch_url) == expected


@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_any_batch_size_and_replays_store_the_same(
    two_urls: tuple[str, str], batch_size: int
) -> None:
    events = demo_events()
    reference_url, batch_url = two_urls
    with open_store(reference_url) as reference, open_store(batch_url) as batch:
        reference.ingest_many(events, batch_size=len(events))
        assert batch.ingest_many(events[::2], batch_size=batch_size) == len(events[::2])
        replay = [*events, *events[:5]]
        assert batch.ingest_many(replay, batch_size=batch_size) == len(events) - len(events[::2])
        assert batch.ingest_many(replay, batch_size=len(replay)) == 0
    assert dump(batch_url) == dump(reference_url)


def _view(store: LineageStore) -> tuple[object, ...]:
    names = [d.name for d in store.datasets()]
    return (
        store.datasets(),
        [store.columns(name) for name in names],
        [store.trace(name, direction=d) for name in names for d in ("upstream", "downstream")],
        store.runs(),
        store.audit(),
    )


def test_a_batch_size_below_one_is_refused(store: LineageStore) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        store.ingest_many([], batch_size=0)
