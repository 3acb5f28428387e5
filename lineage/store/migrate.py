"""Schema migrations, run programmatically from the scripts shipped inside this package."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from lineage.store.errors import StoreError
from lineage.store.schema import SCHEMA_INFO, SCHEMA_VARIABLE, quote

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "tagtrail_lineage_version"
# The revisions whose tables have no prefix and, on PostgreSQL, live wherever the URL's
# search_path put them (normally ``public``); 0006 moves them into the store's schema.
UNPREFIXED = (
    "0001_initial",
    "0002_audit",
    "0003_outbox",
    "0004_observed",
    "0005_trace_indexes",
)
_ALEMBIC = threading.RLock()  # Alembic's context and op proxies are process-global
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('tagtrail.lineage'), hashtext(:schema))"
_VERSION_IN = (
    "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = :schema AND c.relname = :table AND c.relkind IN ('r', 'p')"
)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest revision shipped with this version of tagtrail."""
    with _ALEMBIC:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head; True if anything ran.

    On PostgreSQL the upgrade runs under a transaction-level advisory lock (keyed by the store's
    schema, which it creates if missing) inside one transaction, so two processes opening the
    store at once take turns and the second finds nothing to do. SQLite has no advisory locks;
    there the upgrade simply runs in one ``BEGIN IMMEDIATE`` transaction (its DDL is
    transactional too), which has the same effect.
    A database already at head is only read, never locked.
    """
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return False
    with _ALEMBIC, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _prepare_postgres(connection)
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        if current_revision(connection) == head:
            return False
        command.upgrade(alembic_config(connection), "head")
    return True


def store_schema(connection: Connection) -> str:
    """The PostgreSQL schema a store connection serves (its ``search_path`` otherwise)."""
    schema = connection.info.get(SCHEMA_INFO)
    if isinstance(schema, str):
        return schema
    current = connection.execute(text("SELECT current_schema()")).scalar_one_or_none()
    if current is None:
        raise StoreError("no schema is on the connection's search_path", transient=False)
    return str(current)


def _prepare_postgres(connection: Connection) -> None:
    """Lock, create the store's schema, and point Alembic at the store wherever it is now.

    Alembic looks for its version table on the ``search_path``. A store of this layout has it
    in its own schema. A store made before the move has it where the URL alone pointed (what
    ``search_path`` is by DEFAULT, normally ``public``): the migrations then run there, and the
    move (``0006``) takes the tables, version table included, into the store's schema and sets
    ``search_path`` to it, where Alembic records the new revision.
    """
    schema = store_schema(connection)
    connection.execute(text(_LOCK), {"schema": schema})
    exists = connection.execute(
        text("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    if exists is None:
        connection.execute(text(f"CREATE SCHEMA {quote(schema)}"))
    if _has_version(connection, schema):
        return
    connection.execute(text("SET LOCAL search_path TO DEFAULT"))
    legacy = connection.execute(text("SELECT current_schema()")).scalar_one_or_none()
    if legacy is not None and legacy != schema and _has_version(connection, legacy):
        revision = connection.execute(
            text(f"SELECT version_num FROM {quote(legacy)}.{VERSION_TABLE}")
        ).scalar_one_or_none()
        if revision is not None and revision not in UNPREFIXED:
            raise StoreError(
                f"the lineage store in this database is in schema {legacy!r}, not {schema!r}; "
                f"set {SCHEMA_VARIABLE}={legacy} to use it",
                transient=False,
            )
        connection.execute(text(f"SET LOCAL search_path TO {quote(legacy)}"))
        return
    connection.execute(text(f"SET LOCAL search_path TO {quote(schema)}"))


def _has_version(connection: Connection, schema: str) -> bool:
    found = connection.execute(text(_VERSION_IN), {"schema": schema, "table": VERSION_TABLE})
    return found.first() is not None
