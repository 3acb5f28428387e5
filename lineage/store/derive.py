"""The indexed graph of one dataset, rebuilt from the raw events of its latest COMPLETE run.

Everything here is a function of the ``events`` table alone: a dataset's columns, tags,
declarations and incoming edges always reflect its latest COMPLETE run, whatever order the events
arrived in. A FAIL or ABORT run never becomes a dataset's version, so it adds no edges or tags.
Refreshing takes the dataset row's lock first (PostgreSQL), so concurrent writers take turns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from lineage.store.facts import (
    DatasetFacts,
    column_lineage,
    column_tags,
    dataset_facts,
    schema_fields,
)
from lineage.store.models import (
    Column,
    ColumnEdge,
    ColumnTag,
    Dataset,
    DatasetEdge,
    Event,
    Run,
    RunDataset,
)
from lineage.store.parse import (
    DatasetRef,
    DatasetView,
    Role,
    as_dict,
    department_of,
    merge_datasets,
)
from lineage.store.sql import ensure_columns, ensure_datasets, upsert

DROP: Final = "DROP"
_DECLARED_FIELDS = (
    "department",
    "description",
    "purpose",
    "legal_basis",
    "retention",
    "source_system",
    "identifiability",
    "agreement_id",
    "agreement",
    "owners",
    "tags",
    "assertions",
    "row_count",
    "lifecycle_state",
)


def refresh_dataset(session: Session, dataset_id: int) -> None:
    """Rebuild the dataset's version, columns, tags and incoming edges from the raw events.

    The source is the latest COMPLETE run that wrote it. A dataset no run ever completed as an
    output (an external extract) is described by the input facets of the latest COMPLETE run that
    read it instead: columns and tags, but no version and no incoming edges. A dataset whose latest
    output run dropped it (``lifecycleStateChange: DROP``) is marked dropped as of that run and
    keeps the columns, tags and edges of the version it had, so lineage still shows where its
    data came from.
    """
    dataset = session.scalars(
        select(Dataset)
        .where(Dataset.id == dataset_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    _clear(session, dataset_id)
    ref = DatasetRef(dataset.namespace, dataset.name)
    dropped, run, view = _output_version(session, dataset_id, ref)
    produced = run is not None
    if run is None and dropped is None:
        run = _latest_complete(session, dataset_id, "input")
        view = _view(session, run, ref, "input") if run is not None else None
    if run is None and dropped is None:
        _declare(dataset, None, ref)
        dataset.version_run_id = dataset.version_time = None
        _drop_orphans(session, dataset_id)
        return
    facets = view.facets if view is not None else {}
    facts = dataset_facts(ref, facets)
    _declare(dataset, facts, ref)
    version = dropped or (run if produced else None)
    dataset.version_run_id = version.run_id if version is not None else None
    dataset.version_time = version.ended_at if version is not None else None
    if dropped is not None:
        dataset.lifecycle_state = DROP
    own_columns = _write_columns(session, dataset_id, facets)
    _write_tags(session, own_columns, facets)
    if produced and run is not None:
        _write_edges(session, dataset_id, run, view.inputs if view else [], facts, facets)
    _drop_orphans(session, dataset_id)


def _output_version(
    session: Session, dataset_id: int, ref: DatasetRef
) -> tuple[Run | None, Run | None, DatasetView | None]:
    """(the run that dropped it, the run of its last real version, that version's view).

    With no drop, the first item is None; a dataset dropped with no earlier version is described
    by the dropping run's own facets.
    """
    dropped: Run | None = None
    for run in _complete_runs(session, dataset_id, "output"):
        view = _view(session, run, ref, "output")
        state = as_dict(view.facets.get("lifecycleStateChange")) if view else {}
        if state.get("lifecycleStateChange") != DROP:
            return dropped, run, view
        if dropped is None:
            dropped, first = run, view
    return (dropped, None, first) if dropped is not None else (None, None, None)


def _view(session: Session, run: Run, ref: DatasetRef, role: Role) -> DatasetView | None:
    raws = session.scalars(
        select(Event.raw).where(Event.run_id == run.run_id).order_by(Event.event_time, Event.id)
    )
    return merge_datasets([json.loads(raw) for raw in raws], role).get(ref)


def _complete_runs(session: Session, dataset_id: int, role: Role, page: int = 4) -> Iterator[Run]:
    """COMPLETE runs that had the dataset in ``role``, newest first, read a few at a time."""
    query = (
        select(Run)
        .join(RunDataset, RunDataset.run_id == Run.run_id)
        .where(
            RunDataset.dataset_id == dataset_id,
            RunDataset.role == role,
            Run.state == "COMPLETE",
        )
        .order_by(Run.ended_at.desc(), Run.run_id.desc())
    )
    offset = 0
    while runs := session.scalars(query.offset(offset).limit(page)).all():
        yield from runs
        offset += page


def _latest_complete(session: Session, dataset_id: int, role: Role) -> Run | None:
    return next(_complete_runs(session, dataset_id, role), None)


def _clear(session: Session, dataset_id: int) -> None:
    own = select(Column.id).where(Column.dataset_id == dataset_id).scalar_subquery()
    options = {"synchronize_session": False}
    session.execute(
        delete(ColumnEdge).where(ColumnEdge.to_dataset_id == dataset_id), execution_options=options
    )
    session.execute(
        delete(DatasetEdge).where(DatasetEdge.output_dataset_id == dataset_id),
        execution_options=options,
    )
    session.execute(
        delete(ColumnTag).where(ColumnTag.column_id.in_(own)), execution_options=options
    )
    session.execute(
        update(Column).where(Column.dataset_id == dataset_id).values(position=None),
        execution_options=options,
    )


def _drop_orphans(session: Session, dataset_id: int) -> None:
    """Forget columns no version declares and no edge mentions (dropped or never completed)."""
    used_from = select(ColumnEdge.id).where(ColumnEdge.from_column_id == Column.id).exists()
    used_to = select(ColumnEdge.id).where(ColumnEdge.to_column_id == Column.id).exists()
    session.execute(
        delete(Column).where(
            Column.dataset_id == dataset_id,
            Column.position.is_(None),
            ~used_from,
            ~used_to,
        ),
        execution_options={"synchronize_session": False},
    )


def _declare(dataset: Dataset, facts: DatasetFacts | None, ref: DatasetRef) -> None:
    for name in _DECLARED_FIELDS:
        setattr(dataset, name, getattr(facts, name) if facts is not None else None)
    if dataset.department is None:
        dataset.department = department_of(ref.namespace)


def _write_columns(session: Session, dataset_id: int, facets: dict[str, Any]) -> dict[str, int]:
    fields = {f.name: f for f in schema_fields(facets)}
    names = list(fields)
    extras = [*column_tags(facets), *(f.target_field for f in column_lineage(facets))]
    names.extend(n for n in dict.fromkeys(extras) if n is not None and n not in fields)
    rows = [
        {
            "dataset_id": dataset_id,
            "name": name,
            "type": fields[name].type if name in fields else None,
            "description": fields[name].description if name in fields else None,
            "position": position,
        }
        for position, name in enumerate(names)
    ]
    upsert(session, Column, rows, ["dataset_id", "name"], ["type", "description", "position"])
    found = ensure_columns(session, [(dataset_id, name) for name in names])
    return {name: found[(dataset_id, name)] for name in names}


def _write_tags(session: Session, columns: dict[str, int], facets: dict[str, Any]) -> None:
    rows = [
        {
            "column_id": columns[column],
            "tag": fact.tag,
            "value": fact.value,
            "identifiability": fact.identifiability,
            "attributions": fact.attributions,
        }
        for column, tags in column_tags(facets).items()
        for fact in tags.values()
    ]
    if rows:
        session.execute(insert(ColumnTag), rows)


def _write_edges(
    session: Session,
    dataset_id: int,
    run: Run,
    inputs: list[DatasetRef],
    facts: DatasetFacts,
    facets: dict[str, Any],
) -> None:
    lineage = column_lineage(facets)
    sources = list(dict.fromkeys([*inputs, *(f.source for f in lineage)]))
    ids = ensure_datasets(session, sources)
    edge = {"job_id": run.job_id, "run_id": run.run_id}
    dataset_rows = [
        {
            **edge,
            "input_dataset_id": ids[source],
            "output_dataset_id": dataset_id,
            "agreement_id": facts.agreement_id,
            "purpose": facts.purpose,
        }
        for source in sources
    ]
    if dataset_rows:
        session.execute(insert(DatasetEdge), dataset_rows)
    wanted = [(ids[f.source], f.source_field) for f in lineage]
    wanted += [(dataset_id, f.target_field) for f in lineage if f.target_field is not None]
    columns = ensure_columns(session, wanted)
    column_rows = [
        {
            **edge,
            "from_column_id": columns[(ids[f.source], f.source_field)],
            "to_dataset_id": dataset_id,
            "to_column_id": columns[(dataset_id, f.target_field)] if f.target_field else None,
            "type": f.type,
            "subtype": f.subtype,
            "masking": f.masking,
            "description": f.description,
        }
        for f in lineage
    ]
    if column_rows:
        session.execute(insert(ColumnEdge), column_rows)
