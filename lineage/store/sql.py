"""Portable statements the write path needs: race-safe inserts on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from lineage.store.models import Column, Dataset
from lineage.store.parse import DatasetRef, department_of

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
    for part in chunks(rows):
        statement = dialect_insert(session, model).on_conflict_do_nothing(index_elements=conflict)
        session.execute(statement, list(part))


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
        )
        session.execute(statement, list(part))


def ensure_datasets(session: Session, refs: Sequence[DatasetRef]) -> dict[DatasetRef, int]:
    """Ids of the datasets, creating missing ones (department from a ``tagtrail.*`` namespace)."""
    wanted = sorted(set(refs))
    rows = [
        {"namespace": r.namespace, "name": r.name, "department": department_of(r.namespace)}
        for r in wanted
    ]
    insert_ignore(session, Dataset, rows, ["namespace", "name"])
    ids: dict[DatasetRef, int] = {}
    for part in chunks(wanted):
        keys = [(r.namespace, r.name) for r in part]
        query = session.execute(
            select(Dataset.id, Dataset.namespace, Dataset.name).where(
                tuple_(Dataset.namespace, Dataset.name).in_(keys)
            )
        )
        ids.update({DatasetRef(ns, name): id_ for id_, ns, name in query})
    return ids


def ensure_columns(session: Session, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Ids of (dataset id, column name) pairs, creating the missing columns without a type."""
    wanted = sorted(set(keys))
    rows = [{"dataset_id": d, "name": n} for d, n in wanted]
    insert_ignore(session, Column, rows, ["dataset_id", "name"])
    ids: dict[tuple[int, str], int] = {}
    for part in chunks(wanted):
        query = session.execute(
            select(Column.id, Column.dataset_id, Column.name).where(
                tuple_(Column.dataset_id, Column.name).in_(list(part))
            )
        )
        ids.update({(d, n): id_ for id_, d, n in query})
    return ids
