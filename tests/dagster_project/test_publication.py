"""Publication and its record as one step, under real store faults at each point of it.

The store is made to fail by the database itself (a trigger that raises), exactly where the
fault is wanted: while the COMPLETE event and the pending publication are written, while the audit
rows derived from that event are written (same transaction), and when the publication is marked
done after the rename. Whatever happens, no dataset is ever visible without its COMPLETE event,
and a retry (after recovery) publishes both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dagster_project.instance import prepare
from dagster_project.run import run_estate
from lineage.store import open_store
from pipelines.estate import Estate, load_estate
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path, sha256_of

from ..conftest import BACKENDS, backend_url
from .conftest import AS_OF

SAMPLE = Path("sample_data/health/referrals.csv")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with backend_url(request.param, tmp_path / "store") as url:
        yield url


@pytest.fixture
def published(tmp_path: Path, store_url: str) -> tuple[Estate, Path]:
    """A new estate published once, its sample extract then changed (the next run differs)."""
    init_estate(tmp_path / "estate")
    estate = load_estate(tmp_path / "estate")
    home = tmp_path / "home"
    assert run_estate(estate, home, as_of=AS_OF, lineage_url=store_url).success
    sample = estate.root / SAMPLE
    sample.write_text(sample.read_text().replace("REF10002", "REF90002"))
    return estate, home


def _fault(url: str, table: str, when: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.exec_driver_sql(
                f"CREATE TRIGGER fault BEFORE {when} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )
        else:
            c.exec_driver_sql(
                "CREATE FUNCTION tt_fault() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$"
            )
            c.exec_driver_sql(
                f"CREATE TRIGGER fault BEFORE {when} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tt_fault()"
            )
    engine.dispose()


def _heal(url: str, table: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.exec_driver_sql("DROP TRIGGER fault")
        else:
            c.exec_driver_sql(f"DROP TRIGGER fault ON {table}")
            c.exec_driver_sql("DROP FUNCTION tt_fault()")
    engine.dispose()


def _recorded_versions(url: str, dataset: str) -> set[str]:
    """The dataset versions the store's COMPLETE events say were published."""
    with open_store(url) as store:
        versions = set()
        for raw in store.events():
            event = json.loads(raw)
            for output in event.get("outputs", []):
                version = output.get("facets", {}).get("version", {}).get("datasetVersion")
                if event["eventType"] == "COMPLETE" and output["name"] == dataset and version:
                    versions.add(version)
        return versions


def _assert_every_visible_version_is_recorded(estate: Estate, home: Path, url: str) -> None:
    for name in estate.datasets:
        path = dataset_path(home, estate.dataset_owner[name], name)
        if path.exists():
            assert sha256_of(path) in _recorded_versions(url, name), f"{name} has no record"
        assert not [p for p in path.parent.glob(".*") if "staged" in p.name or p.suffix == ".tmp"]


@pytest.mark.parametrize(
    ("table", "when"),
    [("tagtrail_publications", "INSERT"), ("tagtrail_audit_records", "INSERT")],
    ids=["recording-the-publication", "between-event-and-audit"],
)
def test_a_store_failing_before_the_rename_publishes_nothing(
    published: tuple[Estate, Path], store_url: str, table: str, when: str
) -> None:
    estate, home = published
    path = dataset_path(home, "health", "referrals")
    before = path.read_bytes()
    _fault(store_url, table, when)
    report = run_estate(estate, home, as_of=AS_OF, lineage_url=store_url)
    status = {o.dataset: o.status for o in report.outcomes}
    assert status == {"referrals": "error", "referrals_by_area": "not run"}
    assert path.read_bytes() == before, "nothing may become visible without its record"
    with open_store(store_url) as store:
        complete = [
            json.loads(e)
            for e in store.events(report.run_id)
            if '"eventType": "COMPLETE"' in e or '"eventType":"COMPLETE"' in e
        ]
        assert complete == [], "the event and its audit rows are one transaction"
    _assert_every_visible_version_is_recorded(estate, home, store_url)

    _heal(store_url, table)
    recovery = prepare(home, store_url)
    retry = run_estate(estate, home, as_of=AS_OF, lineage_url=store_url)
    assert retry.success
    assert path.read_bytes() != before
    _assert_every_visible_version_is_recorded(estate, home, store_url)
    with open_store(store_url) as store:
        assert store.pending_publications() == []
        assert store.open_runs() == [], recovery.lines()
        kinds = {
            a.kind for a in store.audit(dataset="referrals") if a.dagster_run_id == retry.run_id
        }
    assert {"run_started", "run_completed"} <= kinds


def test_a_store_failing_after_the_rename_leaves_a_record_that_recovery_finishes(
    published: tuple[Estate, Path], store_url: str
) -> None:
    estate, home = published
    path = dataset_path(home, "health", "referrals")
    before = path.read_bytes()
    _fault(store_url, "tagtrail_publications", "UPDATE")
    report = run_estate(estate, home, as_of=AS_OF, lineage_url=store_url)
    assert report.success, "published and recorded: only the bookkeeping is late"
    assert path.read_bytes() != before
    _assert_every_visible_version_is_recorded(estate, home, store_url)
    with open_store(store_url) as store:
        [pending] = [p for p in store.pending_publications() if p.dataset == "referrals"]
    assert pending.sha256 == sha256_of(path)
    _heal(store_url, "tagtrail_publications")
    recovery = prepare(home, store_url)
    assert "tagtrail.health/referrals" in recovery.lineage.published
    with open_store(store_url) as store:
        assert store.pending_publications() == []
        assert sha256_of(path) in store.recorded_versions("tagtrail.health", "referrals")
