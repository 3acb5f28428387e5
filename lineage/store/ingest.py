"""Writing events: the raw rows, their jobs and runs, the runs' datasets, the graph, audit rows.

Called inside one transaction by :meth:`lineage.store.LineageStore.ingest` (one event) and
:meth:`~lineage.store.LineageStore.ingest_many` (a batch); the caller commits or rolls back, so a
batch is either fully indexed or not there at all. A batch takes a fixed number of statements
whatever its size: every table is written with multi-row statements, and each dataset the batch
affects is rebuilt once, from events already parsed where the batch holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from lineage.store.audit import write_audit
from lineage.store.derive import refresh_datasets
from lineage.store.documents import RunDocuments
from lineage.store.models import Event, Job, Run, RunDataset
from lineage.store.parse import ParsedEvent
from lineage.store.records import TERMINAL_STATES
from lineage.store.sql import chunks, dialect_insert, ensure_datasets, insert_ignore

_RANK = {"OTHER": 0, "START": 1, "RUNNING": 1, "COMPLETE": 2, "ABORT": 2, "FAIL": 2}
_TIE = {"OTHER": 0, "START": 0, "RUNNING": 1, "COMPLETE": 0, "ABORT": 1, "FAIL": 2}

# Looked up when called, so that a test can make the rebuild fail half-way.
refresh_dataset = refresh_datasets


def state_key(event_type: str, at: datetime) -> tuple[int, datetime, int]:
    """Order of run states: terminal beats running beats OTHER, then the later event wins.

    Ties at the same instant go to the more pessimistic state, so the final state does not
    depend on the order events arrive in.
    """
    return (_RANK.get(event_type, 0), at, _TIE.get(event_type, 0))


def write_event(session: Session, event: ParsedEvent) -> bool:
    """Store and index one parsed event (graph and audit records); False (and nothing written)
    if it is already stored."""
    return write_events(session, [event])[0]


def write_events(session: Session, events: Sequence[ParsedEvent]) -> list[bool]:
    """Store and index parsed events as one batch, in order; for each, whether it was new.

    The result is the same as writing them one by one: an event already stored (or earlier in
    the batch) is skipped, run states are applied in batch order, and every dataset whose
    version may have changed is rebuilt once at the end.
    """
    unique: dict[str, ParsedEvent] = {}
    for event in events:
        unique.setdefault(event.content_hash, event)
    inserted = _insert_events(session, list(unique.values()))
    new = [(inserted[h], e) for h, e in unique.items() if h in inserted]
    if new:
        _index(session, new)
    seen: set[str] = set()
    result = []
    for event in events:
        result.append(event.content_hash in inserted and event.content_hash not in seen)
        seen.add(event.content_hash)
    return result


def _index(session: Session, new: list[tuple[int, ParsedEvent]]) -> None:
    runs = _locked_runs(session, [event for _, event in new])
    complete = {run_id for run_id, run in runs.items() if run.state == "COMPLETE"}
    for _, event in new:
        run = runs[event.run_id]
        _apply_state(run, event)
        if run.state == "COMPLETE":
            complete.add(run.run_id)
    refs = [ref for _, e in new for ref in (*e.inputs, *e.outputs)]
    datasets = ensure_datasets(session, refs)
    rows = {
        (event.run_id, datasets[ref], role): None
        for _, event in new
        for role, found in (("input", event.inputs), ("output", event.outputs))
        for ref in found
    }
    insert_ignore(
        session,
        RunDataset,
        [{"run_id": r, "dataset_id": d, "role": role} for r, d, role in rows],
        ["run_id", "dataset_id", "role"],
    )
    session.flush()
    if complete:
        refresh_dataset(session, _affected(session, sorted(complete)), RunDocuments(session, new))
    write_audit(session, new)


def _insert_events(session: Session, events: list[ParsedEvent]) -> dict[str, int]:
    """Insert the events not stored yet; content hash -> id of those that were inserted."""
    now = datetime.now(UTC)
    rows = [
        {
            "content_hash": event.content_hash,
            "event_type": event.event_type,
            "event_time": event.event_time,
            "run_id": event.run_id,
            "parent_run_id": event.parent_run_id,
            "job_namespace": event.job.namespace,
            "job_name": event.job.name,
            "producer": event.producer,
            "raw": event.raw,
            "received_at": now,
        }
        for event in events
    ]
    inserted: dict[str, int] = {}
    for part in chunks(rows):
        statement = (
            dialect_insert(session, Event)
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(Event.__table__.c.id, Event.__table__.c.content_hash)
        )
        inserted.update({h: i for i, h in session.execute(statement, list(part))})
    return inserted


def _affected(session: Session, run_ids: list[str]) -> list[int]:
    """The runs' outputs, and their inputs that no COMPLETE run produced (described by them)."""
    outputs: set[int] = set()
    inputs: set[int] = set()
    for part in chunks(run_ids):
        query = select(RunDataset.run_id, RunDataset.dataset_id, RunDataset.role).where(
            RunDataset.run_id.in_(part)
        )
        by_run: dict[str, dict[str, set[int]]] = {}
        for run_id, dataset_id, role in session.execute(query):
            by_run.setdefault(run_id, {"input": set(), "output": set()})[role].add(dataset_id)
        for roles in by_run.values():
            outputs |= roles["output"]
            inputs |= roles["input"] - roles["output"]
    produced: set[int] = set()
    for candidates in chunks(sorted(inputs)):
        produced.update(
            session.scalars(
                select(RunDataset.dataset_id)
                .join(Run, Run.run_id == RunDataset.run_id)
                .where(
                    RunDataset.dataset_id.in_(candidates),
                    RunDataset.role == "output",
                    Run.state == "COMPLETE",
                )
            )
        )
    return sorted(outputs | (inputs - produced))


def _locked_runs(session: Session, events: list[ParsedEvent]) -> dict[str, Run]:
    """The events' runs, created from their first event where new, locked in run-id order
    (``FOR NO KEY UPDATE``: rows that only refer to a run, such as edges, do not wait for it)."""
    jobs = sorted({(e.job.namespace, e.job.name) for e in events})
    insert_ignore(
        session, Job, [{"namespace": n, "name": j} for n, j in jobs], ["namespace", "name"]
    )
    job_ids: dict[tuple[str, str], int] = {}
    for part in chunks(jobs):
        query = select(Job.id, Job.namespace, Job.name).where(
            tuple_(Job.namespace, Job.name).in_(list(part))
        )
        job_ids.update({(n, j): i for i, n, j in session.execute(query)})
    first: dict[str, ParsedEvent] = {}
    for event in events:
        first.setdefault(event.run_id, event)
    rows = [
        {
            "run_id": e.run_id,
            "job_id": job_ids[(e.job.namespace, e.job.name)],
            "parent_run_id": e.parent_run_id,
            "parent_job_name": e.parent_job_name,
            "state": e.event_type,
            "state_time": e.event_time,
            "error_message": e.error_message,
        }
        for e in first.values()
    ]
    insert_ignore(session, Run, rows, ["run_id"])
    runs: dict[str, Run] = {}
    for ids in chunks(sorted(first)):
        statement = (
            select(Run)
            .where(Run.run_id.in_(ids))
            .order_by(Run.run_id)
            .with_for_update(key_share=True)
        )
        runs.update(
            {
                r.run_id: r
                for r in session.scalars(statement.execution_options(populate_existing=True))
            }
        )
    return runs


def _apply_state(run: Run, event: ParsedEvent) -> None:
    if run.parent_run_id is None and event.parent_run_id is not None:
        run.parent_run_id = event.parent_run_id
        run.parent_job_name = event.parent_job_name
    if event.event_type == "START" and (
        run.started_at is None or event.event_time < run.started_at
    ):
        run.started_at = event.event_time
    if state_key(event.event_type, event.event_time) >= state_key(run.state, run.state_time):
        run.state = event.event_type
        run.state_time = event.event_time
        if event.event_type in TERMINAL_STATES:
            run.ended_at = event.event_time
            run.error_message = event.error_message if event.event_type != "COMPLETE" else None
    elif event.error_message and run.state in ("FAIL", "ABORT") and run.error_message is None:
        run.error_message = event.error_message
