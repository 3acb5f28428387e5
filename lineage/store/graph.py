"""The estate graph: every dataset and the dataset-level edges of their current versions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from lineage.store.models import Column, ColumnTag, Dataset, DatasetEdge, Job


@dataclass(frozen=True)
class GraphEdge:
    """One input of a dataset's current version: which job read it, under which agreement."""

    from_dataset: str
    to_dataset: str
    job: str
    agreement_id: str | None
    purpose: str | None


def graph_edges(session: Session) -> list[GraphEdge]:
    """Every dataset-level edge, as ``namespace/name`` pairs, in a stable order."""
    source, target = aliased(Dataset), aliased(Dataset)
    query = (
        select(
            source.namespace,
            source.name,
            target.namespace,
            target.name,
            Job.name,
            DatasetEdge.agreement_id,
            DatasetEdge.purpose,
        )
        .join(source, source.id == DatasetEdge.input_dataset_id)
        .join(target, target.id == DatasetEdge.output_dataset_id)
        .join(Job, Job.id == DatasetEdge.job_id)
        .order_by(target.namespace, target.name, source.namespace, source.name)
    )
    edges = {
        GraphEdge(f"{sn}/{s}", f"{tn}/{t}", job, agreement, purpose): None
        for sn, s, tn, t, job, agreement, purpose in session.execute(query)
    }
    return list(edges)


def column_tags_by_dataset(session: Session) -> dict[str, frozenset[str]]:
    """``namespace/name`` -> every tag any of its current columns carries."""
    query = (
        select(Dataset.namespace, Dataset.name, ColumnTag.tag)
        .join(Column, Column.dataset_id == Dataset.id)
        .join(ColumnTag, ColumnTag.column_id == Column.id)
        .where(Column.position.is_not(None))
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for namespace, name, tag in session.execute(query):
        found.setdefault(f"{namespace}/{name}", set()).add(tag)
    return {k: frozenset(v) for k, v in found.items()}
