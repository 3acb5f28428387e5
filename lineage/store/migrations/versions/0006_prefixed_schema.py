"""Every table named ``tagtrail_<name>``; on PostgreSQL the store in a schema of its own.

Dagster's instance storage (``runs``, ``jobs``, ...) can then share the database. On PostgreSQL
the tables, their sequences and the version table move from where the store was (the schema
:mod:`lineage.store.migrate` found its version table in, normally ``public``) into the store's
schema; constraints, indexes and sequences are renamed after their tables. Both are catalog
changes only: no row is copied. SQLite renames the tables (it rewrites the foreign keys pointing
at them) and rebuilds each index under its new name; constraint names written inside a SQLite
table's definition are not objects of their own, cannot clash and are left as they were (changing
them would mean copying every table).

The downgrade renames everything back and, on PostgreSQL, moves the store to the schema the
connection's default ``search_path`` gives, where an earlier tagtrail looks for it.

Revision ID: 0006_prefixed_schema
Revises: 0005_trace_indexes
Create Date: 2026-11-29
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from lineage.store.schema import PREFIX, SCHEMA_INFO, quote

revision: str = "0006_prefixed_schema"
down_revision: str | None = "0005_trace_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "events",
    "jobs",
    "runs",
    "datasets",
    "columns",
    "column_tags",
    "run_datasets",
    "dataset_edges",
    "column_edges",
    "audit_records",
    "publications",
    "deliveries",
)
VERSION_TABLE = "tagtrail_lineage_version"
# prefixed, this one would pass PostgreSQL's 63 characters and be cut short
SHORTENED = {
    "uq_dataset_edges_input_dataset_id_output_dataset_id_job_id": (
        "uq_tagtrail_dataset_edges_input_output_job"
    ),
}
_KINDS = ("pk_", "uq_", "ix_", "fk_")

Rename = Callable[[str, str, str | None], str]


def prefixed(name: str, table: str, referred: str | None = None) -> str:
    """The name of ``table``'s index, constraint or sequence ``name`` once tables are prefixed."""
    if name in SHORTENED:
        return SHORTENED[name]
    if name == f"{table}_id_seq":
        return PREFIX + name
    kind, rest = name[:3], name[3:]
    if kind not in _KINDS or not (rest == table or rest.startswith(f"{table}_")):
        return name
    renamed = f"{kind}{PREFIX}{rest}"
    if kind == "fk_" and referred is not None and renamed.endswith(f"_{referred}"):
        renamed = renamed[: -len(referred)] + PREFIX + referred
    return renamed


def unprefixed(name: str, table: str, referred: str | None = None) -> str:
    """The inverse of :func:`prefixed`, for the old (unprefixed) ``table`` and ``referred``."""
    for old, new in SHORTENED.items():
        if name == new:
            return old
    if name == f"{PREFIX}{table}_id_seq":
        return name[len(PREFIX) :]
    kind, rest = name[:3], name[3:]
    if kind not in _KINDS or not (rest == PREFIX + table or rest.startswith(f"{PREFIX}{table}_")):
        return name
    restored = kind + rest[len(PREFIX) :]
    if kind == "fk_" and referred is not None and restored.endswith(f"_{PREFIX}{referred}"):
        restored = restored[: -len(PREFIX + referred)] + referred
    return restored


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        source = _current_schema(bind)
        target = bind.info.get(SCHEMA_INFO, source)
        if source != target:
            for table in (*TABLES, VERSION_TABLE):
                bind.execute(
                    sa.text(f"ALTER TABLE {quote(source)}.{table} SET SCHEMA {quote(target)}")
                )
        _rename_postgres(bind, target, {t: PREFIX + t for t in TABLES}, prefixed)
        # Alembic now records the revision in the version table where it has just moved
        bind.execute(sa.text(f"SET LOCAL search_path TO {quote(target)}"))
    else:
        _rename_sqlite(bind, {t: PREFIX + t for t in TABLES}, prefixed)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        source = bind.info.get(SCHEMA_INFO) or _current_schema(bind)
        bind.execute(sa.text(f"SET LOCAL search_path TO {quote(source)}"))
        _rename_postgres(bind, source, {PREFIX + t: t for t in TABLES}, _unprefix)
        bind.execute(sa.text("SET LOCAL search_path TO DEFAULT"))
        target = bind.execute(sa.text("SELECT current_schema()")).scalar_one_or_none() or source
        if target != source:
            for table in (*TABLES, VERSION_TABLE):
                bind.execute(
                    sa.text(f"ALTER TABLE {quote(source)}.{table} SET SCHEMA {quote(target)}")
                )
        bind.execute(sa.text(f"SET LOCAL search_path TO {quote(target)}"))
    else:
        _rename_sqlite(bind, {PREFIX + t: t for t in TABLES}, _unprefix)


def _unprefix(name: str, table: str, referred: str | None) -> str:
    return unprefixed(name, _bare(table), _bare(referred) if referred else None)


def _bare(table: str) -> str:
    return table[len(PREFIX) :] if table.startswith(PREFIX) else table


def _current_schema(bind: sa.Connection) -> str:
    return str(bind.execute(sa.text("SELECT current_schema()")).scalar_one())


_CONSTRAINTS = """
SELECT con.conname, rel.relname, ref.relname
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class rel ON rel.oid = con.conrelid
LEFT JOIN pg_catalog.pg_class ref ON ref.oid = con.confrelid
WHERE rel.relnamespace = CAST(:schema AS regnamespace) AND rel.relname = ANY(:tables)
"""
_INDEXES = """
SELECT i.relname, t.relname
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = CAST(:schema AS regnamespace) AND t.relname = ANY(:tables)
AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_constraint c
    WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid
)
"""
_SEQUENCES = """
SELECT s.relname, t.relname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
AND t.relnamespace = CAST(:schema AS regnamespace) AND t.relname = ANY(:tables)
"""


def _rename_postgres(
    bind: sa.Connection, schema: str, tables: dict[str, str], rename: Rename
) -> None:
    """Rename ``tables`` (old -> new) in ``schema``, and their constraints, indexes, sequences."""
    where = {"schema": schema, "tables": list(tables)}
    qualified = quote(schema)
    for name, table, referred in bind.execute(sa.text(_CONSTRAINTS), where).all():
        new = rename(name, table, referred)
        if new != name:
            bind.execute(
                sa.text(f"ALTER TABLE {qualified}.{table} RENAME CONSTRAINT {name} TO {new}")
            )
    for name, table in bind.execute(sa.text(_INDEXES), where).all():
        new = rename(name, table, None)
        if new != name:
            bind.execute(sa.text(f"ALTER INDEX {qualified}.{name} RENAME TO {new}"))
    for name, table in bind.execute(sa.text(_SEQUENCES), where).all():
        new = rename(name, table, None)
        if new != name:
            bind.execute(sa.text(f"ALTER SEQUENCE {qualified}.{name} RENAME TO {new}"))
    for old, new in tables.items():
        bind.execute(sa.text(f"ALTER TABLE {qualified}.{old} RENAME TO {new}"))


_INDEX_NAME = re.compile(r"^(CREATE\s+(?:UNIQUE\s+)?INDEX\s+)(\"?)(\w+)\2", re.IGNORECASE)


def _rename_sqlite(bind: sa.Connection, tables: dict[str, str], rename: Rename) -> None:
    """Rename ``tables`` (old -> new); SQLite has no ALTER INDEX, so each index is rebuilt."""
    for old, new in tables.items():
        bind.execute(sa.text(f'ALTER TABLE "{old}" RENAME TO "{new}"'))
    marks = ", ".join(f":t{i}" for i in range(len(tables)))
    indexes = bind.execute(
        sa.text(
            "SELECT name, tbl_name, sql FROM sqlite_master"
            f" WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
        ),
        {f"t{i}": new for i, new in enumerate(tables.values())},
    ).all()
    old_of = {new: old for old, new in tables.items()}
    for name, table, sql in indexes:
        new_name = rename(name, old_of[table], None)
        if new_name == name:
            continue
        bind.execute(sa.text(f'DROP INDEX "{name}"'))
        match = _INDEX_NAME.match(sql)
        if match is None:
            raise RuntimeError(f"unexpected definition of index {name}")
        bind.execute(sa.text(f'{match.group(1)}"{new_name}"{sql[match.end() :]}'))
