"""Writing one event: the raw row, its job and run, the run's datasets, the graph, audit rows.

Called inside one transaction by :meth:`lineage.store.LineageStore.ingest`; the caller commits
or rolls back, so an event is either fully indexed or not there at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lineage.store.audit import write_audit
from lineage.store.derive import refresh_dataset
from lineage.store.models import Event, Job, Run, RunDataset
from lineage.store.parse import ParsedEvent
from lineage.store.records import TERMINAL_STATES
from lineage.store.sql import dialect_insert, ensure_datasets, insert_ignore

_RANK = {"OTHER": 0, "START": 1, "RUNNING": 1, "COMPLETE": 2, "ABORT": 2, "FAIL": 2}
_TIE = {"OTHER": 0, "START": 0, "RUNNING": 1, "COMPLETE": 0, "ABORT": 1, "FAIL": 2}


def state_key(event_type: str, at: datetime) -> tuple[int, datetime, int]:
    """Order of run states: terminal beats running beats OTHER, then the later event wins.

    Ties at the same instant go to the more pessimistic state, so the final state does not
    depend on the order events arrive in.
    """
    return (_RANK.get(event_type, 0), at, _TIE.get(event_type, 0))


def write_event(session: Session, event: ParsedEvent) -> bool:
    """Store and index one parsed event (graph and audit records); False (and nothing written)
    if it is already stored."""
    inserted = session.execute(
        dialect_insert(session, Event)
        .values(
            content_hash=event.content_hash,
            event_type=event.event_type,
            event_time=event.event_time,
            run_id=event.run_id,
            parent_run_id=event.parent_run_id,
            job_namespace=event.job.namespace,
            job_name=event.job.name,
            producer=event.producer,
            raw=event.raw,
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["content_hash"])
        .returning(Event.id)
    ).scalar_one_or_none()
    if inserted is None:
        return False
    run = _locked_run(session, event)
    was_complete = run.state == "COMPLETE"
    _apply_state(run, event)
    datasets = ensure_datasets(session, [*event.inputs, *event.outputs])
    roles = [("input", ref) for ref in event.inputs] + [("output", ref) for ref in event.outputs]
    rows = [
        {"run_id": run.run_id, "dataset_id": datasets[ref], "role": role} for role, ref in roles
    ]
    insert_ignore(session, RunDataset, rows, ["run_id", "dataset_id", "role"])
    session.flush()
    if was_complete or run.state == "COMPLETE":
        for dataset_id in _affected(session, run.run_id):
            refresh_dataset(session, dataset_id)
    write_audit(session, inserted, event)
    return True


def _affected(session: Session, run_id: str) -> list[int]:
    """The run's outputs, and its inputs that no COMPLETE run produced (described by it)."""
    rows = session.execute(
        select(RunDataset.dataset_id, RunDataset.role).where(RunDataset.run_id == run_id)
    ).all()
    outputs = {d for d, role in rows if role == "output"}
    inputs = {d for d, role in rows if role == "input"} - outputs
    produced = set(
        session.scalars(
            select(RunDataset.dataset_id)
            .join(Run, Run.run_id == RunDataset.run_id)
            .where(
                RunDataset.dataset_id.in_(sorted(inputs)),
                RunDataset.role == "output",
                Run.state == "COMPLETE",
            )
        )
    )
    return sorted(outputs | (inputs - produced))


def _locked_run(session: Session, event: ParsedEvent) -> Run:
    insert_ignore(
        session,
        Job,
        [{"namespace": event.job.namespace, "name": event.job.name}],
        ["namespace", "name"],
    )
    job_id = session.scalars(
        select(Job.id).where(Job.namespace == event.job.namespace, Job.name == event.job.name)
    ).one()
    row = {
        "run_id": event.run_id,
        "job_id": job_id,
        "parent_run_id": event.parent_run_id,
        "parent_job_name": event.parent_job_name,
        "state": event.event_type,
        "state_time": event.event_time,
        "error_message": event.error_message,
    }
    insert_ignore(session, Run, [row], ["run_id"])
    statement = select(Run).where(Run.run_id == event.run_id).with_for_update()
    return session.scalars(statement.execution_options(populate_existing=True)).one()


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
