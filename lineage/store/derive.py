"""The indexed graph of datasets, rebuilt from the raw events of their latest COMPLETE runs.

Everything here is a function of the ``events`` table alone: a dataset's columns, tags,
declarations and incoming edges always reflect its latest COMPLETE run, whatever order the events
arrived in. A FAIL or ABORT run never becomes a dataset's version, so it adds no edges or tags.
Refreshing takes the dataset rows' locks first (PostgreSQL, in id order), so concurrent writers
take turns. The locks are ``FOR NO KEY UPDATE``: another writer's edge or column that only refers
to a locked dataset (a foreign key's ``KEY SHARE``) does not wait for it, so two writers each
holding a dataset the other's edges name cannot deadlock. Many datasets are refreshed together:
each step is one query for all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, func, null, select, update
from sqlalchemy.orm import Session

from lineage.store import rebuild
from lineage.store.documents import RunDocuments
from lineage.store.facts import dataset_facts
from lineage.store.models import Dataset, Run, RunDataset
from lineage.store.parse import DatasetRef, DatasetView, Role, as_dict, department_of
from lineage.store.sql import chunks

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
_JSON_FIELDS = ("agreement", "owners", "tags", "assertions")


def refresh_datasets(
    session: Session, dataset_ids: Collection[int], documents: RunDocuments | None = None
) -> None:
    """Rebuild the datasets' versions, columns, tags and incoming edges from the raw events.

    Each one's source is the latest COMPLETE run that wrote it. A dataset no run ever completed
    as an output (an external extract) is described by the input facets of the latest COMPLETE
    run that read it instead: columns and tags, but no version and no incoming edges. A dataset
    whose latest output run dropped it (``lifecycleStateChange: DROP``) is marked dropped as of
    that run and keeps the columns, tags and edges of the version it had, so lineage still shows
    where its data came from. ``documents`` may already hold the events of some runs.
    """
    ids = sorted(set(dataset_ids))
    if not ids:
        return
    docs = documents if documents is not None else RunDocuments(session)
    refs, built_from = _locked(session, ids)
    outputs = _output_versions(session, refs, docs)
    described = [i for i in ids if outputs[i] == (None, None, None)]
    inputs = _latest(session, described, "input", 1)
    docs.prefetch(run.run_id for run in inputs.values())
    versions: list[rebuild.Version] = []
    declared: list[dict[str, Any]] = []
    for dataset_id in ids:
        ref = refs[dataset_id]
        dropped, run, view = outputs[dataset_id]
        if run is None and dropped is None and dataset_id in inputs:
            view = docs.view(inputs[dataset_id].run_id, ref, "input")
        elif run is None and dropped is None:
            declared.append(_declared(dataset_id, ref, None, None, None))
            continue
        facets = view.facets if view is not None else {}
        version = rebuild.Version(dataset_id, facets, dataset_facts(ref, facets))
        if run is not None:
            version.job_id, version.run_id = run.job_id, run.run_id
            version.inputs = view.inputs if view else []
        version.key = rebuild.facts_key(version)
        versions.append(version)
        declared.append(_declared(dataset_id, ref, version, dropped or run, dropped))
    _write_declared(session, declared)
    # a version built from the facts the dataset was last built from (a rerun) keeps its rows:
    # a produced one moves its edges to the new run; every other dataset is rebuilt in full
    same = {v.dataset_id for v in versions if v.key == built_from.get(v.dataset_id)}
    rebuilt = [i for i in ids if i not in same]
    rebuild.clear(session, rebuilt)
    rebuild.write(session, rebuilt, [v for v in versions if v.dataset_id not in same])
    rebuild.move_edges(session, [v for v in versions if v.dataset_id in same and v.run_id])
    rebuild.drop_orphans(session, rebuilt)


def _write_declared(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update the dataset rows, a JSON field without a value as SQL NULL (not JSON ``null``),
    one executemany per set of such fields."""
    table = cast(Table, Dataset.__table__)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        empty = tuple(name for name in _JSON_FIELDS if row[name] is None)
        groups.setdefault(empty, []).append({f"p_{k}": v for k, v in row.items() if k not in empty})
    for empty, group in groups.items():
        values: dict[str, Any] = {name: null() for name in empty}
        values.update({k[2:]: bindparam(k) for k in group[0] if k != "p_id"})
        statement = update(table).where(table.c.id == bindparam("p_id")).values(values)
        session.execute(statement, group)


def refresh_dataset(session: Session, dataset_id: int) -> None:
    """Rebuild one dataset (see :func:`refresh_datasets`)."""
    refresh_datasets(session, [dataset_id])


def _locked(
    session: Session, ids: Sequence[int]
) -> tuple[dict[int, DatasetRef], dict[int, str | None]]:
    """The datasets' references and the facts digest each was last built from, rows locked."""
    refs: dict[int, DatasetRef] = {}
    built_from: dict[int, str | None] = {}
    for part in chunks(ids):
        query = (
            select(Dataset.id, Dataset.namespace, Dataset.name, Dataset.facts_hash)
            .where(Dataset.id.in_(part))
            .order_by(Dataset.id)
            .with_for_update(key_share=True)
        )
        for i, namespace, name, key in session.execute(query):
            refs[i] = DatasetRef(namespace, name)
            built_from[i] = key
    return refs, built_from


def _declared(
    dataset_id: int,
    ref: DatasetRef,
    version: rebuild.Version | None,
    run: Run | None,
    dropped: Run | None,
) -> dict[str, Any]:
    facts = version.facts if version is not None else None
    row: dict[str, Any] = {"id": dataset_id}
    row.update({name: getattr(facts, name) if facts else None for name in _DECLARED_FIELDS})
    if row["department"] is None:
        row["department"] = department_of(ref.namespace)
    produced = version is not None and version.run_id is not None
    versioned = run if (dropped is not None or produced) else None
    row["version_run_id"] = versioned.run_id if versioned is not None else None
    row["version_time"] = versioned.ended_at if versioned is not None else None
    row["facts_hash"] = version.key if version is not None else None
    if dropped is not None:
        row["lifecycle_state"] = DROP
    return row


_Output = tuple[Run | None, Run | None, DatasetView | None]


def _output_versions(
    session: Session, refs: dict[int, DatasetRef], docs: RunDocuments
) -> dict[int, _Output]:
    """Per dataset: (the run that dropped it, the run of its last real version, that version's
    view), reading the COMPLETE output runs newest first, one rank at a time for all datasets.

    With no drop, the first item is None; a dataset dropped with no earlier version is described
    by the dropping run's own facets.
    """
    result: dict[int, _Output] = {}
    first: dict[int, tuple[Run, DatasetView | None]] = {}
    pending = sorted(refs)
    rank = 0
    while pending:
        rank += 1
        runs = _latest(session, pending, "output", rank)
        docs.prefetch(run.run_id for run in runs.values())
        still: list[int] = []
        for dataset_id in pending:
            run = runs.get(dataset_id)
            if run is None:
                dropped = first.get(dataset_id)
                result[dataset_id] = (dropped[0], None, dropped[1]) if dropped else (None,) * 3
                continue
            view = docs.view(run.run_id, refs[dataset_id], "output")
            state = as_dict(view.facets.get("lifecycleStateChange")) if view else {}
            if state.get("lifecycleStateChange") != DROP:
                dropped = first.get(dataset_id)
                result[dataset_id] = (dropped[0] if dropped else None, run, view)
                continue
            first.setdefault(dataset_id, (run, view))
            still.append(dataset_id)
        pending = still
    return result


def _latest(session: Session, ids: Sequence[int], role: Role, rank: int) -> dict[int, Run]:
    """The ``rank``-th newest COMPLETE run having each dataset in ``role`` (where there is one)."""
    found: dict[int, Run] = {}
    for part in chunks(ids):
        ranked = (
            select(
                RunDataset.dataset_id,
                RunDataset.run_id,
                func.row_number()
                .over(
                    partition_by=RunDataset.dataset_id,
                    order_by=(Run.ended_at.desc(), Run.run_id.desc()),
                )
                .label("rank"),
            )
            .join(Run, Run.run_id == RunDataset.run_id)
            .where(
                RunDataset.dataset_id.in_(part),
                RunDataset.role == role,
                Run.state == "COMPLETE",
            )
            .subquery()
        )
        query = (
            select(ranked.c.dataset_id, Run)
            .join(Run, Run.run_id == ranked.c.run_id)
            .where(ranked.c.rank == rank)
        )
        found.update({dataset_id: run for dataset_id, run in session.execute(query)})
    return found
