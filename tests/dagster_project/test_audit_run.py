"""Over a real run with a quality-gate halt: the halt, and the flows it kept from running, are
audit records of their own kinds, and their events pass the OpenLineage schemas."""

from __future__ import annotations

import json
from pathlib import Path

from dagster_project.demo import run_demo
from dagster_project.skips import record_skipped, run_status
from lineage.validation import validate_event

from ..openlineage_spec import HAVE_SPEC, SPEC_DIR
from .conftest import AS_OF, PEOPLE
from .runs import ESTATE, instance, store


def test_gate_halt_and_skipped_flows_are_audited(home_after_clean_run: Path) -> None:
    home = home_after_clean_run
    report = run_demo(home, people=PEOPLE, as_of=AS_OF, defect="missing-primary-keys")
    not_run = {o.dataset for o in report.outcomes if o.status == "not run"}
    assert not_run == {"care_research_extract", "care_statistics"}
    with store(home) as lineage:
        halted = lineage.audit(kind="gate_halted")
        skipped = lineage.audit(kind="flow_skipped")
        aborts = [
            json.loads(e)
            for e in lineage.events(report.run_id)
            if json.loads(e)["eventType"] == "ABORT"
        ]
    assert [r.dataset for r in halted] == ["care_packages"]
    (expectation,) = halted[0].details["expectations"]
    assert expectation["assertion"] == "expect_column_values_to_not_be_null"
    assert {r.dataset for r in skipped} == not_run
    for record in skipped:
        assert record.details["skippedBecause"] == [
            {"dataset": "care_packages", "status": "held back"}
        ]
        assert record.dagster_run_id == report.run_id
    assert {e["job"]["name"] for e in aborts} == not_run

    # The run-failure sensor reads the same outcome from Dagster's event log; recording again
    # (as it does for this run) stores nothing new.
    with instance(home) as dagster, store(home) as lineage:
        status = run_status(dagster, report.run_id, ESTATE)
        assert status == {o.dataset: o.status for o in report.outcomes}
        assert set(record_skipped(lineage, dagster, report.run_id, ESTATE, status)) == not_run
        assert len(lineage.audit(kind="flow_skipped")) == len(not_run)
    if HAVE_SPEC:
        for event in aborts:
            assert validate_event(event, SPEC_DIR) == []
