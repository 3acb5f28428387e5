"""Tracing lineage hop by hop: a breadth-first walk, one indexed query per level.

A level's frontier is looked up with ``IN`` lists against the edge tables' indexes (never a scan of
the graph), every node is expanded at most once (so cycles end), and tags for all the hops are
read in one batch at the end. The number of round trips is the depth, not the number of nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from lineage.store.models import Column, ColumnEdge, Dataset, DatasetEdge, Job
from lineage.store.queries import tags_for_columns, tags_for_datasets
from lineage.store.records import Direction, Hop, TagRecord, Transformation
from lineage.store.sql import CHUNK, chunks

_From, _To = aliased(Dataset), aliased(Dataset)
_FromColumn, _ToColumn = aliased(Column), aliased(Column)


@dataclass
class _Edge:
    """A hop before its tags are known; ids keep the walk independent of names."""

    depth: int
    from_dataset: tuple[int, str, str | None]
    to_dataset: tuple[int, str, str | None]
    from_column: tuple[int, str] | None
    to_column: tuple[int, str] | None
    job: str
    agreement_id: str | None
    purpose: str | None
    transformations: list[Transformation]


def _match(column: Any, ids: BindParameter[Any]) -> ColumnElement[bool]:
    if ids.expanding:
        return cast("ColumnElement[bool]", column.in_(ids))
    return cast("ColumnElement[bool]", column == any_(ids))


def _column_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            ColumnEdge.id,
            _From.id,
            _From.name,
            _From.department,
            _To.id,
            _To.name,
            _To.department,
            ColumnEdge.from_column_id,
            _FromColumn.name,
            ColumnEdge.to_column_id,
            _ToColumn.name,
            Job.name,
            DatasetEdge.agreement_id,
            DatasetEdge.purpose,
            ColumnEdge.type,
            ColumnEdge.subtype,
            ColumnEdge.masking,
            ColumnEdge.description,
        )
        .join(_FromColumn, _FromColumn.id == ColumnEdge.from_column_id)
        .join(_From, _From.id == _FromColumn.dataset_id)
        .join(_To, _To.id == ColumnEdge.to_dataset_id)
        .outerjoin(_ToColumn, _ToColumn.id == ColumnEdge.to_column_id)
        .join(Job, Job.id == ColumnEdge.job_id)
        .outerjoin(
            DatasetEdge,
            and_(
                DatasetEdge.input_dataset_id == _FromColumn.dataset_id,
                DatasetEdge.output_dataset_id == ColumnEdge.to_dataset_id,
                DatasetEdge.job_id == ColumnEdge.job_id,
            ),
        )
        .order_by(ColumnEdge.id)
    )


def _ids(name: str) -> BindParameter[Any]:
    return bindparam(name, expanding=True)


def _array(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=postgresql.ARRAY(BigInteger))


# Built once, so a level costs its lookup, not composing and keying a statement. Upstream, the
# edges into the frontier's columns and into its whole datasets come back in one statement, each
# half matching a partial index. PostgreSQL gets arrays: a constant text the server prepares once.
_STATEMENTS = {
    (dialect, direction): _column_query().where(criterion)
    for dialect, ids in (("sqlite", _ids), ("postgresql", _array))
    for direction, criterion in (
        ("downstream", _match(ColumnEdge.from_column_id, ids("columns"))),
        ("upstream", _match(ColumnEdge.to_column_id, ids("columns"))),
        (
            "both",
            or_(
                _match(ColumnEdge.to_column_id, ids("columns")),
                and_(
                    _match(ColumnEdge.to_dataset_id, ids("datasets")),
                    ColumnEdge.to_column_id.is_(None),
                ),
            ),
        ),
    )
}


def _column_level(
    session: Session, frontier: Sequence[int], datasets: Sequence[int], direction: Direction
) -> list[Any]:
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    size = max(len(frontier), len(datasets), 1) if dialect == "postgresql" else CHUNK
    rows: list[Any] = []
    for start in range(0, max(len(frontier), len(datasets)), size):
        columns, ids = list(frontier[start : start + size]), list(datasets[start : start + size])
        if ids:
            params = {"columns": columns, "datasets": ids}
            rows += session.execute(_STATEMENTS[dialect, "both"], params).all()
        else:
            rows += session.execute(_STATEMENTS[dialect, direction], {"columns": columns}).all()
    return rows


def trace_columns(
    session: Session, start: int, start_dataset: int, direction: Direction, depth: int | None
) -> list[Hop]:
    """Column-level hops from column ``start``. A column feeding a whole dataset (a filter or
    grouping key) yields a hop with ``to_column`` None, which the walk does not expand further."""
    seen, seen_datasets = {start}, set()
    frontier, frontier_datasets = [start], [start_dataset]
    edges: dict[tuple[int, int, int | None, str], _Edge] = {}
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        wanted = frontier_datasets if direction == "upstream" else []
        seen_datasets.update(wanted)
        found: list[int] = []
        found_datasets: list[int] = []
        for row in _column_level(session, frontier, wanted, direction):
            (_, fd, fdn, fdd, td, tdn, tdd, fc, fcn, tc, tcn, job, agreement, purpose) = row[:14]
            key = (fc, td, tc, job)
            edge = edges.get(key)
            if edge is None:
                edge = edges[key] = _Edge(
                    level,
                    (fd, fdn, fdd),
                    (td, tdn, tdd),
                    (fc, fcn),
                    (tc, tcn) if tc is not None else None,
                    job,
                    agreement,
                    purpose,
                    [],
                )
            transformation = Transformation(*row[14:18])
            if transformation not in edge.transformations:
                edge.transformations.append(transformation)
            nxt, nxt_dataset = (tc, td) if direction == "downstream" else (fc, fd)
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                found.append(nxt)
                if nxt_dataset not in seen_datasets:
                    found_datasets.append(nxt_dataset)
        frontier, frontier_datasets = found, list(dict.fromkeys(found_datasets))
    column_ids = {e.to_column[0] for e in edges.values() if e.to_column}
    column_ids |= {e.from_column[0] for e in edges.values() if e.from_column}
    tags = tags_for_columns(session, column_ids)
    bases = _legal_bases(session, {e.to_dataset[0] for e in edges.values()})
    hops = [
        _hop(
            e,
            tags.get(e.to_column[0], ()) if e.to_column else (),
            tags.get(e.from_column[0], ()) if e.from_column else (),
            bases.get(e.to_dataset[0]),
        )
        for e in edges.values()
    ]
    return _ordered(hops)


def trace_datasets(
    session: Session, start: int, direction: Direction, depth: int | None
) -> list[Hop]:
    """Dataset-level hops from dataset ``start``; transformations summarise the column edges."""
    seen, frontier = {start}, [start]
    edges: dict[tuple[int, int, str], _Edge] = {}
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        found: list[int] = []
        for part in chunks(frontier):
            column = (
                DatasetEdge.input_dataset_id
                if direction == "downstream"
                else DatasetEdge.output_dataset_id
            )
            query = (
                select(
                    _From.id,
                    _From.name,
                    _From.department,
                    _To.id,
                    _To.name,
                    _To.department,
                    Job.name,
                    DatasetEdge.agreement_id,
                    DatasetEdge.purpose,
                )
                .join(_From, _From.id == DatasetEdge.input_dataset_id)
                .join(_To, _To.id == DatasetEdge.output_dataset_id)
                .join(Job, Job.id == DatasetEdge.job_id)
                .where(column.in_(part))
                .order_by(DatasetEdge.id)
            )
            for fd, fdn, fdd, td, tdn, tdd, job, agreement, purpose in session.execute(query):
                edges.setdefault(
                    (fd, td, job),
                    _Edge(
                        level,
                        (fd, fdn, fdd),
                        (td, tdn, tdd),
                        None,
                        None,
                        job,
                        agreement,
                        purpose,
                        [],
                    ),
                )
                nxt = td if direction == "downstream" else fd
                if nxt not in seen:
                    seen.add(nxt)
                    found.append(nxt)
        frontier = found
    _summarise_transformations(session, list(edges.values()))
    dataset_ids = {e.to_dataset[0] for e in edges.values()} | {
        e.from_dataset[0] for e in edges.values()
    }
    tags = tags_for_datasets(session, dataset_ids)
    bases = _legal_bases(session, {e.to_dataset[0] for e in edges.values()})
    hops = [
        _hop(
            e,
            tags.get(e.to_dataset[0], ()),
            tags.get(e.from_dataset[0], ()),
            bases.get(e.to_dataset[0]),
        )
        for e in edges.values()
    ]
    return _ordered(hops)


def _legal_bases(session: Session, dataset_ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in chunks(sorted(dataset_ids)):
        query = select(Dataset.id, Dataset.legal_basis).where(
            Dataset.id.in_(part), Dataset.legal_basis.is_not(None)
        )
        found.update({i: basis for i, basis in session.execute(query) if basis is not None})
    return found


def _summarise_transformations(session: Session, edges: list[_Edge]) -> None:
    by_pair = {(e.from_dataset[0], e.to_dataset[0], e.job): e for e in edges}
    targets = sorted({e.to_dataset[0] for e in edges})
    for part in chunks(targets):
        query = (
            select(
                _FromColumn.dataset_id,
                ColumnEdge.to_dataset_id,
                Job.name,
                ColumnEdge.type,
                ColumnEdge.subtype,
                ColumnEdge.masking,
            )
            .join(_FromColumn, _FromColumn.id == ColumnEdge.from_column_id)
            .join(Job, Job.id == ColumnEdge.job_id)
            .where(ColumnEdge.to_dataset_id.in_(part))
            .distinct()
        )
        for fd, td, job, type_, subtype, masking in session.execute(query):
            edge = by_pair.get((fd, td, job))
            transformation = Transformation(type_, subtype, masking, None)
            if edge is not None and transformation not in edge.transformations:
                edge.transformations.append(transformation)
    for edge in edges:
        edge.transformations.sort(key=lambda t: (t.type or "", t.subtype or "", bool(t.masking)))


def _hop(
    edge: _Edge,
    tags: tuple[TagRecord, ...],
    from_tags: tuple[TagRecord, ...],
    legal_basis: str | None,
) -> Hop:
    return Hop(
        depth=edge.depth,
        from_dataset=edge.from_dataset[1],
        from_column=edge.from_column[1] if edge.from_column else None,
        to_dataset=edge.to_dataset[1],
        to_column=edge.to_column[1] if edge.to_column else None,
        job=edge.job,
        department=edge.to_dataset[2],
        agreement_id=edge.agreement_id,
        purpose=edge.purpose,
        transformations=tuple(edge.transformations),
        tags=tags,
        from_department=edge.from_dataset[2],
        from_tags=from_tags,
        legal_basis=legal_basis,
    )


def _ordered(hops: list[Hop]) -> list[Hop]:
    return sorted(
        hops,
        key=lambda h: (
            h.depth,
            h.from_dataset,
            h.from_column or "",
            h.to_dataset,
            h.to_column or "",
            h.job,
        ),
    )
