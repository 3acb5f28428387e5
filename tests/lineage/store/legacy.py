"""Stores as an earlier tagtrail left them: unprefixed tables at an old revision, holding data.

The current models only write ``tagtrail_*`` tables, so an old store is filled by copying every
row of a store the current code built (through the store API) into the tables the packaged
migrations create at the old revision, ids and all.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from lineage.store import migrate, open_store

from ...conftest import PG_ENV, PG_SKIP

# in the order foreign keys allow, with the revision that created each
OLD_TABLES = (
    ("jobs", "0001_initial"),
    ("runs", "0001_initial"),
    ("datasets", "0001_initial"),
    ("columns", "0001_initial"),
    ("column_tags", "0001_initial"),
    ("run_datasets", "0001_initial"),
    ("dataset_edges", "0001_initial"),
    ("column_edges", "0001_initial"),
    ("events", "0001_initial"),
    ("audit_records", "0002_audit"),
    ("publications", "0003_outbox"),
    ("deliveries", "0003_outbox"),
)


@contextmanager
def pg_database() -> Iterator[str]:
    """A URL to a new, randomly named PostgreSQL database (no search_path), dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    name = f"tt_db_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def reference_url(url: str, directory: Path) -> Iterator[tuple[str, str | None]]:
    """Somewhere beside the store at ``url`` for a reference store: (URL, PostgreSQL schema).

    SQLite: another file. PostgreSQL: a random schema of the same database (open the store with
    ``schema=``), dropped afterwards. Create the reference before any old store: opening a store
    in a schema of its own moves an old store it finds where the URL points.
    """
    if sa.make_url(url).get_backend_name() == "sqlite":
        yield f"sqlite:///{directory / 'reference.db'}", None
        return
    schema = f"tt_ref_{uuid.uuid4().hex[:12]}"
    try:
        yield url, schema
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def make_old_store(url: str, revision: str, reference: tuple[str, str | None]) -> None:
    """Migrate the database at ``url`` to ``revision`` exactly as an earlier tagtrail did (a plain
    engine, the URL's own search_path), then copy into it every row of the reference store."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), revision)
        with engine.connect() as connection:
            _copy(connection, revision, reference)
            connection.commit()
    finally:
        engine.dispose()


def _copy(connection: sa.Connection, revision: str, reference: tuple[str, str | None]) -> None:
    source_url, schema = reference
    order = list(migrate.UNPREFIXED)
    tables = [t for t, created in OLD_TABLES if order.index(created) <= order.index(revision)]
    inspector = sa.inspect(connection)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        source = f'"{schema}".'
    else:
        path = sa.make_url(source_url).database
        connection.exec_driver_sql(f"ATTACH DATABASE '{path}' AS reference")
        source = "reference."
    for table in tables:
        names = ", ".join(c["name"] for c in inspector.get_columns(table))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {source}tagtrail_{table}"
        )
        if postgres and table not in ("runs", "run_datasets"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                " HAVING max(id) IS NOT NULL"
            )
    if not postgres:
        connection.commit()
        connection.exec_driver_sql("DETACH DATABASE reference")


def fill_reference(reference: tuple[str, str | None], events: list[str]) -> None:
    """Create the reference store and ingest ``events`` through the store API."""
    url, schema = reference
    with open_store(url, schema=schema) as store:
        assert store.ingest_many(events) == len(events)
