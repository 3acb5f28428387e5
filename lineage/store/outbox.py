"""The store as outbox: publications recorded ahead of the data, and event deliveries.

A **publication** is written in the same transaction as the COMPLETE event that records it (and
the audit rows derived from that event), *before* the new dataset file becomes visible; it stays
``pending`` until the caller has renamed the staged file into place and marks it ``published``.
Recovery (:func:`pending_publications`) finds the ones a crash or an outage left pending.

A **delivery** says whether an event reached one OpenLineage transport: ``delivered``,
``failed`` (try again) or ``rejected`` (the backend refused it as malformed: never again). An
event with no row, or a failed one, is pending for that transport, so a transport configured
later receives the history too; events are handed out in event-time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from lineage.store.ingest import write_event
from lineage.store.models import Delivery, Event, Job, Publication, Run
from lineage.store.parse import ParsedEvent
from lineage.store.sql import dialect_insert

PublicationState = Literal["pending", "published", "abandoned"]
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
REJECTED: Final = "rejected"


@dataclass(frozen=True)
class PublicationRecord:
    """A publication as the store holds it."""

    id: int
    run_id: str
    namespace: str
    dataset: str
    path: str
    staged: str
    sha256: str
    state: str
    created_at: datetime


@dataclass(frozen=True)
class PendingEvent:
    """An event not yet delivered to a transport: its store id, raw JSON and past attempts."""

    id: int
    run_id: str
    raw: str
    attempts: int


def record_publication(
    session: Session, event: ParsedEvent, *, path: str, staged: str, sha256: str
) -> int:
    """Store the COMPLETE event (with its audit rows) and a pending publication; its id."""
    write_event(session, event)
    event_id = session.scalars(
        select(Event.id).where(Event.content_hash == event.content_hash)
    ).one()
    output = event.outputs[0]
    now = datetime.now(UTC)
    row = Publication(
        event_id=event_id,
        run_id=event.run_id,
        namespace=output.namespace,
        dataset=output.name,
        path=path,
        staged=staged,
        sha256=sha256,
        state=PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def finish_publication(session: Session, publication_id: int, state: PublicationState) -> None:
    """Mark a publication ``published`` (its file is in place) or ``abandoned``."""
    session.execute(
        update(Publication)
        .where(Publication.id == publication_id)
        .values(state=state, updated_at=datetime.now(UTC))
    )


def pending_publications(session: Session) -> list[PublicationRecord]:
    """Publications still pending, oldest first."""
    rows = session.scalars(
        select(Publication).where(Publication.state == PENDING).order_by(Publication.id)
    )
    return [
        PublicationRecord(
            r.id,
            r.run_id,
            r.namespace,
            r.dataset,
            r.path,
            r.staged,
            r.sha256,
            r.state,
            r.created_at,
        )
        for r in rows
    ]


def recorded_versions(session: Session, namespace: str, dataset: str) -> set[str]:
    """The content hashes of every version of a dataset whose publication was recorded (its
    COMPLETE event stored: it passed its gate and controls), whether or not marked done yet."""
    return set(
        session.scalars(
            select(Publication.sha256).where(
                Publication.namespace == namespace,
                Publication.dataset == dataset,
                Publication.state != "abandoned",
            )
        )
    )


def undelivered(session: Session, transport: str, limit: int | None = None) -> list[PendingEvent]:
    """Events not yet delivered to ``transport``, oldest first (event time, then arrival)."""
    query = (
        select(Event.id, Event.run_id, Event.raw, Delivery.attempts)
        .outerjoin(Delivery, and_(Delivery.event_id == Event.id, Delivery.transport == transport))
        .where((Delivery.state.is_(None)) | (Delivery.state == FAILED))
        .order_by(Event.event_time, Event.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [PendingEvent(i, r, raw, a or 0) for i, r, raw, a in session.execute(query)]


def mark_delivery(
    session: Session,
    event_id: int,
    transport: str,
    *,
    delivered: bool,
    error: str | None = None,
    rejected: bool = False,
) -> None:
    """Record one attempt to deliver an event to a transport (``rejected``: never again)."""
    now = datetime.now(UTC)
    state = DELIVERED if delivered else REJECTED if rejected else FAILED
    insert = dialect_insert(session, Delivery).values(
        event_id=event_id,
        transport=transport,
        state=state,
        attempts=1,
        last_error=error,
        updated_at=now,
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["event_id", "transport"],
            set_={
                "state": state,
                "attempts": Delivery.attempts + 1,
                "last_error": error,
                "updated_at": now,
            },
        )
    )


def later_publication_exists(session: Session, record: PublicationRecord) -> bool:
    """Whether a newer publication of the same dataset was started after ``record``."""
    return (
        session.scalars(
            select(Publication.id)
            .where(
                Publication.namespace == record.namespace,
                Publication.dataset == record.dataset,
                Publication.id > record.id,
                Publication.state != "abandoned",
            )
            .limit(1)
        ).first()
        is not None
    )


@dataclass(frozen=True)
class OpenRun:
    """A run with no terminal event: what recovery needs to close it."""

    run_id: str
    job_namespace: str
    job_name: str
    parent_run_id: str | None
    started_at: datetime | None


def open_runs(session: Session) -> list[OpenRun]:
    """Runs still START or RUNNING, oldest first."""
    rows = session.execute(
        select(Run.run_id, Job.namespace, Job.name, Run.parent_run_id, Run.started_at)
        .join(Job, Job.id == Run.job_id)
        .where(Run.state.in_(("START", "RUNNING")))
        .order_by(Run.state_time, Run.run_id)
    )
    return [OpenRun(*row) for row in rows]
