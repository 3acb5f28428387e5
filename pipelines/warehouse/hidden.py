"""The warehouse's hidden tables: versions being staged, and datasets being disposed of.

A staging table whose writer's advisory lock is free was left by a process that is gone (on
any host) and is stale unless a pending publication still needs it. A tombstone is a dataset
renamed away by an unfinished disposal, with every grant to other roles taken off it.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from pipelines.warehouse import catalog, privileges
from pipelines.warehouse.names import STAGED, TOMBSTONE, TableRef, tombstone_name
from pipelines.warehouse.tables import Warehouse


def hidden_tables(
    warehouse: Warehouse, kind: str = "staged", schemas: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """Every staging (``kind="staged"``) or tombstone (``"tombstone"``) table, as schema and
    name, in ``schemas`` (default: every schema)."""
    regex = STAGED if kind == "staged" else TOMBSTONE
    only = set(schemas) if schemas is not None else None
    with warehouse.connection() as conn:
        rows = conn.execute(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND c.relname LIKE '.%%' ORDER BY 1, 2"
        ).fetchall()
    return [
        (str(s), str(t))
        for s, t in rows
        if regex.match(str(t)) and (only is None or str(s) in only)
    ]


def writer_alive(warehouse: Warehouse, schema: str, table: str) -> bool:
    """Whether the writer of a staging table may still swap it in (it holds its lock)."""
    with warehouse.connection() as conn:
        return catalog.locked(conn, catalog.lock_key(schema, table))


def stale_staging(
    warehouse: Warehouse, keep: set[str] | None = None, schemas: Iterable[str] | None = None
) -> list[TableRef]:
    """Staging tables whose writer is gone, except those ``keep`` names (as record paths)."""
    skip = keep or set()
    return [
        ref
        for schema, table in hidden_tables(warehouse, "staged", schemas)
        if str(ref := TableRef(warehouse.server, schema, table)) not in skip
        and not writer_alive(warehouse, schema, table)
    ]


def drop_stale(
    warehouse: Warehouse, keep: set[str] | None = None, schemas: Iterable[str] | None = None
) -> list[TableRef]:
    """Drop every stale staging table (see :func:`stale_staging`); those dropped."""
    dropped = []
    for ref in stale_staging(warehouse, keep, schemas):
        with warehouse.connection() as conn:
            if catalog.try_lock(conn, catalog.lock_key(ref.schema, ref.table)):
                conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(
                        catalog.qualified(ref.schema, ref.table)
                    )
                )
                dropped.append(ref)
    return dropped


def bury(warehouse: Warehouse, department: str, dataset: str, stamp: str) -> str | None:
    """Rename the dataset to its tombstone for ``stamp`` and take every grant off it, in one
    transaction; the tombstone's name (None if the dataset is not there)."""
    ref = warehouse.ref(department, dataset)
    tombstone = tombstone_name(ref.table, stamp)
    target = catalog.qualified(ref.schema, ref.table)
    with warehouse.connection() as conn, conn.transaction(), conn.cursor() as cur:
        found = catalog.oid(cur, ref.schema, ref.table)
        if found is None:
            return None
        cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(target))
        privileges.revoke_all(cur, found, target)
        cur.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(target, sql.Identifier(tombstone))
        )
        meta = catalog.note(cur, ref.schema, tombstone) or {}
        if meta.get("dataset") != ref.table:
            catalog.set_note(cur, ref.schema, tombstone, {**meta, "dataset": ref.table})
    return tombstone


def pending_tombstone(warehouse: Warehouse, department: str, dataset: str) -> str | None:
    """The tombstone an unfinished disposal of the dataset left, if any (the oldest)."""
    ref = warehouse.ref(department, dataset)
    for schema, table in hidden_tables(warehouse, "tombstone", [ref.schema]):
        if (warehouse.comment(schema, table) or {}).get("dataset") == ref.table:
            return table
    return None
