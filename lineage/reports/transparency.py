"""The public transparency report: what was shared between departments over a period, in counts.

Built from the declarations (flows, purposes, agreements) and the lineage store's audit records
(runs published and held back, controls that halted, opt-outs applied). It holds names, dates and
counts only: no row key, no value of any column, no error message (which may quote data).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lineage.store.records import AuditRecord
from pipelines.estate import Estate

GATE_HALT = "quality gate"
OTHER_HALT = "error"


@dataclass(frozen=True)
class FlowActivity:
    """One flow over the period."""

    flow: str
    sender: str
    recipient: str
    purpose: str
    agreement_id: str
    agreement_title: str
    agreement_start: dt.date
    agreement_end: dt.date
    agreement_in_force: bool
    published: int
    held_back: int
    halted_by: dict[str, int]
    opted_out_rows: int
    opted_out_people: int


@dataclass(frozen=True)
class TransparencyReport:
    """Every declared flow's activity between ``since`` (inclusive) and ``until`` (exclusive)."""

    estate: str
    since: dt.datetime
    until: dt.datetime
    flows: tuple[FlowActivity, ...]

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON-safe object."""
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        for flow in data["flows"]:
            for key in ("agreement_start", "agreement_end"):
                flow[key] = flow[key].isoformat()
        return data


def transparency_report(
    estate: Estate, records: Iterable[AuditRecord], since: dt.datetime, until: dt.datetime
) -> TransparencyReport:
    """The report for ``[since, until)``; ``records`` may hold more (they are filtered here)."""
    outputs = {flow.output: name for name, flow in estate.flows.items()}
    published: Counter[str] = Counter()
    held: Counter[str] = Counter()
    halts: dict[str, Counter[str]] = {name: Counter() for name in estate.flows}
    rows: Counter[str] = Counter()
    people: Counter[str] = Counter()
    records = list(records)
    gated = {r.run_id for r in records if r.kind == "gate_halted"}
    for record in records:
        flow_name = outputs.get(record.dataset)
        if flow_name is None or not since <= record.at < until:
            continue
        if record.department != estate.dataset_owner[record.dataset]:
            continue
        if record.kind == "run_completed":
            published[flow_name] += 1
        elif record.kind == "run_failed":
            held[flow_name] += 1
            controls = [c for c in record.details.get("failedControls") or [] if c]
            cause = GATE_HALT if record.run_id in gated else OTHER_HALT
            halts[flow_name].update(controls or [cause])
        elif record.kind == "opt_out_exclusion":
            rows[flow_name] += _count(record.details.get("excluded"))
            people[flow_name] += _count(record.details.get("excludedPeople"))
    start, end = since.date(), (until - dt.timedelta(microseconds=1)).date()
    activity = []
    for name, flow in sorted(estate.flows.items()):
        agreement = estate.agreements[flow.agreement]
        activity.append(
            FlowActivity(
                flow=name,
                sender=estate.departments[flow.owner].title,
                recipient=estate.departments[flow.recipient].title,
                purpose=flow.purpose,
                agreement_id=agreement.id,
                agreement_title=agreement.title,
                agreement_start=agreement.start,
                agreement_end=agreement.end,
                agreement_in_force=agreement.start <= end and agreement.end >= start,
                published=published[name],
                held_back=held[name],
                halted_by=dict(sorted(halts[name].items())),
                opted_out_rows=rows[name],
                opted_out_people=people[name],
            )
        )
    return TransparencyReport(estate.name, since, until, tuple(activity))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
