"""The store's layout: ``tagtrail_*`` tables, on PostgreSQL in a schema of their own; old stores
move there on open with every row; Dagster's instance tables can share the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from lineage.store import (
    URL_VARIABLE,
    LineageStore,
    StoreError,
    configured_url,
    migrate,
    open_store,
)
from lineage.store.connect import create_store_engine
from lineage.store.schema import DEFAULT_SCHEMA, SCHEMA_VARIABLE

from .legacy import OLD_TABLES, fill_reference, make_old_store, pg_database, reference_url
from .test_batch import demo_events

NEW_TABLES = {f"tagtrail_{t}" for t, _ in OLD_TABLES} | {migrate.VERSION_TABLE}
OLD_NAMES = {t for t, _ in OLD_TABLES} | {migrate.VERSION_TABLE}


def _tables(url: str, schema: str | None = None) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()


def _counts(url: str, tables: set[str], schema: str | None = None) -> dict[str, int]:
    engine = sa.create_engine(url)
    prefix = f'"{schema}".' if schema else ""
    try:
        with engine.connect() as connection:
            return {
                t.removeprefix("tagtrail_"): connection.exec_driver_sql(
                    f"SELECT count(*) FROM {prefix}{t}"
                ).scalar_one()
                for t in tables
                if t != migrate.VERSION_TABLE
            }
    finally:
        engine.dispose()


def _answers(store: LineageStore) -> dict[str, Any]:
    """What a governance user asks the store, to compare before and after an upgrade."""
    datasets = store.datasets()
    traced = {
        (d.name, c.name, direction): store.trace(d.name, c.name, direction)
        for d in datasets[:4]
        for c in store.columns(f"{d.namespace}/{d.name}")[:2]
        for direction in ("upstream", "downstream")
    }
    return {
        "events": store.events(),
        "runs": store.runs(),
        "datasets": datasets,
        "graph": store.graph(),
        "tags": store.column_tags(),
        "trace": traced,
        "dataset_trace": [store.trace(d.name, None, "downstream") for d in datasets],
        "audit": store.audit(),
        "pending": store.pending_publications(),
        "undelivered": [e.id for e in store.undelivered("console")],
    }


def _reference(reference: tuple[str, str | None]) -> dict[str, Any]:
    """Fill the reference store (demo events, a pending publication, a delivery); its answers."""
    events = demo_events()
    fill_reference(reference, events[:-2])
    url, schema = reference
    with open_store(url, schema=schema) as store:
        store.record_publication(events[-1], path="/d/x.parquet", staged="/d/.x", sha256="0" * 64)
        first = store.undelivered("console", limit=1)[0]
        store.mark_delivery(first.id, "console", delivered=True)
        return _answers(store)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new PostgreSQL database with no search_path."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lineage.db'}"
        return
    with pg_database() as url:
        yield url


def test_a_fresh_store_has_only_prefixed_tables(database: str) -> None:
    with open_store(database) as store:
        assert store.ingest_many(demo_events()[:6]) == 6
    if database.startswith("sqlite"):
        assert _tables(database) == NEW_TABLES
        return
    assert _tables(database, DEFAULT_SCHEMA) == NEW_TABLES
    assert _tables(database, "public") == set()
    assert _counts(database, NEW_TABLES, DEFAULT_SCHEMA)["events"] == 6


@pytest.mark.parametrize("chosen", [None, "lineage_env", "lineage_arg"])
def test_an_old_store_upgrades_in_place_with_every_row(
    database: str, tmp_path: Path, chosen: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with reference_url(database, tmp_path) as reference:
        before = _reference(reference)
        make_old_store(database, "0005_trace_indexes", reference)
        reference_counts = _counts(reference[0], NEW_TABLES, reference[1])
    postgres = not database.startswith("sqlite")
    old_schema = "public" if postgres else None
    assert _tables(database, old_schema) == OLD_NAMES
    assert _counts(database, OLD_NAMES, old_schema) == reference_counts
    if chosen == "lineage_env":
        monkeypatch.setenv(URL_VARIABLE, database)
        monkeypatch.setenv(SCHEMA_VARIABLE, chosen)
        url = configured_url(tmp_path)
    else:
        url = database
    with open_store(url, schema="lineage_arg" if chosen == "lineage_arg" else None) as store:
        assert _answers(store) == before
        assert store.ingest(demo_events()[-2]) is True  # ids continue where the old store ended
    schema = (chosen or DEFAULT_SCHEMA) if postgres else None
    if postgres:
        assert _tables(database, "public") == set()
    assert _tables(database, schema) == NEW_TABLES
    after = _counts(database, NEW_TABLES, schema)
    assert after.pop("events") == reference_counts.pop("events") + 1
    assert after.pop("audit_records") > reference_counts.pop("audit_records")  # its run_started
    assert after == reference_counts


def _layout(url: str, schema: str | None) -> set[tuple[str, str]]:
    """Every table, index, sequence and (PostgreSQL) constraint name, with its kind."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.exec_driver_sql("SELECT type, name FROM sqlite_master")
                return {(kind, name) for kind, name in rows}
            relations = connection.execute(
                sa.text(
                    "SELECT relkind::text, relname FROM pg_class"
                    " WHERE relnamespace = CAST(:schema AS regnamespace)"
                    " UNION SELECT contype::text, conname FROM pg_constraint"
                    " WHERE connamespace = CAST(:schema AS regnamespace)"
                ),
                {"schema": schema},
            )
            return {(kind, name) for kind, name in relations}
    finally:
        engine.dispose()


def test_the_move_downgrades_and_upgrades_again(database: str, tmp_path: Path) -> None:
    with reference_url(database, tmp_path) as reference:
        before = _reference(reference)
        make_old_store(database, "0005_trace_indexes", reference)
    old_schema = "public" if not database.startswith("sqlite") else None
    old_layout = _layout(database, old_schema)
    open_store(database).close()
    new_layout = _layout(database, old_schema and DEFAULT_SCHEMA)
    assert new_layout and all("tagtrail_" in name for _, name in new_layout)
    engine = create_store_engine(database)
    try:
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "0005_trace_indexes")
    finally:
        engine.dispose()
    assert _tables(database, old_schema) == OLD_NAMES
    assert _layout(database, old_schema) == old_layout
    with open_store(database) as store:
        assert _answers(store) == before


def test_a_bad_schema_name_is_refused_naming_the_variable(tmp_path: Path) -> None:
    environ = {URL_VARIABLE: "postgresql+psycopg://u@127.0.0.1:1/db", SCHEMA_VARIABLE: "Bad-Name"}
    url = configured_url(tmp_path, environ)
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert raised.value.transient is False
    assert SCHEMA_VARIABLE in str(raised.value)
    sqlite = {URL_VARIABLE: "sqlite:////tmp/x.db", SCHEMA_VARIABLE: "ignored"}
    assert configured_url(tmp_path, sqlite) == "sqlite:////tmp/x.db"


def test_a_store_beside_dagsters_own_instance_tables() -> None:
    from dagster import DagsterRun
    from dagster_postgres.event_log import PostgresEventLogStorage
    from dagster_postgres.run_storage import PostgresRunStorage
    from dagster_postgres.schedule_storage import PostgresScheduleStorage

    with pg_database() as url:
        runs = PostgresRunStorage.create_clean_storage(url)
        PostgresEventLogStorage.create_clean_storage(url).dispose()
        PostgresScheduleStorage.create_clean_storage(url).dispose()
        dagster_tables = _tables(url, "public")
        assert {"runs", "jobs", "event_logs", "alembic_version"} <= dagster_tables
        events = demo_events()
        with open_store(url) as store:
            assert store.ingest_many(events) == len(events)
            assert store.trace(store.datasets()[0].name)
            assert store.audit()
        run_id = str(uuid.uuid4())
        runs.add_run(DagsterRun(job_name="tagtrail_job", run_id=run_id))
        assert [r.run_id for r in runs.get_runs()] == [run_id]
        runs.dispose()
        assert _tables(url, "public") == dagster_tables
        assert _tables(url, DEFAULT_SCHEMA) == NEW_TABLES
        with open_store(url) as store:
            assert len(store.events()) == len(events)


def test_a_store_elsewhere_in_the_database_is_not_forked_silently() -> None:
    with pg_database() as url:
        with open_store(url, schema="public") as store:
            assert store.ingest_many(demo_events()[:2]) == 2
        with pytest.raises(StoreError) as raised:
            open_store(url)
        assert raised.value.transient is False
        assert SCHEMA_VARIABLE in str(raised.value)
        assert DEFAULT_SCHEMA not in {*_schemas(url)}  # nothing was created
        with open_store(url, schema="public") as store:
            assert len(store.events()) == 2


def _schemas(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_schema_names())
    finally:
        engine.dispose()
