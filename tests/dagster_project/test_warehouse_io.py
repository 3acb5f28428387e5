"""Datasets published to PostgreSQL through ``WarehouseIOManager``, and their recovery.

Needs TAGTRAIL_TEST_PG_URL (the IO manager reads it as ``TAGTRAIL_DATASETS_URL``); every
department is a random schema, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from psycopg import sql

from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
from dagster_project.lineage import LineageResource
from dagster_project.resources import Publication, TagtrailSettings, ensure_demo_key
from dagster_project.run import RunRefused, preflight
from dagster_project.warehouse_io import DATASETS_URL_ENV, WarehouseIOManager
from lineage.facets import namespace
from lineage.recovery import recover_publications, remove_stale_tables
from lineage.store import LineageStore, StoreError, configured_url, open_store
from pipelines.estate import Estate, load_estate
from pipelines.scaffold import init_estate
from pipelines.warehouse import Warehouse, parse_ref, sha256_of_frame
from pipelines.warehouse.hidden import hidden_tables
from pipelines.warehouse.names import STAGED

from ..fixtures.linked import ESTATE as LINKED_ESTATE
from ..fixtures.linked import make as make_linked
from ..fixtures.linked import write as write_linked

PG_ENV = "TAGTRAIL_TEST_PG_URL"
PG_SKIP = (
    f"set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test to run the PostgreSQL "
    "dataset warehouse tests (.ci/run sets it)"
)
PEOPLE = pd.DataFrame(
    {
        "person_id": pd.Series(["p1", "p2", "p3", "p4"], dtype="string"),
        "area": pd.Series(["north", "south", "north", None], dtype="string"),
        "born": pd.Series(pd.to_datetime(["1990-01-02", "1985-05-06", None, "2001-12-31"])).astype(
            "datetime64[ms]"
        ),
    }
)


def summary_of(people: pd.DataFrame) -> pd.DataFrame:
    counts = people.groupby("area", dropna=False).size()
    return pd.DataFrame(
        {
            "area": pd.Series([str(a) for a in counts.index], dtype="string"),
            "people": pd.array(counts.to_numpy(), dtype="Int64"),
        }
    )


@pytest.fixture
def warehouse(monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)
    monkeypatch.setenv(DATASETS_URL_ENV, url)
    made = Warehouse(url)
    yield made
    made.dispose()


@pytest.fixture
def departments(warehouse: Warehouse) -> Iterator[tuple[str, str]]:
    names = (f"tt_wio_{secrets.token_hex(5)}", f"tt_wio_{secrets.token_hex(5)}")
    yield names
    with warehouse.connection() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LineageStore]:
    with open_store(f"sqlite:///{tmp_path / 'lineage.db'}") as opened:
        yield opened


class Recorder:
    """A publication's record and finish, as the lineage resource would make them."""

    def __init__(self, fail: bool = False, store: LineageStore | None = None) -> None:
        self.fail, self.store = fail, store
        self.calls: list[tuple[str, str, str]] = []
        self.finished: list[int] = []
        self.seen_during_record: pd.DataFrame | None = None
        self.warehouse: Warehouse | None = None
        self.dataset: tuple[str, str] = ("", "")

    def record(self, path: str, staged: str, sha256: str) -> int:
        self.calls.append((path, staged, sha256))
        if self.warehouse is not None and self.warehouse.exists(*self.dataset):
            self.seen_during_record = self.warehouse.read(*self.dataset)
        if self.fail:
            raise StoreError("injected: the lineage store is down", transient=True)
        if self.store is not None:
            event = complete_event(self.dataset[0], self.dataset[1])
            return self.store.record_publication(event, path=path, staged=staged, sha256=sha256)
        return 41

    def finish(self, publication_id: int) -> None:
        if self.store is not None:
            raise StoreError("injected: marking it done failed", transient=True)
        self.finished.append(publication_id)


def complete_event(department: str, dataset: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": dt.datetime.now(dt.UTC).isoformat(),
        "producer": "https://tagtrail.dev/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": f"tagtrail.{department}", "name": dataset},
        "inputs": [],
        "outputs": [{"namespace": f"tagtrail.{department}", "name": dataset}],
    }


def graph(
    source: str, target: str, people: pd.DataFrame, recorder: Recorder, seen: dict[str, Any]
) -> list[dg.AssetsDefinition]:
    @dg.asset(key=[source, "people"])
    def people_asset() -> pd.DataFrame:
        return people

    @dg.asset(key=[target, "area_counts"], ins={"people": dg.AssetIn(key=[source, "people"])})
    def counts_asset(people: pd.DataFrame) -> Publication:
        seen["input"] = people
        return Publication(summary_of(people), recorder.record, recorder.finish)

    return [people_asset, counts_asset]


def materialize(assets: list[dg.AssetsDefinition]) -> dg.ExecuteInProcessResult:
    io_manager = WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV))
    return dg.materialize(assets, resources={"io_manager": io_manager}, raise_on_error=False)


def test_publishes_and_reads_back_as_input_downstream(
    warehouse: Warehouse, departments: tuple[str, str]
) -> None:
    source, target = departments
    recorder = Recorder()
    seen: dict[str, Any] = {}
    recorder.warehouse, recorder.dataset = warehouse, (target, "area_counts")
    assert materialize(graph(source, target, PEOPLE, recorder, seen)).success
    pd.testing.assert_frame_equal(seen["input"], PEOPLE)
    expected = summary_of(PEOPLE)
    pd.testing.assert_frame_equal(warehouse.read(target, "area_counts"), expected)
    [(path, staged, sha256)] = recorder.calls
    assert parse_ref(path) == warehouse.ref(target, "area_counts")
    staged_ref = parse_ref(staged)
    assert staged_ref is not None and STAGED.match(staged_ref.table)
    assert sha256 == sha256_of_frame(expected) == warehouse.version(target, "area_counts")
    assert recorder.seen_during_record is None, "nothing visible before its record"
    assert recorder.finished == [41]
    assert hidden_tables(warehouse, "staged", departments) == []


def test_a_failed_record_leaves_the_previous_version(
    warehouse: Warehouse, departments: tuple[str, str]
) -> None:
    source, target = departments
    assert materialize(graph(source, target, PEOPLE, Recorder(), {})).success
    before = warehouse.read(target, "area_counts")
    more = pd.concat([PEOPLE, PEOPLE.assign(person_id="p9")], ignore_index=True)
    failing = Recorder(fail=True)
    failing.warehouse, failing.dataset = warehouse, (target, "area_counts")
    result = materialize(graph(source, target, more, failing, {}))
    assert not result.success and len(failing.calls) == 1 and failing.finished == []
    assert failing.seen_during_record is not None
    pd.testing.assert_frame_equal(failing.seen_during_record, before)
    pd.testing.assert_frame_equal(warehouse.read(target, "area_counts"), before)
    assert warehouse.rows(source, "people") == 2 * len(PEOPLE), "plain frames still publish"
    assert hidden_tables(warehouse, "staged", departments) == []


def test_recovery_finishes_table_publications(
    warehouse: Warehouse, departments: tuple[str, str], store: LineageStore
) -> None:
    source, target = departments
    dataset = (target, "area_counts")
    ref = warehouse.ref(*dataset)

    # swapped in, but marking it done failed: recovery only marks it
    recorder = Recorder(store=store)
    recorder.dataset = dataset
    assert materialize(graph(source, target, PEOPLE, recorder, {})).success
    assert len(store.pending_publications()) == 1
    assert not recover_publications(store), "without the warehouse, table records wait"
    assert recover_publications(store, warehouse=warehouse).published == [
        f"tagtrail.{target}/area_counts"
    ]

    # recorded, then the writer died before the swap: recovery swaps the staged version in
    second = summary_of(pd.concat([PEOPLE, PEOPLE], ignore_index=True))
    staged = warehouse.stage(*dataset, second)
    store.record_publication(
        complete_event(*dataset), path=str(ref), staged=str(staged.ref), sha256=staged.sha256
    )
    assert not recover_publications(store, warehouse=warehouse), "its writer is alive"
    assert staged._conn is not None
    staged._conn.close()
    assert recover_publications(store, warehouse=warehouse).published
    pd.testing.assert_frame_equal(warehouse.read(*dataset), second)

    # recorded, and its staging table lost: abandoned, the published version stays
    lost = warehouse.stage(*dataset, summary_of(PEOPLE.iloc[:1]))
    store.record_publication(
        complete_event(*dataset), path=str(ref), staged=str(lost.ref), sha256=lost.sha256
    )
    lost.close()
    assert recover_publications(store, warehouse=warehouse).abandoned
    pd.testing.assert_frame_equal(warehouse.read(*dataset), second)
    assert store.pending_publications() == []

    # staged, never recorded, writer gone: a stale table that cleanup drops
    stale = warehouse.stage(*dataset, PEOPLE.iloc[:0][["area"]])
    assert stale._conn is not None
    stale._conn.close()
    removed = remove_stale_tables(store, warehouse, schemas=departments).removed_tables
    assert removed == [f"{target}.{stale.table}"]
    assert hidden_tables(warehouse, "staged", departments) == []
    pd.testing.assert_frame_equal(warehouse.read(*dataset), second)


class FakeStore:
    """A datasets' store holding only ``held`` (department, dataset) pairs."""

    def __init__(self, held: set[tuple[str, str]]) -> None:
        self.held = held

    def location(self, department: str, dataset: str) -> str:
        return f"postgresql://fake/db/{department}.{dataset}"

    def exists(self, department: str, dataset: str) -> bool:
        return (department, dataset) in self.held


class FakeIOManager(dg.ConfigurableIOManager):
    held: str = ""  # comma-separated department.dataset pairs

    def dataset_store(self) -> FakeStore:
        pairs = (h.split(".", 1) for h in self.held.split(",") if h)
        return FakeStore({(d, n) for d, n in pairs})

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        raise NotImplementedError

    def load_input(self, context: dg.InputContext) -> object:
        raise NotImplementedError


def test_preflight_asks_the_io_managers_store(tmp_path: Path) -> None:
    init_estate(tmp_path / "estate")
    estate = load_estate(tmp_path / "estate")
    flow = next(f for f in estate.flows.values() if f.inputs)
    needed = flow.inputs[0]
    owner = estate.dataset_owner[needed]
    with pytest.raises(RunRefused) as refused:
        preflight(estate, [flow.output], tmp_path, tmp_path, FakeIOManager())
    assert any(f"{owner}.{needed}" in p for p in refused.value.problems)
    held = ",".join(f"{estate.dataset_owner[d]}.{d}" for d in flow.inputs)
    preflight(estate, [flow.output], tmp_path, tmp_path, FakeIOManager(held=held))


@pytest.fixture
def scratch_database(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own (an estate's departments are fixed names), dropped afterwards."""
    name = f"tt_wio_{secrets.token_hex(5)}"
    with warehouse.connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = warehouse.url.set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv(DATASETS_URL_ENV, url)
    yield url
    with warehouse.connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def run_twice(estate: Estate, home: Path, extracts: Path | None = None) -> WarehouseIOManager:
    """Materialize every dataset of ``estate`` twice into the warehouse (the second run's volume
    guard, retention and opt-out controls read the published tables)."""
    io_manager = WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV))
    settings = TagtrailSettings(
        home=str(home), as_of="2026-11-01", extracts=str(extracts) if extracts else None
    )
    defs = build_definitions(
        estate,
        resources={
            "settings": settings,
            "io_manager": io_manager,
            "lineage": LineageResource(home=str(home)),
        },
    )
    for _ in range(2):
        with dg.DagsterInstance.ephemeral() as instance:
            job = defs.resolve_job_def(ALL_FLOWS_JOB)
            assert job.execute_in_process(instance=instance, raise_on_error=False).success
    return io_manager


def assert_published_and_recorded(estate: Estate, home: Path, url: str) -> None:
    tables = Warehouse(url)
    with open_store(configured_url(home)) as store:
        assert store.pending_publications() == []
        for dataset, owner in estate.dataset_owner.items():
            assert tables.rows(owner, dataset)
            recorded = store.recorded_versions(namespace(owner), dataset)
            assert tables.version(owner, dataset) in recorded
    tables.dispose()
    assert list(home.rglob("*.parquet")) == []


def test_an_estate_runs_on_the_warehouse(scratch_database: str, tmp_path: Path) -> None:
    init_estate(tmp_path / "estate")
    estate = load_estate(tmp_path / "estate")
    home = tmp_path / "home"
    outputs = [f.output for f in estate.flows.values()]
    with pytest.raises(RunRefused):
        preflight(estate, outputs, home, tmp_path, WarehouseIOManager(url=scratch_database))
    io_manager = run_twice(estate, home)
    preflight(estate, outputs, home, tmp_path, io_manager)
    assert_published_and_recorded(estate, home, scratch_database)


def test_opt_outs_and_linkage_run_on_the_warehouse(scratch_database: str, tmp_path: Path) -> None:
    estate, home, extracts = load_estate(LINKED_ESTATE), tmp_path / "home", tmp_path / "extracts"
    write_linked(make_linked(), extracts)
    ensure_demo_key(home)
    run_twice(estate, home, extracts)
    assert_published_and_recorded(estate, home, scratch_database)
