"""The schema is created by the packaged Alembic migrations, and only once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import UniqueConstraint, create_engine, inspect

from lineage.store import migrate, open_store
from lineage.store.models import Base

TABLES = {
    "tagtrail_events",
    "tagtrail_runs",
    "tagtrail_jobs",
    "tagtrail_datasets",
    "tagtrail_columns",
    "tagtrail_column_tags",
    "tagtrail_run_datasets",
    "tagtrail_dataset_edges",
    "tagtrail_column_edges",
    "tagtrail_audit_records",
    "tagtrail_publications",
    "tagtrail_deliveries",
    migrate.VERSION_TABLE,
}


def test_open_creates_the_schema_at_head(store_url: str) -> None:
    with open_store(store_url):
        pass
    engine = create_engine(store_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        engine.dispose()


def test_migrations_match_the_models(store_url: str) -> None:
    with open_store(store_url):
        pass
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": migrate.VERSION_TABLE}
            )
            differences = compare_metadata(context, Base.metadata)
            if connection.dialect.name == "sqlite":
                differences = _without_renamed_uniques(differences)
            assert differences == []
    finally:
        engine.dispose()


def _without_renamed_uniques(differences: list[Any]) -> list[Any]:
    """SQLite keeps the unique constraints' pre-0006 names inside each table's definition (see
    the 0006 migration): drop a removal and an addition of the same columns of the same table."""

    def key(diff: Any) -> tuple[str, str, tuple[str, ...]] | None:
        if diff[0] in ("remove_constraint", "add_constraint") and isinstance(
            diff[1], UniqueConstraint
        ):
            return diff[0], diff[1].table.name, tuple(c.name for c in diff[1].columns)
        return None

    keys = {key(d) for d in differences}
    return [
        d
        for d in differences
        if (k := key(d)) is None
        or ("add_constraint" if k[0] == "remove_constraint" else "remove_constraint", *k[1:])
        not in keys
    ]


def test_reopening_is_a_no_op(store_url: str, counts: Callable[[], dict[str, int]]) -> None:
    with open_store(store_url) as store:
        store.ingest(
            {
                "eventType": "START",
                "eventTime": "2025-01-01T00:00:00Z",
                "run": {"runId": "r1"},
                "job": {"namespace": "tagtrail.x", "name": "a"},
            }
        )
    before = counts()
    engine = create_engine(store_url)
    try:
        assert migrate.upgrade(engine) is False
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert len(store.events()) == 1
    assert counts() == before


def test_concurrent_first_opens_all_succeed(store_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_once() -> None:
        barrier.wait()
        try:
            open_store(store_url).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        engine.dispose()


OPEN_AT = """
import sys, time
from lineage.store import open_store
url, start = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_store(url).close()
"""


def test_concurrent_first_opens_from_separate_processes(store_url: str) -> None:
    start = time.time() + 2.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, store_url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        engine.dispose()


def test_script_location_is_inside_the_package() -> None:
    assert (migrate.SCRIPT_LOCATION / "env.py").is_file()
    assert migrate.SCRIPT_LOCATION.parent.name == "store"
    assert migrate.head_revision() == "0007_facts_hash"
