"""Staging a dataset from a table or query of the warehouse's own database; no row leaves it.

:func:`stage_query` is :meth:`Warehouse.stage <pipelines.warehouse.tables.Warehouse.stage>` for
a source already in PostgreSQL: the hidden staging table (same name, advisory lock and comment,
so recovery, stale-table cleanup, reading back and ``version()`` work unchanged) is filled by
``INSERT INTO staging SELECT <declared columns cast to the declared types> FROM <source>``, with
the casts of :mod:`pipelines.warehouse.conform_sql`, which report the values
:func:`pipelines.extracts.conform` would find unreadable: a count and the first row keys a
column, never a value. Text declared as a date is parsed by pandas itself, one distinct value at
a time, streamed in chunks (a value is never logged or kept). Everything runs in one
``REPEATABLE READ`` transaction, so every scan sees the same source rows.

Content identity (:func:`identify`): a frame's is the SHA-256 of the CSV Arrow writes for it,
which needs the rows in Python. A version staged here instead records the SHA-256 of its column
header, the line ``IDENTITY`` and the ``md5`` of each row's PostgreSQL text, in primary-key
order, streamed from the server (32 bytes a row, constant memory); the comment says which
(``"identity"``). ``version()`` and the publication record both read that one value, so they
agree; the same content staged by the two paths has two different identities.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from psycopg import IsolationLevel, sql

from pipelines.extracts import conform, to_dates
from pipelines.model import ColumnType, Dataset
from pipelines.warehouse import catalog, codec
from pipelines.warehouse.catalog import Conn, Cur, qualified
from pipelines.warehouse.conform_sql import FAMILIES, TEXT, Conversion, conversion, key_text
from pipelines.warehouse.names import check_name, staging_name
from pipelines.warehouse.tables import Staged, StageError, Warehouse

IDENTITY = "pg-row-md5-by-key/1"
CHUNK = 50_000
SOURCE = sql.Identifier("s")


@dataclass(frozen=True)
class Unreadable:
    """Values of a column that could not be read as its declared type: how many, and the first
    rows' primary keys (as text) with their 1-based position in the source."""

    column: str
    count: int
    keys: tuple[dict[str, str | int | None], ...]


@dataclass
class Loaded:
    """A version staged from a query, with the values it could not read."""

    staged: Staged
    unreadable: tuple[Unreadable, ...]


def declared_columns(dataset: Dataset) -> list[codec.Column]:
    """How the declared columns are stored: as the warehouse stores a conformed frame."""
    empty = pd.DataFrame({n: pd.Series([], dtype=object) for n in dataset.column_names})
    return codec.columns_of(conform(empty, dataset)[0])


def source_types(warehouse: Warehouse, relation: sql.Composable) -> dict[str, str]:
    """The columns ``relation`` (a table name or a parenthesised query) yields, and their type
    names (``int8``, ``text``...), without reading a row."""
    with warehouse.connection() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM {} AS s LIMIT 0").format(relation))
        described = [(d.name, int(d.type_code)) for d in cur.description or ()]
        cur.execute(
            "SELECT oid::int8, typname::text FROM pg_type WHERE oid = ANY(%s)",
            ([oid for _, oid in described],),
        )
        names = {int(o): str(t) for o, t in cur.fetchall()}
    return {name: names.get(oid, "") for name, oid in described}


def unsupported(dataset: Dataset, types: Mapping[str, str]) -> str | None:
    """Why the declared columns cannot be cast in the database (None if they can)."""
    for column in dataset.columns:
        typname = types.get(column.name, "")
        family = FAMILIES.get(typname)
        placeholder = sql.SQL("NULL::timestamp")
        if family is None or conversion(column.type, family, SOURCE, placeholder) is None:
            return (
                f"column {column.name} is {typname or 'of an unknown type'} in the source and "
                f"declared {column.type.value}"
            )
    return None


def stage_query(
    warehouse: Warehouse,
    department: str,
    dataset: Dataset,
    relation: sql.Composable,
    types: Mapping[str, str],
    *,
    max_keys: int = 20,
) -> Loaded:
    """Load ``relation``'s declared columns, cast to their declared types, into a new hidden
    table beside ``department.<dataset>``; its identity is set by :func:`identify`."""
    schema, name = check_name("department", department), check_name("dataset", dataset.name)
    columns = declared_columns(dataset)
    table = staging_name(name)
    conn = warehouse._connect()
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (catalog.lock_key(schema, table),))
        warehouse._ensure_schema(conn, schema)
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction(), conn.cursor() as cur:
            days = _parse_text_dates(conn, cur, dataset, relation, types)
            casts = _conversions(dataset, types, days)
            target = qualified(schema, table)
            cur.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    target,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type))
                        for c in columns
                    ),
                )
            )
            cur.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} AS {}").format(
                    target,
                    sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
                    sql.SQL(", ").join(casts[c.name].value for c in columns),
                    relation,
                    SOURCE,
                )
            )
            rows = cur.rowcount
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
            if catalog.one(cur) != rows:
                raise StageError(f"{schema}.{name}: the staged row count is not the inserted one")
            unreadable = _unreadable(cur, dataset, relation, casts, max_keys)
            comment = {
                "tagtrail": 1,
                "dataset": name,
                "sha256": "",
                "identity": IDENTITY,
                "rows": rows,
                "dtypes": {c.name: c.dtype for c in columns},
            }
            catalog.set_note(cur, schema, table, comment)
        conn.isolation_level = None
    except BaseException:
        conn.close()
        raise
    return Loaded(Staged(warehouse, schema, name, table, "", rows, conn), unreadable)


def identify(staged: Staged, dataset: Dataset) -> str:
    """Compute the staged version's content identity (see the module), note it on the table
    and on ``staged``; the identity."""
    conn = staged._conn
    assert conn is not None, "already closed"
    digest = hashlib.sha256(codec.header(declared_columns(dataset)) + IDENTITY.encode() + b"\n")
    order = sql.SQL(", ").join(
        sql.Identifier(c) for c in (*dataset.primary_key, *dataset.column_names)
    )
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL extra_float_digits = 1")
        cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        query = sql.SQL("COPY (SELECT md5(t::text) FROM {} AS t ORDER BY {}) TO STDOUT").format(
            qualified(staged.schema, staged.table), order
        )
        with cur.copy(query) as copy:
            for chunk in copy:
                digest.update(chunk)
        meta = catalog.note(cur, staged.schema, staged.table) or {}
        catalog.set_note(cur, staged.schema, staged.table, {**meta, "sha256": digest.hexdigest()})
    staged.sha256 = digest.hexdigest()
    return staged.sha256


def _conversions(
    dataset: Dataset, types: Mapping[str, str], days: Mapping[str, sql.Composable]
) -> dict[str, Conversion]:
    out = {}
    for column in dataset.columns:
        raw = sql.SQL("{}.{}").format(SOURCE, sql.Identifier(column.name))
        family = FAMILIES.get(types.get(column.name, ""), "")
        found = conversion(column.type, family, raw, days.get(column.name))
        if found is None:
            raise ValueError(f"{dataset.name}.{column.name}: {unsupported(dataset, types)}")
        out[column.name] = found
    return out


def _parse_text_dates(
    conn: Conn, cur: Cur, dataset: Dataset, relation: sql.Composable, types: Mapping[str, str]
) -> dict[str, sql.Composable]:
    """For each text column declared as a date: a temporary table of its distinct values and
    the day pandas reads each as; the lookup of a row's day in it."""
    lookups: dict[str, sql.Composable] = {}
    texts = [
        c.name
        for c in dataset.columns
        if c.type is ColumnType.DATE and FAMILIES.get(types.get(c.name, "")) == TEXT
    ]
    for i, name in enumerate(texts):
        days = sql.Identifier(f"tagtrail_days_{i}")
        raw = sql.SQL("{}.{}").format(SOURCE, sql.Identifier(name))
        cur.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {} (raw text PRIMARY KEY, day timestamp) ON COMMIT DROP"
            ).format(days)
        )
        with conn.cursor(name=f"tagtrail_distinct_{i}") as values:
            values.execute(
                sql.SQL("SELECT DISTINCT {r}::text FROM {rel} AS {s} WHERE {r} IS NOT NULL").format(
                    r=raw, rel=relation, s=SOURCE
                )
            )
            while batch := values.fetchmany(CHUNK):
                texts_ = pd.Series([row[0] for row in batch], dtype=object)
                parsed = to_dates(texts_)
                with cur.copy(sql.SQL("COPY {} (raw, day) FROM STDIN").format(days)) as copy:
                    for text, day in zip(texts_, parsed, strict=True):
                        copy.write_row((text, None if pd.isna(day) else day.to_pydatetime()))
        cur.execute(sql.SQL("ANALYZE {}").format(days))
        lookups[name] = sql.SQL(
            "(SELECT d.day FROM pg_temp.{} AS d WHERE d.raw = {}::text)"
        ).format(days, raw)
    return lookups


def _unreadable(
    cur: Cur,
    dataset: Dataset,
    relation: sql.Composable,
    casts: Mapping[str, Conversion],
    max_keys: int,
) -> tuple[Unreadable, ...]:
    checked = [c for c in dataset.column_names if casts[c].bad is not None]
    if not checked:
        return ()
    cur.execute(
        sql.SQL("SELECT {} FROM {} AS {}").format(
            sql.SQL(", ").join(
                sql.SQL("count(*) FILTER (WHERE {})").format(casts[c].bad) for c in checked
            ),
            relation,
            SOURCE,
        )
    )
    counts = cur.fetchone() or ()
    found = []
    for name, count in zip(checked, counts, strict=True):
        if count:
            keys = _keys(cur, dataset, relation, casts, name, max_keys)
            found.append(Unreadable(name, int(count), keys))
    return tuple(found)


def _keys(
    cur: Cur,
    dataset: Dataset,
    relation: sql.Composable,
    casts: Mapping[str, Conversion],
    column: str,
    max_keys: int,
) -> tuple[dict[str, str | int | None], ...]:
    """The first ``max_keys`` rows (in the source's order) whose ``column`` is unreadable."""
    if max_keys <= 0:
        return ()
    pk: Sequence[str] = dataset.primary_key
    texts = [key_text(dataset.column(k).type, casts[k].value) for k in pk]
    cur.execute(
        sql.SQL(
            'SELECT * FROM (SELECT row_number() OVER () AS "._n", {}, {} AS "._bad" FROM {} AS {}) '
            'AS q WHERE "._bad" ORDER BY "._n" LIMIT {}'
        ).format(
            sql.SQL(", ").join(texts),
            casts[column].bad,
            relation,
            SOURCE,
            sql.Literal(max_keys),
        )
    )
    return tuple(
        {k: (None if v is None else str(v)) for k, v in zip(pk, row[1:-1], strict=True)}
        | {"row_number": int(row[0])}
        for row in cur.fetchall()
    )
