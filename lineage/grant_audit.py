"""The record of each privilege ``tagtrail grants --apply`` changed: an OpenLineage COMPLETE event.

One event per change, of the job ``grants`` in the namespace of the department whose schema (or
role) it concerns, with no inputs or outputs (a grant changes who may read a dataset, not the
dataset, so its version and lineage are untouched). The ``tagtrail_audit`` run facet (1.3.0)
carries the change in ``grant``, the agreement it follows from and who applied it; the lineage
store turns it into a ``grant_changed`` audit record. Every change of one apply shares a parent
run (namespace ``tagtrail``, job ``grants``), whose id is also the facet's ``dagsterRunId``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.generated import parent_run
from openlineage.client.uuid import generate_new_uuid

from lineage.control_facets import AUDIT_KEY, TagtrailAuditRunFacet
from lineage.events import PRODUCER, namespace
from pipelines.warehouse.grants_plan import Change

GRANTS_JOB: Final = "grants"
GRANTS_NAMESPACE: Final = "tagtrail"


def grant_details(
    change: Change, *, as_of: dt.date, database: str, executed_as: str
) -> dict[str, Any]:
    """The ``grant`` object of the audit facet for one change (names and reasons, no data)."""
    details: dict[str, Any] = {
        "action": change.action,
        "scope": change.scope,
        "role": change.role,
        "privilege": change.privilege,
        "schema": change.schema,
        "dataset": change.dataset,
        "columns": list(change.columns),
        "reason": change.reason,
        "statement": change.sql,
        "asOf": as_of.isoformat(),
        "database": database,
        "executedAs": executed_as,
    }
    return {k: v for k, v in details.items() if v is not None}


def grant_events(
    changes: Sequence[Change],
    *,
    as_of: dt.date,
    database: str,
    executed_as: str,
    applied_by: str,
    at: dt.datetime,
    producer: str = PRODUCER,
) -> list[RunEvent]:
    """One COMPLETE event per change of one apply, in the order the changes ran."""
    apply_id = str(generate_new_uuid(at))
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=apply_id),
        job=parent_run.Job(namespace=GRANTS_NAMESPACE, name=GRANTS_JOB),
        producer=producer,
    )
    events = []
    for change in changes:
        facet = TagtrailAuditRunFacet(
            producer=producer,
            launchedBy=applied_by,
            launchedVia="os_user",
            launchedAt=at.isoformat(),
            dagsterRunId=apply_id,
            department=change.department,
            observedBy=applied_by,
            observedVia="os_user",
            agreement=change.agreement,
            grant=grant_details(change, as_of=as_of, database=database, executed_as=executed_as),
        )
        events.append(
            RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=at.isoformat(),
                run=Run(
                    runId=str(generate_new_uuid(at)),
                    facets={"parent": parent, AUDIT_KEY: facet},
                ),
                job=Job(namespace=namespace(change.department), name=GRANTS_JOB),
                inputs=[],
                outputs=[],
                producer=producer,
            )
        )
    return events
