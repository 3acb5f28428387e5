"""Audit records: who launched a run, how it ended, which controls failed, what was purged or
excluded, derived from the ``tagtrail_audit`` run facet and the ``tagtrail_controls`` facet of
the output dataset, and queried by dataset, department, agreement, kind and time.

Rows are written by :func:`write_audit` in the ingest transaction, for newly stored events only
(a duplicate event is recognised before any indexing), so they are never written twice. Each
row derives from its event's raw JSON alone, whatever order events arrive in.

Which rows an event yields (events without ``tagtrail_audit`` yield none):

- START: ``run_started`` (details: ``launchedVia``);
- COMPLETE / FAIL: ``run_completed`` / ``run_failed`` (details: ``outputRows``, ``errorMessage``,
  ``failedControls`` -- the failed controls of severity ``error`` --, ``notEvaluated`` -- the
  controls an earlier halt kept from running -- and the controls' ``asOf``), then one
  ``control_failed`` per evaluated control with ``passed: false`` and severity ``error`` and one
  ``control_warning`` per such control of another severity (details: the control); then, from
  the ``dataQualityAssertions`` facet, ``gate_halted`` when a FAIL's failed expectations
  include one of severity ``error`` and ``gate_warning`` for failed expectations of severity
  ``warn`` (details: ``expectations``, each with its name, column, description and the counts
  the gate reported -- never a value);
- ABORT with ``skippedBecause`` in ``tagtrail_audit``: ``flow_skipped`` (details: the upstream
  datasets that were held back or failed, and why);
- COMPLETE only, as a halted run stores nothing: ``retention_purge`` when rows were purged
  (details: the retention object) and ``opt_out_exclusion`` whenever an opt-out register was
  applied, even if it excluded no one (details: the opt-out object);
- COMPLETE with a ``tagtrail_disposal`` output facet (an agreement ended): ``dataset_destroyed``
  or ``dataset_archived`` (details: the disposal object: agreement, reason, rows, keys hash);
- COMPLETE whose ``tagtrail_audit`` holds ``grant`` (``tagtrail grants --apply``): only
  ``grant_changed`` (details: the grant object; its dataset, or ``*`` for a schema- or role-wide
  change, is the record's dataset).

Facets are read tolerantly: a field of the wrong type counts as absent, and an audit facet
that yields no Dagster run id (``dagsterRunId``, else the ``parent`` facet) or no department
(``department``, else a ``tagtrail.<department>`` namespace) is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from lineage.store.models import AuditRow, Dataset
from lineage.store.parse import ParsedEvent, as_dict, as_list, as_str, department_of
from lineage.store.records import AUDIT_KINDS, AuditRecord
from lineage.store.sql import chunks

AUDIT_FACET: Final = "tagtrail_audit"
CONTROLS_FACET: Final = "tagtrail_controls"
DISPOSAL_FACET: Final = "tagtrail_disposal"
_RUN_KINDS: Final = {
    "START": "run_started",
    "COMPLETE": "run_completed",
    "FAIL": "run_failed",
    "ABORT": "flow_skipped",
}
_ASSERTIONS: Final = "dataQualityAssertions"


def audit_rows(event: ParsedEvent) -> list[dict[str, Any]]:
    """The ``audit_records`` rows (without ``event_id``) one event yields, in the order above."""
    run_facets = as_dict(as_dict(event.document.get("run")).get("facets"))
    audit = run_facets.get(AUDIT_FACET)
    run_kind = _RUN_KINDS.get(event.event_type)
    if not isinstance(audit, dict) or run_kind is None:
        return []
    entries = as_list(event.document.get("outputs"))
    output = as_dict(entries[0]) if entries else {}
    namespace, dataset = as_str(output.get("namespace")), as_str(output.get("name"))
    if namespace is None or dataset is None:
        namespace, dataset = event.job.namespace, event.job.name
    grant = as_dict(audit.get("grant")) if run_kind == "run_completed" else {}
    if grant:
        dataset = as_str(grant.get("dataset")) or "*"
    dagster_run_id = as_str(audit.get("dagsterRunId")) or event.parent_run_id
    department = as_str(audit.get("department")) or department_of(namespace)
    if dagster_run_id is None or department is None:
        return []
    common = {
        "at": event.event_time,
        "run_id": event.run_id,
        "dagster_run_id": dagster_run_id,
        "namespace": namespace,
        "dataset": dataset,
        "department": department,
        "agreement": as_str(audit.get("agreement")),
        "purpose": as_str(audit.get("purpose")),
        "launched_by": as_str(audit.get("launchedBy")),
        "launched_at": _moment(audit.get("launchedAt")),
        "observed_by": as_str(audit.get("observedBy")),
    }
    facts: list[tuple[str, dict[str, Any]]]
    if grant:
        facts = [("grant_changed", grant)]
    elif run_kind == "run_started":
        facts = [(run_kind, {"launchedVia": as_str(audit.get("launchedVia"))})]
    elif run_kind == "flow_skipped":
        skipped = [as_dict(s) for s in as_list(audit.get("skippedBecause")) if as_dict(s)]
        if not skipped:
            return []
        facts = [(run_kind, {"skippedBecause": skipped})]
    else:
        facets = {**as_dict(output.get("facets")), **as_dict(output.get("outputFacets"))}
        facts = _outcome(run_kind, event, facets)
    return [{**common, "kind": kind, "details": details} for kind, details in facts]


def _outcome(
    run_kind: str, event: ParsedEvent, facets: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The run's outcome row, then its failed controls and, if it completed, purge and opt-out."""
    checked = as_dict(facets.get(CONTROLS_FACET))
    controls = [c for c in as_list(checked.get("controls")) if isinstance(c, dict)]
    skipped = [c for c in controls if c.get("evaluated") is False]
    failed = [c for c in controls if c.get("passed") is False and c not in skipped]
    blocking = [c for c in failed if c.get("severity") == "error"]
    facts: list[tuple[str, dict[str, Any]]] = [
        (
            run_kind,
            {
                "outputRows": _count(as_dict(facets.get("outputStatistics")).get("rowCount")),
                "errorMessage": event.error_message,
                "failedControls": _names(blocking),
                "notEvaluated": _names(skipped),
                "asOf": as_str(checked.get("asOf")),
            },
        )
    ]
    facts += [
        ("control_failed" if control.get("severity") == "error" else "control_warning", control)
        for control in failed
    ]
    facts += _gate(run_kind, facets)
    if run_kind != "run_completed":  # a halted run stored nothing: nothing was purged or left out
        return facts
    retention = checked.get("retention")
    if isinstance(retention, dict) and (_count(retention.get("purged")) or 0) > 0:
        facts.append(("retention_purge", retention))
    opt_out = checked.get("optOut")
    if isinstance(opt_out, dict):
        facts.append(("opt_out_exclusion", opt_out))
    disposal = as_dict(facets.get(DISPOSAL_FACET))
    action = as_str(disposal.get("action"))
    if action in ("destroyed", "archived"):
        details = {k: v for k, v in disposal.items() if not k.startswith("_")}
        facts.append((f"dataset_{action}", details))
    return facts


def _gate(run_kind: str, facets: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``gate_halted`` (a FAIL with a failed expectation of severity error) and ``gate_warning``."""
    assertions = [as_dict(a) for a in as_list(as_dict(facets.get(_ASSERTIONS)).get("assertions"))]
    failed = [a for a in assertions if a.get("success") is False]
    facts: list[tuple[str, dict[str, Any]]] = []
    for kind, severities in (("gate_halted", ("error",)), ("gate_warning", ("warn", "warning"))):
        found = [a for a in failed if a.get("severity") in severities]
        if found and (kind == "gate_warning" or run_kind == "run_failed"):
            expectations = [
                {
                    k: a[k]
                    for k in ("assertion", "column", "description", "actual", "severity")
                    if isinstance(a.get(k), str)
                }
                for a in found
            ]
            facts.append((kind, {"expectations": expectations}))
    return facts


def _names(controls: list[dict[str, Any]]) -> list[str]:
    return [name for name in (as_str(c.get("control")) for c in controls) if name is not None]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def write_audit(session: Session, events: Sequence[tuple[int, ParsedEvent]]) -> int:
    """Insert the audit rows of newly stored ``(event id, event)`` pairs; how many there were."""
    rows = [
        {**row, "event_id": event_id} for event_id, event in events for row in audit_rows(event)
    ]
    for part in chunks(rows):
        session.execute(insert(cast(Table, AuditRow.__table__)), list(part))
    return len(rows)


def check_filters(kind: str | None, since: datetime | None, until: datetime | None) -> None:
    """Reject an unknown kind or a naive ``since``/``until`` with :class:`ValueError`."""
    if kind is not None and kind not in AUDIT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AUDIT_KINDS)}, not {kind!r}")
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, not the naive {moment.isoformat()}")


def audit_records(
    session: Session,
    dataset: Dataset | None = None,
    *,
    department: str | None = None,
    agreement: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRecord]:
    """Audit records matching every filter given, by time then insertion order.

    ``since`` is inclusive and ``until`` exclusive; call :func:`check_filters` first.
    """
    query = select(AuditRow)
    if dataset is not None:
        query = query.where(
            AuditRow.namespace == dataset.namespace, AuditRow.dataset == dataset.name
        )
    for column, value in (
        (AuditRow.department, department),
        (AuditRow.agreement, agreement),
        (AuditRow.kind, kind),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if until is not None:
        query = query.where(AuditRow.at < until)
    rows = session.scalars(query.order_by(AuditRow.at, AuditRow.id))
    return [_record(row) for row in rows]


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(
        kind=row.kind,
        at=row.at,
        run_id=row.run_id,
        dagster_run_id=row.dagster_run_id,
        namespace=row.namespace,
        dataset=row.dataset,
        department=row.department,
        agreement=row.agreement,
        purpose=row.purpose,
        launched_by=row.launched_by,
        launched_at=row.launched_at,
        details=dict(row.details),
        observed_by=row.observed_by,
    )
