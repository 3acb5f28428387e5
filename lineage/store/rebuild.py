"""Rewriting the indexed graph of many datasets at once: a few statements a batch, not a dataset.

:mod:`lineage.store.derive` decides what each dataset's version says (a :class:`Version`); this
module clears the datasets' columns, tags and incoming edges and writes them again, each table in
one multi-row statement (split only to respect the backends' parameter limits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from lineage.store.columns import write_columns, write_tags
from lineage.store.facts import (
    PRIVACY_FACET,
    DatasetFacts,
    LineageFact,
    TagFact,
    column_lineage,
    column_tags,
    schema_fields,
)
from lineage.store.jsontext import canonical
from lineage.store.models import Column, ColumnEdge, DatasetEdge
from lineage.store.parse import DatasetRef, as_dict
from lineage.store.sql import bulk_insert, chunks, ensure_columns, ensure_datasets

_QUIET = {"synchronize_session": False}


@dataclass
class Version:
    """What one dataset's rebuild writes: its facets, and for a produced version its edges."""

    dataset_id: int
    facets: dict[str, Any] = field(default_factory=dict)
    facts: DatasetFacts | None = None
    job_id: int | None = None
    run_id: str | None = None
    inputs: list[DatasetRef] = field(default_factory=list)
    key: str | None = None  # digest of the facts its rows are built from (see facts_key)


# Bump when what is built from the facets changes: every dataset is then rebuilt in full once.
FACTS_FORMAT = 1


def facts_key(version: Version) -> str:
    """A digest of everything a version's columns, tags and edges are built from: whether a run
    produced it, the schema, tags, privacy columns and column lineage facets, the run's inputs,
    the agreement and the purpose (the run and job are not in it: :func:`move_edges` changes
    those)."""
    facets = version.facets
    facts = version.facts
    payload = [
        FACTS_FORMAT,
        version.run_id is not None,
        facets.get("schema"),
        facets.get("tags"),
        as_dict(facets.get(PRIVACY_FACET)).get("columns"),
        facets.get("columnLineage"),
        [[ref.namespace, ref.name] for ref in version.inputs],
        facts.agreement_id if facts else None,
        facts.purpose if facts else None,
    ]
    try:  # the digest only has to be stable within tagtrail, not equal to json.dumps
        text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson cannot write (a lone surrogate)
        text = canonical(payload)
    return hashlib.sha256(text).hexdigest()


def move_edges(session: Session, versions: Sequence[Version]) -> None:
    """Point the existing edges into each dataset at its new version's run and job."""
    if not versions:
        return
    rows = [{"p_id": v.dataset_id, "p_run": v.run_id, "p_job": v.job_id} for v in versions]
    for model, into in ((ColumnEdge, "to_dataset_id"), (DatasetEdge, "output_dataset_id")):
        table = cast(Table, model.__table__)  # Core: one executemany, not ORM bulk by key
        statement = (
            update(table)
            .where(table.c[into] == bindparam("p_id"))
            .values(run_id=bindparam("p_run"), job_id=bindparam("p_job"))
        )
        session.execute(statement, rows)


def clear(session: Session, dataset_ids: Sequence[int]) -> None:
    """Forget the datasets' incoming edges (their columns and tags are rewritten by difference)."""
    for part in chunks(dataset_ids):
        session.execute(
            delete(ColumnEdge).where(ColumnEdge.to_dataset_id.in_(part)), execution_options=_QUIET
        )
        session.execute(
            delete(DatasetEdge).where(DatasetEdge.output_dataset_id.in_(part)),
            execution_options=_QUIET,
        )


def write(session: Session, dataset_ids: Sequence[int], versions: Sequence[Version]) -> None:
    """Make the datasets' columns and tags those of their versions (none for a dataset without
    one), then write the edges of the produced versions."""
    tags = {v.dataset_id: column_tags(v.facets) for v in versions}
    lineages = {v.dataset_id: column_lineage(v.facets) for v in versions}
    own = _write_columns(session, dataset_ids, versions, tags, lineages)
    tag_rows = [
        {
            "column_id": own[(v.dataset_id, column)],
            "tag": fact.tag,
            "value": fact.value,
            "identifiability": fact.identifiability,
            "attributions": fact.attributions,
        }
        for v in versions
        for column, found in tags[v.dataset_id].items()
        for fact in found.values()
    ]
    write_tags(session, dataset_ids, tag_rows)
    _write_edges(session, [v for v in versions if v.run_id is not None], lineages)


def drop_orphans(session: Session, dataset_ids: Sequence[int]) -> None:
    """Forget columns no version declares and no edge mentions (dropped or never completed)."""
    used_from = select(ColumnEdge.id).where(ColumnEdge.from_column_id == Column.id).exists()
    used_to = select(ColumnEdge.id).where(ColumnEdge.to_column_id == Column.id).exists()
    for part in chunks(dataset_ids):
        session.execute(
            delete(Column).where(
                Column.dataset_id.in_(part), Column.position.is_(None), ~used_from, ~used_to
            ),
            execution_options=_QUIET,
        )


def _write_columns(
    session: Session,
    dataset_ids: Sequence[int],
    versions: Sequence[Version],
    tags: dict[int, dict[str, dict[str, TagFact]]],
    lineages: dict[int, list[LineageFact]],
) -> dict[tuple[int, str], int]:
    rows: list[dict[str, Any]] = []
    for v in versions:
        fields = {f.name: f for f in schema_fields(v.facets)}
        names = list(fields)
        extras = [*tags[v.dataset_id], *(f.target_field for f in lineages[v.dataset_id])]
        names.extend(n for n in dict.fromkeys(extras) if n is not None and n not in fields)
        rows.extend(
            {
                "dataset_id": v.dataset_id,
                "name": name,
                "type": fields[name].type if name in fields else None,
                "description": fields[name].description if name in fields else None,
                "position": position,
            }
            for position, name in enumerate(names)
        )
    return write_columns(session, dataset_ids, rows)


def _write_edges(
    session: Session, versions: Sequence[Version], lineages: dict[int, list[LineageFact]]
) -> None:
    sources = {
        v.dataset_id: list(dict.fromkeys([*v.inputs, *(f.source for f in lineages[v.dataset_id])]))
        for v in versions
    }
    ids = ensure_datasets(session, [s for found in sources.values() for s in found])
    dataset_rows: list[dict[str, Any]] = []
    wanted: list[tuple[int, str]] = []
    for v in versions:
        facts = v.facts
        dataset_rows.extend(
            {
                "job_id": v.job_id,
                "run_id": v.run_id,
                "input_dataset_id": ids[source],
                "output_dataset_id": v.dataset_id,
                "agreement_id": facts.agreement_id if facts else None,
                "purpose": facts.purpose if facts else None,
            }
            for source in sources[v.dataset_id]
        )
        for f in lineages[v.dataset_id]:
            wanted.append((ids[f.source], f.source_field))
            if f.target_field is not None:
                wanted.append((v.dataset_id, f.target_field))
    _insert(session, DatasetEdge, dataset_rows)
    columns = ensure_columns(session, wanted)
    column_rows = [
        {
            "job_id": v.job_id,
            "run_id": v.run_id,
            "from_column_id": columns[(ids[f.source], f.source_field)],
            "to_dataset_id": v.dataset_id,
            "to_column_id": columns[(v.dataset_id, f.target_field)] if f.target_field else None,
            "type": f.type,
            "subtype": f.subtype,
            "masking": f.masking,
            "description": f.description,
        }
        for v in versions
        for f in lineages[v.dataset_id]
    ]
    _insert(session, ColumnEdge, column_rows)


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    bulk_insert(session, model, rows)
