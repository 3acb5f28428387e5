"""The lineage store: open it, ingest events, ask where data went."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Final

from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from lineage.store import migrate, outbox
from lineage.store.audit import audit_records, check_filters
from lineage.store.connect import create_store_engine, mask_url, wrap_error
from lineage.store.errors import URL_VARIABLE, StoreError, UnknownNameError
from lineage.store.graph import GraphEdge, column_tags_by_dataset, graph_edges
from lineage.store.ingest import write_events
from lineage.store.outbox import OpenRun, PendingEvent, PublicationRecord, PublicationState
from lineage.store.parse import ParsedEvent, parse_event
from lineage.store.queries import (
    column_records,
    dataset_record,
    dataset_records,
    event_texts,
    find_column,
    find_dataset,
    run_records,
)
from lineage.store.records import (
    AuditRecord,
    ColumnRecord,
    DatasetRecord,
    Direction,
    Hop,
    RunRecord,
)
from lineage.store.trace import trace_columns, trace_datasets
from pipelines.heap import young_collections_only

WRITE_ATTEMPTS: Final = 3
OPEN_ATTEMPTS: Final = 5
BATCH_SIZE: Final = 500
_CONFLICT_SQLSTATES = ("40001", "40P01")


def open_store(url: str, *, schema: str | None = None) -> LineageStore:
    """Open (and create or upgrade) the store at ``url``.

    Runs the packaged migrations up to head; opening an up-to-date store only reads its version.
    On PostgreSQL the store lives in ``schema`` (default: the URL's ``tagtrail_schema`` or
    ``search_path``, else ``tagtrail``; see :mod:`lineage.store.schema`), created if missing; a
    store an earlier tagtrail left unprefixed is moved there. SQLite ignores ``schema``.
    Raises :class:`StoreError` (with ``transient`` set) when the database cannot be used.
    """
    engine = create_store_engine(url, schema)
    try:
        _upgrade(engine, url)
    except StoreError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        raise wrap_error(exc, url, "open") from exc
    except CommandError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open the lineage store at {mask_url(url)}: its schema is not one this "
            f"version of tagtrail knows ({exc}); upgrade tagtrail or set {URL_VARIABLE} to "
            "another database",
            url=mask_url(url),
            transient=False,
        ) from exc
    return LineageStore(engine, url)


def _upgrade(engine: Engine, url: str) -> None:
    """Migrate to head, retrying while another process creating the same store holds it."""
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            migrate.upgrade(engine)
            return
        except DBAPIError as exc:
            # SQLite may refuse a concurrent first open outright rather than wait for the
            # winner; by the next attempt the winner has finished and there is nothing to do.
            if attempt == OPEN_ATTEMPTS or not wrap_error(exc, url, "open").transient:
                raise
            time.sleep(0.2 * attempt)


class LineageStore:
    """Every OpenLineage event tagtrail emitted, raw, and the graph indexed from them."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._url = url
        self._closed = False

    @property
    def url(self) -> str:
        """The store's URL with any password masked."""
        return mask_url(self._url)

    def ingest(self, event: dict[str, Any] | str) -> bool:
        """Store one RunEvent and index it in one transaction; False if it was already stored.

        A ``str`` is kept byte for byte; a ``dict`` is serialised once with :func:`json.dumps`.
        Duplicates are recognised by the hash of the event's canonical JSON, whatever its
        formatting. A deadlock or serialisation failure between concurrent writers (PostgreSQL)
        is retried. Raises :class:`~lineage.store.errors.InvalidEventError` for an event that is
        not a RunEvent, and :class:`StoreError` when the database fails (``transient`` tells a
        delivery loop whether to retry later).
        """
        return self._write([parse_event(event)])[0]

    def ingest_many(
        self, events: Iterable[dict[str, Any] | str], batch_size: int = BATCH_SIZE
    ) -> int:
        """Ingest events in order, ``batch_size`` to a transaction; the number that were new.

        The result is the same as ingesting them one by one with :meth:`ingest`, only faster: a
        batch is parsed, written with multi-row statements, and each dataset it touches is
        rebuilt once. A batch is parsed before any of it is written, so an invalid event raises
        :class:`~lineage.store.errors.InvalidEventError` with nothing of its batch stored (the
        batches before it are).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        new = 0
        iterator = iter(events)
        with young_collections_only():
            while batch := list(itertools.islice(iterator, batch_size)):
                new += sum(self._write([parse_event(event) for event in batch]))
        return new

    def _write(self, parsed: list[ParsedEvent]) -> list[bool]:
        attempt = 1
        while True:
            try:
                with self._session("write to") as session, session.begin():
                    return write_events(session, parsed)
            except StoreError as exc:
                if attempt >= WRITE_ATTEMPTS or not _is_conflict(exc):
                    raise
                attempt += 1

    def record_publication(
        self, event: dict[str, Any] | str, *, path: str, staged: str, sha256: str
    ) -> int:
        """Store a COMPLETE event, its audit rows and a pending publication in one transaction.

        The caller then renames ``staged`` to ``path`` and calls :meth:`finish_publication`; until
        then the publication is pending, so recovery can finish or abandon it. Returns its id.
        """
        parsed = parse_event(event)
        with self._session("write to") as session, session.begin():
            return outbox.record_publication(
                session, parsed, path=path, staged=staged, sha256=sha256
            )

    def finish_publication(self, publication_id: int, state: PublicationState) -> None:
        """Mark a publication ``published`` (its file is in place) or ``abandoned``."""
        with self._session("write to") as session, session.begin():
            outbox.finish_publication(session, publication_id, state)

    def pending_publications(self) -> list[PublicationRecord]:
        """Publications a crash or an outage left pending, oldest first."""
        with self._session("read from") as session:
            return outbox.pending_publications(session)

    def superseded(self, record: PublicationRecord) -> bool:
        """Whether a newer publication of the same dataset was started after ``record``."""
        with self._session("read from") as session:
            return outbox.later_publication_exists(session, record)

    def open_runs(self) -> list[OpenRun]:
        """Runs with no terminal event yet (START or RUNNING), oldest first."""
        with self._session("read from") as session:
            return outbox.open_runs(session)

    def recorded_versions(self, namespace: str, dataset: str) -> set[str]:
        """The SHA-256 of every version of ``namespace/dataset`` whose publication was recorded."""
        with self._session("read from") as session:
            return outbox.recorded_versions(session, namespace, dataset)

    def undelivered(self, transport: str, limit: int | None = None) -> list[PendingEvent]:
        """Events not yet delivered to ``transport``, in event-time order."""
        with self._session("read from") as session:
            return outbox.undelivered(session, transport, limit)

    def mark_delivery(
        self,
        event_id: int,
        transport: str,
        *,
        delivered: bool,
        error: str | None = None,
        rejected: bool = False,
    ) -> None:
        """Record one attempt to deliver an event to ``transport``."""
        with self._session("write to") as session, session.begin():
            outbox.mark_delivery(
                session, event_id, transport, delivered=delivered, error=error, rejected=rejected
            )

    def events(self, run_id: str | None = None) -> list[str]:
        """Raw events in event-time order, all or those of an OpenLineage or Dagster run id."""
        with self._session("read from") as session:
            return event_texts(session, run_id)

    def runs(self, dataset: str | None = None) -> list[RunRecord]:
        """All runs, or those that wrote (or tried to write) ``dataset``, oldest first."""
        with self._session("read from") as session:
            target = find_dataset(session, dataset) if dataset is not None else None
            return run_records(session, target)

    def dataset(self, name: str) -> DatasetRecord | None:
        """The dataset called ``name`` (bare or ``namespace/name``), or None if unknown."""
        with self._session("read from") as session:
            try:
                return dataset_record(find_dataset(session, name))
            except UnknownNameError as exc:
                if exc.kind == "dataset" and type(exc) is UnknownNameError:
                    return None
                raise

    def datasets(self) -> list[DatasetRecord]:
        """Every known dataset, by namespace and name."""
        with self._session("read from") as session:
            return dataset_records(session)

    def graph(self) -> list[GraphEdge]:
        """The dataset-level edges of every dataset's current version (``namespace/name``)."""
        with self._session("read from") as session:
            return graph_edges(session)

    def column_tags(self) -> dict[str, frozenset[str]]:
        """``namespace/name`` -> the tags its current columns carry (datasets with any)."""
        with self._session("read from") as session:
            return column_tags_by_dataset(session)

    def columns(self, dataset: str) -> list[ColumnRecord]:
        """The dataset's current columns with their tags and attributions."""
        with self._session("read from") as session:
            return column_records(session, find_dataset(session, dataset))

    def trace(
        self,
        dataset: str,
        column: str | None = None,
        direction: Direction = "downstream",
        depth: int | None = None,
    ) -> list[Hop]:
        """Hops from ``dataset`` (or one of its columns) up- or downstream, nearest first.

        ``depth`` limits the number of hops from the start (None: no limit). Each hop names both
        ends, the job, the receiving department, agreement and purpose, the transformations and
        the tags now carried at the receiving side. Raises
        :class:`~lineage.store.errors.UnknownNameError` for an unknown dataset or column.
        """
        if direction not in ("upstream", "downstream"):
            raise ValueError(f"direction must be 'upstream' or 'downstream', not {direction!r}")
        if depth is not None and depth < 0:
            raise ValueError(f"depth must be None or at least 0, not {depth}")
        with self._session("read from") as session:
            start = find_dataset(session, dataset)
            if column is None:
                return trace_datasets(session, start.id, direction, depth)
            column_id = find_column(session, start, column)
            return trace_columns(session, column_id, start.id, direction, depth)

    def audit(
        self,
        *,
        dataset: str | None = None,
        department: str | None = None,
        agreement: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRecord]:
        """Audit records matching every filter given, by time (``since`` <= at < ``until``).

        ``dataset`` is bare or ``namespace/name``; an unknown one raises
        :class:`~lineage.store.errors.UnknownNameError` with close matches. ``kind`` is one of
        :data:`~lineage.store.records.AUDIT_KINDS`; ``since`` and ``until`` must be
        timezone-aware. Both mistakes raise :class:`ValueError`.
        """
        check_filters(kind, since, until)
        with self._session("read from") as session:
            target = find_dataset(session, dataset) if dataset is not None else None
            return audit_records(
                session,
                target,
                department=department,
                agreement=agreement,
                kind=kind,
                since=since,
                until=until,
            )

    def close(self) -> None:
        """Release the database connections; the store cannot be used afterwards."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> LineageStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LineageStore({self.url!r})"

    @contextmanager
    def _session(self, action: str) -> Iterator[Session]:
        if self._closed:
            raise StoreError(f"the lineage store at {self.url} is closed", url=self.url)
        try:
            with Session(self._engine) as session:
                yield session
        except (DBAPIError, PoolTimeoutError) as exc:
            raise wrap_error(exc, self._url, action) from exc


def _is_conflict(exc: StoreError) -> bool:
    cause = exc.__cause__
    orig = cause.orig if isinstance(cause, DBAPIError) else None
    return getattr(orig, "sqlstate", None) in _CONFLICT_SQLSTATES
