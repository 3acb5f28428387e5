"""The columns and column tags of datasets being rebuilt, written as a difference.

A new version of a dataset mostly declares the columns and tags its last version had; rewriting
them all would cost a delete and an insert per row, every run. Here the rows held are read once
for all datasets of a batch, and only what changed is written: new columns inserted, changed
ones updated, columns no version declares any more unpositioned (so that
:func:`lineage.store.rebuild.drop_orphans` can forget them), tags inserted or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from lineage.store.models import Column, ColumnTag
from lineage.store.sql import bulk_insert, chunks, ensure_columns, upsert

_QUIET = {"synchronize_session": False}
ColumnKey = tuple[int, str]
_Held = tuple[int, str | None, str | None, int | None]


def write_columns(
    session: Session, dataset_ids: Sequence[int], rows: Sequence[dict[str, Any]]
) -> dict[ColumnKey, int]:
    """Make the datasets' positioned columns exactly ``rows`` (dataset_id, name, type,
    description, position); the id of every column in ``rows``."""
    held: dict[ColumnKey, _Held] = {}
    for part in chunks(sorted(set(dataset_ids))):
        query = select(
            Column.dataset_id,
            Column.name,
            Column.id,
            Column.type,
            Column.description,
            Column.position,
        ).where(Column.dataset_id.in_(part))
        held.update({(d, n): (i, t, desc, p) for d, n, i, t, desc, p in session.execute(query)})
    wanted = {(r["dataset_id"], r["name"]): r for r in rows}
    new = [r for key, r in wanted.items() if key not in held]
    changed = [
        {
            "p_id": held[key][0],
            "type": r["type"],
            "description": r["description"],
            "position": r["position"],
        }
        for key, r in wanted.items()
        if key in held and held[key][1:] != (r["type"], r["description"], r["position"])
    ]
    gone = [h[0] for key, h in held.items() if key not in wanted and h[3] is not None]
    upsert(session, Column, new, ["dataset_id", "name"], ["type", "description", "position"])
    if changed:
        table = cast(Table, Column.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("p_id"))
            .values(
                type=bindparam("type"),
                description=bindparam("description"),
                position=bindparam("position"),
            )
        )
        session.execute(statement, changed)
    for part in chunks(gone):
        session.execute(
            update(Column).where(Column.id.in_(part)).values(position=None),
            execution_options=_QUIET,
        )
    ids = {key: h[0] for key, h in held.items() if key in wanted}
    ids.update(ensure_columns(session, [(r["dataset_id"], r["name"]) for r in new]))
    return ids


def write_tags(
    session: Session, dataset_ids: Sequence[int], rows: Sequence[dict[str, Any]]
) -> None:
    """Make the tags of the datasets' columns exactly ``rows`` (column_id, tag, value,
    identifiability, attributions): rows that differ are deleted and inserted again."""
    held: dict[tuple[int, str], list[tuple[int, tuple[Any, ...]]]] = {}
    for part in chunks(sorted(set(dataset_ids))):
        query = (
            select(
                ColumnTag.column_id,
                ColumnTag.tag,
                ColumnTag.id,
                ColumnTag.value,
                ColumnTag.identifiability,
                ColumnTag.attributions,
            )
            .join(Column, Column.id == ColumnTag.column_id)
            .where(Column.dataset_id.in_(part))
        )
        for column_id, tag, tag_id, value, identifiability, attributions in session.execute(query):
            held.setdefault((column_id, tag), []).append(
                (tag_id, (value, identifiability, attributions))
            )
    stale: list[int] = []
    fresh: list[dict[str, Any]] = []
    for r in rows:
        content = (r["value"], r["identifiability"], r["attributions"])
        found = held.pop((r["column_id"], r["tag"]), [])
        if found and found[0][1] == content:
            stale.extend(tag_id for tag_id, _ in found[1:])
        else:
            stale.extend(tag_id for tag_id, _ in found)
            fresh.append(r)
    stale.extend(tag_id for found in held.values() for tag_id, _ in found)
    for part in chunks(sorted(stale)):
        session.execute(delete(ColumnTag).where(ColumnTag.id.in_(part)), execution_options=_QUIET)
    bulk_insert(session, ColumnTag, fresh)
