"""Portable statements the write path needs: race-safe inserts on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from lineage.store import jsontext
from lineage.store.models import Column, Dataset
from lineage.store.parse import DatasetRef, department_of
from lineage.store.schema import SCHEMA_INFO

T = TypeVar("T")
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices small enough for any backend's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(session: Session, model: type[DeclarativeBase]) -> Any:
    """The backend's ``INSERT`` construct, which knows ``ON CONFLICT``.

    It is built on the model's table: a Core insert sends every row of a batch in multi-row
    statements, where the ORM's bulk insert would group rows by which values are None.
    """
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
) -> None:
    """Insert rows, skipping those whose ``conflict`` columns already exist (even concurrently)."""
    statement = dialect_insert(session, model).on_conflict_do_nothing(index_elements=conflict)
    # RETURNING makes SQLAlchemy send many rows a statement ("insertmanyvalues") on every
    # backend, where psycopg would otherwise run one statement per row.
    statement = statement.returning(*_key(model))
    for part in chunks(rows):
        session.execute(statement, list(part))


def _key(model: type[DeclarativeBase]) -> list[Any]:
    return list(cast(Table, model.__table__).primary_key.columns)


def upsert(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert rows, or update the ``update`` columns of the rows that already exist."""
    for part in chunks(rows):
        statement = dialect_insert(session, model)
        statement = statement.on_conflict_do_update(
            index_elements=conflict, set_={c: statement.excluded[c] for c in update}
        ).returning(*_key(model))
        session.execute(statement, list(part))


def bulk_insert(
    session: Session, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows known to be new, as fast as the backend takes them: ``COPY`` on PostgreSQL,
    the driver's own ``executemany`` on SQLite (no statement compiled per row either way)."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    names = list(rows[0])
    encoders = [jsontext.dumps if isinstance(table.c[n].type, JSON) else None for n in names]
    values = [
        tuple(
            row[n] if encode is None or row[n] is None else encode(row[n])
            for n, encode in zip(names, encoders, strict=True)
        )
        for row in rows
    ]
    connection = session.connection()
    preparer = connection.dialect.identifier_preparer
    target = preparer.format_table(table)
    columns = ", ".join(preparer.quote(n) for n in names)
    if connection.dialect.name == "postgresql":
        schema = connection.info.get(SCHEMA_INFO)
        if isinstance(schema, str):  # COPY bypasses SQLAlchemy: name the store's schema itself
            target = f"{preparer.quote_schema(schema)}.{preparer.quote(table.name)}"
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        return
    marks = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) VALUES ({marks})", values)


def ensure_datasets(session: Session, refs: Sequence[DatasetRef]) -> dict[DatasetRef, int]:
    """Ids of the datasets, creating missing ones (department from a ``tagtrail.*`` namespace)."""
    wanted = sorted(set(refs))
    ids = _dataset_ids(session, wanted)
    missing = [r for r in wanted if r not in ids]
    if missing:
        rows = [
            {"namespace": r.namespace, "name": r.name, "department": department_of(r.namespace)}
            for r in missing
        ]
        insert_ignore(session, Dataset, rows, ["namespace", "name"])
        ids.update(_dataset_ids(session, missing))
    return ids


def _dataset_ids(session: Session, refs: Sequence[DatasetRef]) -> dict[DatasetRef, int]:
    ids: dict[DatasetRef, int] = {}
    for part in chunks(refs):
        keys = [(r.namespace, r.name) for r in part]
        query = session.execute(
            select(Dataset.id, Dataset.namespace, Dataset.name).where(
                tuple_(Dataset.namespace, Dataset.name).in_(keys)
            )
        )
        ids.update({DatasetRef(ns, name): id_ for id_, ns, name in query})
    return ids


def ensure_columns(session: Session, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Ids of (dataset id, column name) pairs, creating the missing columns without a type.

    Every column of the datasets named is read in one query (by dataset id, which the index
    serves directly); only the missing ones are inserted, and read back.
    """
    wanted = sorted(set(keys))
    ids: dict[tuple[int, str], int] = {}
    for datasets in chunks(sorted({d for d, _ in wanted})):
        query = select(Column.id, Column.dataset_id, Column.name).where(
            Column.dataset_id.in_(datasets)
        )
        ids.update({(d, n): id_ for id_, d, n in session.execute(query)})
    missing = [key for key in wanted if key not in ids]
    if missing:
        rows = [{"dataset_id": d, "name": n} for d, n in missing]
        insert_ignore(session, Column, rows, ["dataset_id", "name"])
        for part in chunks(missing):
            query = select(Column.id, Column.dataset_id, Column.name).where(
                tuple_(Column.dataset_id, Column.name).in_(list(part))
            )
            ids.update({(d, n): id_ for id_, d, n in session.execute(query)})
    return {key: ids[key] for key in wanted}
