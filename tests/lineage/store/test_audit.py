"""Audit records derived from the tagtrail_audit and tagtrail_controls facets, and queried."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, delete, inspect, text

from lineage.store import (
    AuditRecord,
    LineageStore,
    UnknownNameError,
    migrate,
    open_store,
)
from lineage.store import ingest as ingest_module
from lineage.store.connect import create_store_engine
from lineage.store.models import Event

from .legacy import fill_reference, make_old_store, reference_url

FIXTURES = Path(__file__).parent / "fixtures"
Counts = Callable[[], dict[str, int]]

DAGSTER_RUN = "8c1f0000-0000-4000-8000-000000000001"
CARE_RUN = "0c1e0000-0000-4000-8000-00000000000a"
EXTRACT_RUN = "0c1e0000-0000-4000-8000-00000000000b"
FAIL_RUN = "0c1e0000-0000-4000-8000-00000000000f"
LAUNCHED_AT = datetime(2025, 11, 20, 9, 59, 58, 123456, tzinfo=UTC)

AGREEMENT_ENDED = {
    "control": "agreement_in_force",
    "passed": False,
    "severity": "error",
    "rule": "DSA-HOU-ASC-02: in force 2025-01-01 to 2025-06-30",
    "summary": "the agreement ended on 2025-06-30",
    "counts": {"days_past_end": 143},
}
SMALL_CELLS = {
    "control": "min_cell_size",
    "passed": False,
    "evaluated": True,
    "severity": "warn",
    "rule": "suppress counts under 10",
    "summary": "2 cells under 10 suppressed",
    "counts": {"cells": 2},
}
PASSED = {"control": "minimisation", "passed": True, "evaluated": True, "severity": "error"}
NOT_RUN = {
    "control": "opt_outs",
    "passed": False,
    "evaluated": False,
    "severity": "warn",
    "rule": "the national data opt-out is applied",
    "summary": "not evaluated: the flow was halted by agreement_in_force",
    "counts": {"evaluated": 0},
}
PURGE = {
    "rule": "DSA-HLT-ASC-01: keep P1Y after expected_discharge_date, then secure deletion",
    "dateColumn": "expected_discharge_date",
    "period": "P1Y",
    "cutoff": "2024-11-20",
    "purged": 12,
    "previouslyStored": 1212,
    "purgedKeysSha256": "ab12" * 16,
}
OPT_OUT = {
    "register": "national_data_opt_out",
    "registerVersion": "3f9a0c1d2e4b5a6c",
    "registerSize": 45,
    "matchedOn": "care_packages.nhs_number",
    "excluded": 3,
}
NO_OPT_OUT = {**OPT_OUT, "matchedOn": "care_research_extract.person_key", "excluded": 0}
NO_PURGE = {**PURGE, "purged": 0, "purgedKeysSha256": None}


def fixture(stem: str) -> dict[str, Any]:
    """A fixture event as a fresh dict."""
    return dict(json.loads((FIXTURES / f"{stem}.json").read_text(encoding="utf-8")))


def audited(
    stem: str,
    department: str,
    agreement: str | None = None,
    purpose: str | None = None,
    controls: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A fixture event with the tagtrail_audit facet and, if given, tagtrail_controls."""
    event = copy.deepcopy(fixture(stem))
    audit: dict[str, Any] = {
        "_producer": "https://tagtrail.dev/tagtrail/0.1.0",
        "_schemaURL": "https://tagtrail.dev/spec/facets/1-0-0/TagtrailAuditRunFacet.json"
        "#/$defs/TagtrailAuditRunFacet",
        "launchedBy": "alice",
        "launchedVia": "run_tag",
        "launchedAt": LAUNCHED_AT.isoformat(),
        "dagsterRunId": DAGSTER_RUN,
        "department": department,
    }
    if agreement is not None:
        audit |= {"agreement": agreement, "purpose": purpose}
    event["run"]["facets"]["tagtrail_audit"] = audit
    if controls is not None:
        event["outputs"][0]["facets"]["tagtrail_controls"] = {
            "_producer": "https://tagtrail.dev/tagtrail/0.1.0",
            "_schemaURL": "https://tagtrail.dev/spec/facets/1-0-0/TagtrailControlsDatasetFacet.json"
            "#/$defs/TagtrailControlsDatasetFacet",
            "asOf": "2025-11-20",
            **controls,
        }
    return event


def audited_events() -> list[dict[str, Any]]:
    """Three audited runs (a source extract, a research extract, a FAIL) and one unaudited."""
    extract = ("research", "DSA-ASC-RES-03", "service_evaluation")
    households = ("social_care", "DSA-HOU-ASC-02", "safeguarding")
    return [
        audited("01_care_packages_start", "social_care"),
        audited(
            "02_care_packages_complete",
            "social_care",
            controls={"controls": [], "retention": PURGE, "optOut": OPT_OUT},
        ),
        audited("03_care_research_extract_start", *extract),
        audited(
            "04_care_research_extract_complete",
            *extract,
            controls={
                "controls": [PASSED, SMALL_CELLS],
                "retention": NO_PURGE,
                "optOut": NO_OPT_OUT,
            },
        ),
        fixture("05_care_statistics_start"),
        fixture("06_care_statistics_complete"),
        audited("07_households_at_risk_start", *households),
        audited(
            "08_households_at_risk_fail",
            *households,
            controls={
                "controls": [PASSED, AGREEMENT_ENDED, NOT_RUN],
                "retention": PURGE,  # computed, but a halted run stores nothing
                "optOut": OPT_OUT,
            },
        ),
    ]


def at(text: str) -> datetime:
    """An aware UTC datetime from ISO text."""
    return datetime.fromisoformat(text).astimezone(UTC)


STARTED: dict[str, Any] = {"launchedVia": "run_tag"}
OUTCOME: dict[str, Any] = {
    "outputRows": None,
    "errorMessage": None,
    "failedControls": [],
    "notEvaluated": [],
    "asOf": "2025-11-20",
}
GATE = "gate households_at_risk failed: nhs_number would leave social_care unpseudonymised"
EXPECTED: list[tuple[str, str, str, dict[str, Any]]] = [
    ("run_started", "2025-11-20T10:00:00Z", "care_packages", STARTED),
    (
        "run_completed",
        "2025-11-20T10:00:01.250Z",
        "care_packages",
        {**OUTCOME, "outputRows": 1200},
    ),
    ("retention_purge", "2025-11-20T10:00:01.250Z", "care_packages", PURGE),
    ("opt_out_exclusion", "2025-11-20T10:00:01.250Z", "care_packages", OPT_OUT),
    ("run_started", "2025-11-20T10:00:02Z", "care_research_extract", STARTED),
    (
        "run_completed",
        "2025-11-20T10:00:03.500Z",
        "care_research_extract",
        {**OUTCOME, "outputRows": 840},
    ),
    ("control_warning", "2025-11-20T10:00:03.500Z", "care_research_extract", SMALL_CELLS),
    ("opt_out_exclusion", "2025-11-20T10:00:03.500Z", "care_research_extract", NO_OPT_OUT),
    ("run_started", "2025-11-20T11:00:00Z", "households_at_risk", STARTED),
    (
        "run_failed",
        "2025-11-20T11:00:02Z",
        "households_at_risk",
        {
            **OUTCOME,
            "errorMessage": GATE,
            "failedControls": ["agreement_in_force"],
            "notEvaluated": ["opt_outs"],
        },
    ),
    ("control_failed", "2025-11-20T11:00:02Z", "households_at_risk", AGREEMENT_ENDED),
]


def summary(records: list[AuditRecord]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(kind, time as ISO text, dataset, details) of each record."""
    return [(r.kind, r.at.isoformat(), r.dataset, r.details) for r in records]


def expected(*indexes: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """EXPECTED rows (all, or those at ``indexes``) in the shape of :func:`summary`."""
    rows = [EXPECTED[i] for i in indexes] if indexes else EXPECTED
    return [(kind, at(time).isoformat(), dataset, details) for kind, time, dataset, details in rows]


@pytest.fixture
def audit_store(store: LineageStore) -> LineageStore:
    """A store holding the audited events."""
    assert store.ingest_many(audited_events()) == 8
    return store


def test_each_event_yields_its_rows_in_time_order(audit_store: LineageStore) -> None:
    assert summary(audit_store.audit()) == expected()


def test_record_fields(audit_store: LineageStore) -> None:
    records = audit_store.audit(kind="run_failed")
    assert records == [
        AuditRecord(
            kind="run_failed",
            at=datetime(2025, 11, 20, 11, 0, 2, tzinfo=UTC),
            run_id=FAIL_RUN,
            dagster_run_id=DAGSTER_RUN,
            namespace="tagtrail.housing",
            dataset="households_at_risk",
            department="social_care",
            agreement="DSA-HOU-ASC-02",
            purpose="safeguarding",
            launched_by="alice",
            launched_at=LAUNCHED_AT,
            details=EXPECTED[9][3],
        )
    ]
    assert records[0].at.utcoffset() is not None
    source = audit_store.audit(dataset="care_packages")
    assert {(r.agreement, r.purpose, r.department, r.run_id) for r in source} == {
        (None, None, "social_care", CARE_RUN)
    }
    assert records[0].as_json()["at"] == "2025-11-20T11:00:02+00:00"
    json.dumps([r.as_json() for r in audit_store.audit()])


def test_filters(audit_store: LineageStore) -> None:
    def kinds(**filters: Any) -> list[tuple[str, str]]:
        return [(r.kind, r.dataset) for r in audit_store.audit(**filters)]

    assert summary(audit_store.audit(dataset="care_research_extract")) == expected(4, 5, 6, 7)
    assert summary(audit_store.audit(dataset="tagtrail.research/care_research_extract")) == (
        expected(4, 5, 6, 7)
    )
    assert summary(audit_store.audit(department="social_care")) == expected(0, 1, 2, 3, 8, 9, 10)
    assert summary(audit_store.audit(agreement="DSA-ASC-RES-03")) == expected(4, 5, 6, 7)
    assert summary(audit_store.audit(kind="control_failed")) == expected(10)
    assert summary(audit_store.audit(kind="control_warning")) == expected(6)
    assert summary(audit_store.audit(kind="retention_purge")) == expected(2)
    assert kinds(kind="opt_out_exclusion") == [
        ("opt_out_exclusion", "care_packages"),
        ("opt_out_exclusion", "care_research_extract"),
    ]
    assert kinds(department="social_care", agreement="DSA-HOU-ASC-02", kind="run_started") == [
        ("run_started", "households_at_risk")
    ]
    assert audit_store.audit(department="public_reporting") == []
    assert audit_store.audit(agreement="DSA-NONE") == []


def test_since_is_inclusive_and_until_exclusive(audit_store: LineageStore) -> None:
    completed = at("2025-11-20T10:00:01.250Z")
    assert summary(audit_store.audit(since=completed)) == expected(*range(1, 11))
    assert summary(audit_store.audit(until=completed)) == expected(0)
    window = audit_store.audit(since=completed, until=at("2025-11-20T10:00:03.500Z"))
    assert summary(window) == expected(1, 2, 3, 4)
    local = datetime.fromisoformat("2025-11-20T12:00:00+01:00")  # 11:00 UTC
    assert summary(audit_store.audit(since=local)) == expected(8, 9, 10)
    assert audit_store.audit(since=at("2025-11-21T00:00:00Z")) == []


def test_arrival_order_does_not_change_the_answer(store: LineageStore) -> None:
    store.ingest_many(reversed(audited_events()))
    assert [(r.kind, r.at, r.dataset) for r in store.audit()] == [
        (kind, at(time), dataset) for kind, time, dataset, _ in EXPECTED
    ]


def test_reingesting_adds_no_audit_rows(audit_store: LineageStore, counts: Counts) -> None:
    before = counts()
    assert before["tagtrail_audit_records"] == len(EXPECTED)
    assert audit_store.ingest_many(audited_events()) == 0
    assert audit_store.ingest_many(audit_store.events()) == 0
    assert counts() == before


def test_events_without_the_facet_add_none(loaded: LineageStore, counts: Counts) -> None:
    assert loaded.audit() == []
    assert counts()["tagtrail_audit_records"] == 0


def test_unknown_dataset_suggests_close_names(audit_store: LineageStore) -> None:
    with pytest.raises(UnknownNameError) as caught:
        audit_store.audit(dataset="care_pakages")
    assert caught.value.kind == "dataset"
    assert "care_packages" in caught.value.close_matches


def test_naive_times_and_unknown_kinds_are_rejected(audit_store: LineageStore) -> None:
    with pytest.raises(ValueError, match="since must be timezone-aware"):
        audit_store.audit(since=datetime(2025, 11, 20))
    with pytest.raises(ValueError, match="until must be timezone-aware"):
        audit_store.audit(until=datetime(2025, 11, 20))
    with pytest.raises(ValueError, match="kind must be one of"):
        audit_store.audit(kind="run_exploded")


def test_audit_rows_are_written_with_the_event_or_not_at_all(
    store: LineageStore, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> int:
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(ingest_module, "write_audit", explode)
    with pytest.raises(RuntimeError):
        store.ingest(audited_events()[1])
    assert set(counts().values()) == {0}
    monkeypatch.undo()
    assert store.ingest(audited_events()[1]) is True
    assert len(store.audit()) == 3


def test_malformed_facets_are_read_tolerantly(store: LineageStore) -> None:
    event = audited("08_households_at_risk_fail", "social_care", "DSA-X", "p", controls={})
    audit = event["run"]["facets"]["tagtrail_audit"]
    del audit["dagsterRunId"], audit["department"]
    audit["launchedAt"] = "not a time"
    event["outputs"][0]["facets"]["tagtrail_controls"] |= {
        "controls": "none",
        "retention": {"purged": "12"},
        "optOut": [],
    }
    assert store.ingest(event) is True
    [record] = store.audit()
    assert (record.kind, record.dagster_run_id, record.department, record.launched_at) == (
        "run_failed",
        "d1a5e0f0-0000-4000-8000-000000000002",  # the parent facet's run
        "housing",  # from the namespace
        None,
    )
    assert record.details["failedControls"] == []
    unusable = audited("01_care_packages_start", "x")
    unusable["run"]["facets"]["tagtrail_audit"] = "alice"
    assert store.ingest(unusable) is True
    assert len(store.audit()) == 1


def test_deleting_an_event_deletes_its_audit_rows(
    audit_store: LineageStore, store_url: str
) -> None:
    engine = create_store_engine(store_url)  # SQLite needs its foreign_keys pragma
    try:
        with engine.begin() as connection:
            connection.execute(delete(Event).where(Event.event_type == "FAIL"))
    finally:
        engine.dispose()
    assert summary(audit_store.audit()) == expected(*range(9))


def test_a_0001_store_upgrades_and_keeps_its_events(store_url: str, tmp_path: Path) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.json"))]
    with reference_url(store_url, tmp_path) as reference:
        fill_reference(reference, texts)  # no audit facets: nothing touches audit_records
        make_old_store(store_url, "0001_initial", reference)
    engine = create_engine(store_url)
    try:
        assert "audit_records" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert store.events() == texts
        assert store.audit() == []
        assert [h.to_dataset for h in store.trace("care_packages")] == [
            "care_research_extract",
            "care_statistics",
        ]
        assert store.ingest(audited_events()[6]) is True
        assert [r.kind for r in store.audit()] == ["run_started"]
    check = create_engine(store_url)
    try:
        with check.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
        with check.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "0001_initial")
        tables = inspect(check).get_table_names()
        assert "audit_records" not in tables
        with check.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM events")).scalar_one()
        assert stored == len(texts) + 1
    finally:
        check.dispose()


def test_a_halted_run_records_no_purge_exclusion_or_unrun_control(
    audit_store: LineageStore,
) -> None:
    assert [r.kind for r in audit_store.audit(dataset="households_at_risk")] == [
        "run_started",
        "run_failed",
        "control_failed",
    ]
    [failed] = audit_store.audit(dataset="households_at_risk", kind="control_failed")
    assert failed.details["control"] == "agreement_in_force"


def _assertion(name: str, severity: str, success: bool) -> dict[str, Any]:
    return {
        "assertion": name,
        "column": "package_id",
        "description": f"{name} on package_id",
        "actual": "12 of 385 rows unexpected" if not success else "0 of 385 rows unexpected",
        "severity": severity,
        "success": success,
    }


@pytest.mark.parametrize(
    "stem", ["08_households_at_risk_fail", "04_care_research_extract_complete"]
)
def test_gate_halts_and_warnings_are_records_of_their_own(store: LineageStore, stem: str) -> None:
    event = audited(stem, "social_care", "DSA-HOU-ASC-02", "safeguarding", {"controls": []})
    event["outputs"][0]["facets"]["dataQualityAssertions"] = {
        "_producer": "https://tagtrail.dev/tagtrail/0.1.0",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/"
        "DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
        "assertions": [
            _assertion("expect_column_values_to_not_be_null", "error", False),
            _assertion("expect_column_values_to_be_unique", "error", True),
            _assertion("expect_column_values_to_be_between", "warn", False),
        ],
    }
    assert store.ingest(event)
    failed = stem.endswith("_fail")
    halted = store.audit(kind="gate_halted")
    assert len(halted) == (1 if failed else 0)
    if failed:
        (only,) = halted[0].details["expectations"]
        assert only["assertion"] == "expect_column_values_to_not_be_null"
        assert only["actual"] == "12 of 385 rows unexpected"
    (warning,) = store.audit(kind="gate_warning")
    assert [e["assertion"] for e in warning.details["expectations"]] == [
        "expect_column_values_to_be_between"
    ]


def test_an_abort_with_its_upstream_reason_is_a_skipped_flow(store: LineageStore) -> None:
    event = audited("08_households_at_risk_fail", "social_care", "DSA-HOU-ASC-02", "safeguarding")
    event["eventType"] = "ABORT"
    reason = [{"dataset": "tenancies", "status": "held back"}]
    event["run"]["facets"]["tagtrail_audit"]["skippedBecause"] = reason
    assert store.ingest(event)
    (skipped,) = store.audit(kind="flow_skipped")
    assert (skipped.dataset, skipped.details) == ("households_at_risk", {"skippedBecause": reason})
    assert store.audit(kind="run_failed") == []
