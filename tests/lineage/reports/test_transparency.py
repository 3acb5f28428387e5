"""The transparency report counts the audit records of its period, per flow, and nothing else."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest

from lineage.reports.render import render_transparency
from lineage.reports.transparency import GATE_HALT, OTHER_HALT, transparency_report
from lineage.store.records import AuditRecord
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate

SINCE = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


def _record(
    estate: Estate, kind: str, dataset: str, at: dt.datetime, run: str = "r", **details: Any
) -> AuditRecord:
    owner = estate.dataset_owner[dataset]
    return AuditRecord(
        kind=kind,
        at=at,
        run_id=run,
        dagster_run_id="d",
        namespace=f"tagtrail.{owner}",
        dataset=dataset,
        department=owner,
        agreement=None,
        purpose=None,
        launched_by=None,
        launched_at=None,
        details=details,
    )


def test_counts_per_flow_within_the_period(estate: Estate) -> None:
    inside, before, at_end = SINCE + dt.timedelta(days=3), SINCE - dt.timedelta(seconds=1), UNTIL
    care = "care_research_extract"
    records = [
        _record(estate, "run_completed", care, inside),
        _record(estate, "run_completed", care, inside),
        _record(estate, "run_completed", care, before),
        _record(estate, "run_completed", care, at_end),
        _record(estate, "run_failed", care, inside, failedControls=["opt_outs"]),
        _record(estate, "run_failed", care, inside, failedControls=["opt_outs", "retention"]),
        _record(estate, "run_failed", care, inside, failedControls=[]),
        _record(estate, "run_failed", care, inside, "gated", failedControls=[]),
        _record(estate, "gate_halted", care, inside, "gated", expectations=[]),
        _record(estate, "opt_out_exclusion", care, inside, excluded=7, excludedPeople=5),
        _record(estate, "opt_out_exclusion", care, inside, excluded=3, excludedPeople=3),
        _record(estate, "opt_out_exclusion", care, before, excluded=100, excludedPeople=100),
        _record(estate, "run_completed", "care_packages", inside),  # a source, not a flow
        _record(estate, "run_started", care, inside),
    ]
    report = transparency_report(estate, records, SINCE, UNTIL)
    by_flow = {f.flow: f for f in report.flows}
    assert set(by_flow) == set(estate.flows)
    flow = by_flow[care]
    assert (flow.published, flow.held_back) == (2, 4)
    assert flow.halted_by == {GATE_HALT: 1, OTHER_HALT: 1, "opt_outs": 2, "retention": 1}
    assert (flow.opted_out_rows, flow.opted_out_people) == (10, 8)
    others = [f for name, f in by_flow.items() if name != care]
    assert all(f.published == f.held_back == f.opted_out_rows == 0 for f in others)


def test_another_departments_dataset_of_the_same_name_is_not_counted(estate: Estate) -> None:
    record = _record(estate, "run_completed", "care_research_extract", SINCE)
    stranger = AuditRecord(**{**record.__dict__, "department": "elsewhere"})
    report = transparency_report(estate, [stranger], SINCE, UNTIL)
    assert all(f.published == 0 for f in report.flows)


def test_agreements_in_force_over_the_period(estate: Estate) -> None:
    long_ago = transparency_report(
        estate, [], dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    )
    assert not any(f.agreement_in_force for f in long_ago.flows)
    report = transparency_report(estate, [], SINCE, UNTIL)
    for flow in report.flows:
        agreement = estate.agreements[estate.flows[flow.flow].agreement]
        expected = agreement.start <= dt.date(2026, 10, 31) and agreement.end >= SINCE.date()
        assert flow.agreement_in_force == expected


def test_every_format_holds_the_same_counts(estate: Estate) -> None:
    care = "care_research_extract"
    records = [
        _record(estate, "run_completed", care, SINCE),
        _record(estate, "opt_out_exclusion", care, SINCE, excluded=4, excludedPeople=2),
    ]
    report = transparency_report(estate, records, SINCE, UNTIL)
    rows = {r["flow"]: r for r in csv.DictReader(io.StringIO(render_transparency(report, "csv")))}
    assert (rows[care]["runs published"], rows[care]["opted-out people excluded"]) == ("1", "2")
    data = json.loads(render_transparency(report, "json"))
    flows = {f["flow"]: f for f in data["flows"]}
    assert flows[care]["opted_out_rows"] == 4
    assert data["since"] == SINCE.isoformat()
    page = render_transparency(report, "html")
    assert page.count("<table>") == len(estate.flows)
