"""Alembic environment: runs on the connection handed over by :func:`lineage.store.migrate.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lineage.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the lineage store migrations through lineage.store.open_store()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=config.get_main_option("version_table") or "tagtrail_lineage_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
