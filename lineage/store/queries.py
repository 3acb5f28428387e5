"""Read side: names resolved (with suggestions), rows turned into frozen records."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lineage.store.errors import AmbiguousNameError, UnknownNameError
from lineage.store.models import Column, ColumnTag, Dataset, Event, Job, Run, RunDataset
from lineage.store.parse import as_dict
from lineage.store.records import (
    Agreement,
    Assertion,
    Attribution,
    ColumnRecord,
    DatasetRecord,
    RunRecord,
    TagRecord,
)
from lineage.store.sql import chunks


def find_dataset(session: Session, name: str) -> Dataset:
    """The dataset called ``name`` (bare, or ``namespace/name`` when bare names collide)."""
    matches = list(session.scalars(select(Dataset).where(Dataset.name == name)))
    for split in (i for i, char in enumerate(name) if char == "/"):
        namespace, bare = name[:split], name[split + 1 :]
        matches += session.scalars(
            select(Dataset).where(Dataset.namespace == namespace, Dataset.name == bare)
        )
    if len(matches) == 1:
        return matches[0]
    if matches:
        qualified = sorted(f"{d.namespace}/{d.name}" for d in matches)
        raise AmbiguousNameError("dataset", name, qualified)
    names = set(session.scalars(select(Dataset.name)))
    if "/" in name:
        rows = session.execute(select(Dataset.namespace, Dataset.name))
        names.update(f"{namespace}/{bare}" for namespace, bare in rows)
    raise UnknownNameError("dataset", name, close_matches(name, names))


def find_column(session: Session, dataset: Dataset, name: str) -> int:
    """The id of column ``name`` of ``dataset``."""
    column_id = session.scalars(
        select(Column.id).where(Column.dataset_id == dataset.id, Column.name == name)
    ).one_or_none()
    if column_id is not None:
        return column_id
    known = session.scalars(select(Column.name).where(Column.dataset_id == dataset.id))
    suggestions = [f"{dataset.name}.{c}" for c in close_matches(name, known)]
    raise UnknownNameError("column", f"{dataset.name}.{name}", suggestions)


def close_matches(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to five known names that look like ``name`` (difflib ratio of at least 0.6)."""
    return difflib.get_close_matches(name, sorted(set(candidates)), n=5, cutoff=0.6)


def tags_for_columns(
    session: Session, column_ids: Iterable[int]
) -> dict[int, tuple[TagRecord, ...]]:
    """Current tags of each column, in the order the facet listed them."""
    ids = sorted(set(column_ids))
    found: dict[int, list[TagRecord]] = defaultdict(list)
    for part in chunks(ids):
        rows = session.execute(
            select(ColumnTag, Column.name, Dataset.name)
            .join(Column, Column.id == ColumnTag.column_id)
            .join(Dataset, Dataset.id == Column.dataset_id)
            .where(ColumnTag.column_id.in_(part))
            .order_by(ColumnTag.id)
        )
        for tag, column, dataset in rows.tuples():
            found[tag.column_id].append(_tag(tag, dataset, column))
    return {column_id: tuple(tags) for column_id, tags in found.items()}


def tags_for_datasets(
    session: Session, dataset_ids: Iterable[int]
) -> dict[int, tuple[TagRecord, ...]]:
    """Current tags of every column of each dataset, by column position."""
    ids = sorted(set(dataset_ids))
    found: dict[int, list[TagRecord]] = defaultdict(list)
    for part in chunks(ids):
        rows = session.execute(
            select(ColumnTag, Column.name, Column.dataset_id, Dataset.name)
            .join(Column, Column.id == ColumnTag.column_id)
            .join(Dataset, Dataset.id == Column.dataset_id)
            .where(Column.dataset_id.in_(part))
            .order_by(Column.position, Column.name, ColumnTag.id)
        )
        for tag, column, dataset_id, dataset in rows.tuples():
            found[dataset_id].append(_tag(tag, dataset, column))
    return {dataset_id: tuple(tags) for dataset_id, tags in found.items()}


def _tag(row: ColumnTag, dataset: str, column: str) -> TagRecord:
    return TagRecord(
        dataset=dataset,
        column=column,
        tag=row.tag,
        value=row.value,
        identifiability=row.identifiability,
        attributions=tuple(Attribution.from_json(as_dict(a)) for a in row.attributions or []),
    )


def dataset_record(row: Dataset) -> DatasetRecord:
    """A dataset row as a record."""
    return DatasetRecord(
        namespace=row.namespace,
        name=row.name,
        department=row.department,
        description=row.description,
        purpose=row.purpose,
        legal_basis=row.legal_basis,
        retention=row.retention,
        source_system=row.source_system,
        identifiability=row.identifiability,
        agreement=_agreement(row.agreement),
        owners=tuple(str(o) for o in row.owners or []),
        tags=tuple(str(t) for t in row.tags or []),
        assertions=tuple(_assertion(as_dict(a)) for a in row.assertions or []),
        row_count=row.row_count,
        lifecycle_state=row.lifecycle_state,
        last_run_id=row.version_run_id,
        last_completed_at=row.version_time,
    )


def dataset_records(session: Session) -> list[DatasetRecord]:
    """Every dataset, by namespace and name."""
    rows = session.scalars(select(Dataset).order_by(Dataset.namespace, Dataset.name))
    return [dataset_record(row) for row in rows]


def _agreement(data: dict[str, Any] | None) -> Agreement | None:
    if not data or not isinstance(data.get("id"), str):
        return None

    def text(key: str) -> str | None:
        value = data.get(key)
        return None if value is None else str(value)

    parties = data.get("parties")
    return Agreement(
        id=data["id"],
        title=text("title"),
        parties=tuple(str(p) for p in parties) if isinstance(parties, list) else (),
        start=text("start"),
        end=text("end"),
        review=text("review"),
    )


def _assertion(data: dict[str, Any]) -> Assertion:
    success, column, severity = data.get("success"), data.get("column"), data.get("severity")
    return Assertion(
        assertion=str(data.get("assertion", "")),
        success=success if isinstance(success, bool) else None,
        column=column if isinstance(column, str) else None,
        severity=severity if isinstance(severity, str) else None,
    )


def column_records(session: Session, dataset: Dataset) -> list[ColumnRecord]:
    """The dataset's current columns with tags (every referenced column if none is current)."""
    query = select(Column).where(Column.dataset_id == dataset.id)
    columns = list(session.scalars(query.order_by(Column.position, Column.name)))
    if any(c.position is not None for c in columns):
        columns = [c for c in columns if c.position is not None]
    tags = tags_for_columns(session, [c.id for c in columns])
    return [
        ColumnRecord(dataset.name, c.name, c.type, c.description, c.position, tags.get(c.id, ()))
        for c in columns
    ]


def run_records(session: Session, dataset: Dataset | None) -> list[RunRecord]:
    """All runs, or the runs that wrote (or tried to write) ``dataset``, oldest first."""
    query = select(Run, Job).join(Job, Job.id == Run.job_id)
    if dataset is not None:
        wrote = select(RunDataset.run_id).where(
            RunDataset.dataset_id == dataset.id, RunDataset.role == "output"
        )
        query = query.where(Run.run_id.in_(wrote))
    query = query.order_by(func.coalesce(Run.started_at, Run.state_time), Run.run_id)
    runs = list(session.execute(query).tuples())
    io: dict[tuple[str, str], list[str]] = defaultdict(list)
    for part in chunks([run.run_id for run, _ in runs]):
        rows = session.execute(
            select(RunDataset.run_id, RunDataset.role, Dataset.name)
            .join(Dataset, Dataset.id == RunDataset.dataset_id)
            .where(RunDataset.run_id.in_(part))
            .order_by(Dataset.name)
        )
        for run_id, role, name in rows.tuples():
            io[(run_id, role)].append(name)
    return [
        RunRecord(
            run_id=run.run_id,
            job_namespace=job.namespace,
            job_name=job.name,
            parent_run_id=run.parent_run_id,
            parent_job_name=run.parent_job_name,
            state=run.state,
            started_at=run.started_at,
            ended_at=run.ended_at,
            error_message=run.error_message,
            inputs=tuple(io[(run.run_id, "input")]),
            outputs=tuple(io[(run.run_id, "output")]),
        )
        for run, job in runs
    ]


def event_texts(session: Session, run_id: str | None) -> list[str]:
    """Raw events in event-time order, for one OpenLineage run id or one parent (Dagster) run id."""
    query = select(Event.raw)
    if run_id is not None:
        query = query.where(or_(Event.run_id == run_id, Event.parent_run_id == run_id))
    return list(session.scalars(query.order_by(Event.event_time, Event.id)))
