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

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "tagtrail_lineage_version"
_ALEMBIC = threading.RLock()  # Alembic's context and op proxies are process-global
_LOCK = (
    "SELECT pg_advisory_xact_lock("
    "hashtext('tagtrail.lineage'), hashtext(coalesce(current_schema(), '')))"
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

    On PostgreSQL the upgrade runs under a transaction-level advisory lock (keyed by the current
    schema) inside one transaction, so two processes opening the store at once take turns and
    the second finds nothing to do. SQLite has no advisory locks; there the upgrade simply runs in
    one ``BEGIN IMMEDIATE`` transaction (its DDL is transactional too), which has the same effect.
    A database already at head is only read, never locked.
    """
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return False
    with _ALEMBIC, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(_LOCK))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        if current_revision(connection) == head:
            return False
        command.upgrade(alembic_config(connection), "head")
    return True
