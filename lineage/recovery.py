"""Recovering the lineage store's side of a crash: publications left pending, runs left open.

A **pending publication** whose writing process is gone is finished the way it was going: if its
staged file is still there, whole, and nothing newer was published since, it is renamed into
place (its record already says it was published); if the file is already in place it is only
marked; otherwise it is abandoned and its staged file removed. One whose process is alive is left
alone: it is being written now. A publication to a PostgreSQL table (its path names
``postgresql://server/schema.table``) goes the same way with its staging table, once recovery is
given that warehouse (:func:`recover_publications`' ``warehouse``); staging tables no pending
publication needs whose writer is gone are dropped by :func:`remove_stale_tables`.

A **run left open** (START, never COMPLETE, FAIL or ABORT) is closed with an ABORT event saying
why, but only when the caller says the process that ran it is gone: tagtrail asks its Dagster
instance, so runs of other homes sharing the same store are never touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.generated import error_message_run

from lineage.events import PRODUCER, to_json
from lineage.store import LineageStore
from lineage.store.outbox import OpenRun, PublicationRecord
from pipelines.store import commit, sha256_of, writer_alive
from pipelines.warehouse.names import parse_ref

if TYPE_CHECKING:
    from pipelines.warehouse.tables import Warehouse


@dataclass
class Recovered:
    """What recovery did."""

    published: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    closed_runs: list[str] = field(default_factory=list)
    removed_tables: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.published or self.abandoned or self.closed_runs or self.removed_tables)


def recover_publications(
    store: LineageStore, into: Recovered | None = None, *, warehouse: Warehouse | None = None
) -> Recovered:
    """Finish or abandon every publication a dead process left pending.

    Publications to tables are settled only with their ``warehouse`` (the same server); without
    it they stay pending.
    """
    done = into if into is not None else Recovered()
    for record in store.pending_publications():
        if parse_ref(record.path) is not None:
            table_state = _recover_table(store, record, warehouse)
            if table_state is not None:
                store.finish_publication(record.id, table_state)
                (done.published if table_state == "published" else done.abandoned).append(
                    f"{record.namespace}/{record.dataset}"
                )
            continue
        staged, final = Path(record.staged), Path(record.path)
        if staged.exists() and writer_alive(staged):
            continue  # its process is about to rename it
        if staged.is_file() and not store.superseded(record) and _whole(staged, record):
            commit(staged, final)
            state = "published"
        elif not staged.exists() and final.is_file() and _whole(final, record):
            state = "published"
        else:
            staged.unlink(missing_ok=True)
            state = "abandoned"
        store.finish_publication(record.id, state)  # type: ignore[arg-type]
        (done.published if state == "published" else done.abandoned).append(
            f"{record.namespace}/{record.dataset}"
        )
    return done


def _recover_table(
    store: LineageStore, record: PublicationRecord, warehouse: Warehouse | None
) -> Literal["published", "abandoned"] | None:
    """How a table publication ends (None: leave it pending)."""
    final, staged = parse_ref(record.path), parse_ref(record.staged)
    if warehouse is None or final is None or final.server != warehouse.server:
        return None
    if staged is None or staged.server != final.server or staged.schema != final.schema:
        return "abandoned"
    adopted = warehouse.adopt(staged.schema, staged.table, final.table)
    if adopted is None:
        # its writer still holds it, or it is gone
        if warehouse.comment(staged.schema, staged.table) is not None:
            return None
        meta = warehouse.comment(final.schema, final.table) or {}
        return "published" if meta.get("sha256") == record.sha256 else "abandoned"
    with adopted:
        whole = adopted.sha256 == record.sha256 and adopted.whole()
        if whole and not store.superseded(record):
            adopted.swap()
            return "published"
    return "abandoned"  # closing the adopted version dropped it


def remove_stale_tables(
    store: LineageStore,
    warehouse: Warehouse,
    into: Recovered | None = None,
    *,
    schemas: Iterable[str] | None = None,
) -> Recovered:
    """Drop every staging table (in ``schemas``, default all) whose writer is gone and that no
    pending publication needs."""
    from pipelines.warehouse.hidden import drop_stale

    done = into if into is not None else Recovered()
    keep = {p.staged for p in store.pending_publications()}
    for ref in drop_stale(warehouse, keep, schemas):
        done.removed_tables.append(f"{ref.schema}.{ref.table}")
    return done


def close_runs(
    store: LineageStore,
    is_gone: Callable[[OpenRun], str | None],
    into: Recovered | None = None,
) -> Recovered:
    """Close with ABORT every open run ``is_gone`` explains (it returns the reason, or None)."""
    done = into if into is not None else Recovered()
    for run in store.open_runs():
        reason = is_gone(run)
        if reason is not None:
            store.ingest(to_json(abort_event(run, reason)))
            done.closed_runs.append(f"{run.job_namespace}/{run.job_name} ({run.run_id})")
    return done


def abort_event(run: OpenRun, reason: str) -> RunEvent:
    """The ABORT event that closes ``run``, with the reason as its error message."""
    return RunEvent(
        eventType=RunState.ABORT,
        eventTime=dt.datetime.now(dt.UTC).isoformat(),
        run=Run(
            runId=run.run_id,
            facets={
                "errorMessage": error_message_run.ErrorMessageRunFacet(
                    message=reason, programmingLanguage="python", producer=PRODUCER
                )
            },
        ),
        job=Job(namespace=run.job_namespace, name=run.job_name),
        inputs=[],
        outputs=[],
        producer=PRODUCER,
    )


def _whole(path: Path, record: PublicationRecord) -> bool:
    return sha256_of(path) == record.sha256
