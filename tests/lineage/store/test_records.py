"""What the store says about datasets and columns: declarations, owners, statistics, tags."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from lineage.store import Agreement, Assertion, ColumnRecord, LineageStore

Load = Callable[[str], dict[str, Any]]


def test_source_dataset_record(chain: LineageStore) -> None:
    record = chain.dataset("care_packages")
    assert record is not None
    assert record.qualified_name == "tagtrail.social_care/care_packages"
    assert (record.department, record.purpose, record.retention) == (
        "social_care",
        "direct care",
        "P8Y",
    )
    assert record.agreement is None
    assert record.owners == ("team:social_care",)
    assert record.tags == ("department",)
    assert (record.row_count, record.lifecycle_state) == (1200, "OVERWRITE")
    assert record.description == "Adult social care packages, one row per package."
    assert record.last_run_id == "0c1e0000-0000-4000-8000-00000000000a"
    assert record.last_completed_at is not None
    assert record.last_completed_at.isoformat() == "2025-11-20T10:00:01.250000+00:00"


def test_flow_output_record(chain: LineageStore) -> None:
    record = chain.dataset("care_statistics")
    assert record is not None
    assert record.agreement == Agreement(
        id="DSA-2025-021",
        title="Published care statistics",
        parties=("research", "public_reporting"),
        start="2025-03-01",
        end="2026-02-28",
        review="2025-12-01",
    )
    assert (record.identifiability, record.legal_basis) == (
        "aggregate",
        "Art. 6(1)(e); Art. 9(2)(j)",
    )
    assert record.assertions == (Assertion("expect_cells_at_least", True, "people", "error"),)
    assert [d.name for d in chain.datasets()] == [
        "households_at_risk",
        "care_statistics",
        "care_research_extract",
        "care_packages",
    ]


def test_columns_in_schema_order_with_tags(chain: LineageStore) -> None:
    columns = chain.columns("care_packages")
    assert [(c.name, c.type, c.position, c.tag_names) for c in columns] == [
        ("nhs_number", "string", 0, ("person.id.direct",)),
        ("diagnosis", "string", 1, ("person.special.health",)),
        ("postcode", "string", 2, ("person.quasi",)),
        ("weekly_cost", "double", 3, ()),
    ]
    assert columns[0].description == "NHS number of the person receiving care"
    assert columns[0].tags[0].attributions[0].rules == ("declared",)


def test_records_are_frozen(chain: LineageStore) -> None:
    column = chain.columns("care_packages")[0]
    assert isinstance(column, ColumnRecord)
    with pytest.raises(dataclasses.FrozenInstanceError):
        column.name = "other"  # type: ignore[misc]


def test_extract_read_by_a_source_is_described_by_its_input_facets(
    store: LineageStore, fixture_event: Load
) -> None:
    extract = {
        "namespace": "tagtrail.social_care",
        "name": "extracts/social_care/care_packages.csv",
    }
    complete = fixture_event("02_care_packages_complete")
    facets = complete["outputs"][0]["facets"]
    complete["inputs"] = [
        dict(extract, facets={k: facets[k] for k in ("schema", "tags", "tagtrail_privacy")})
    ]
    facets["columnLineage"] = {
        "fields": {
            "nhs_number": {
                "inputFields": [
                    dict(
                        extract,
                        field="nhs_number",
                        transformations=[{"type": "DIRECT", "subtype": "IDENTITY"}],
                    )
                ]
            }
        }
    }
    start = fixture_event("01_care_packages_start")
    start["inputs"] = [dict(extract, facets={})]
    store.ingest_many([start, complete])
    record = store.dataset("extracts/social_care/care_packages.csv")
    assert record is not None
    assert (record.department, record.last_run_id) == ("social_care", None)
    columns = store.columns("extracts/social_care/care_packages.csv")
    assert columns[0].tag_names == ("person.id.direct",)
    (hop,) = store.trace("care_packages", "nhs_number", "upstream")
    assert (hop.from_dataset, hop.from_column) == (extract["name"], "nhs_number")
    assert [t.tag for t in hop.from_tags] == ["person.id.direct"]
    assert [r.outputs for r in store.runs("care_packages")] == [("care_packages",)]
    assert store.runs("extracts/social_care/care_packages.csv") == []
