"""The schema is created by the packaged Alembic migrations, and only once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from lineage.store import migrate, open_store
from lineage.store.models import Base

TABLES = {
    "events",
    "runs",
    "jobs",
    "datasets",
    "columns",
    "column_tags",
    "run_datasets",
    "dataset_edges",
    "column_edges",
    "audit_records",
    "publications",
    "deliveries",
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
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


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
    assert migrate.head_revision() == "0005_trace_indexes"
