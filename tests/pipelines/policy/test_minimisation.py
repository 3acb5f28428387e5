"""check_minimisation: the output holds only declared columns the agreement permits."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.policy.minimisation import check_minimisation
from pipelines.policy.result import MINIMISATION

FLOW = "care_research_extract"
COLUMNS = [
    "record_id",
    "person_key",
    "age_band",
    "sex",
    "postcode_district",
    "ethnicity",
    "primary_support_reason",
    "service_type",
    "weekly_cost_band",
    "start_year",
]


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


def test_declared_and_permitted_columns_pass(estate: Estate) -> None:
    result = check_minimisation(estate, estate.flows[FLOW], COLUMNS)
    assert result.control == MINIMISATION
    assert result.passed
    assert not result.halts
    assert result.findings == ()
    assert result.summary == "all 10 columns are declared and permitted"
    assert dict(result.counts) == {
        "columns": 10,
        "undeclared": 0,
        "unpermitted": 0,
        "permitted": 10,
    }
    assert result.rule == (
        "every column of 'care_research_extract' must be declared and listed in "
        "DSA-ASC-RES-03 data_items (10 permitted)"
    )


def test_a_subset_of_permitted_columns_passes(estate: Estate) -> None:
    result = check_minimisation(estate, estate.flows[FLOW], ["record_id", "age_band"])
    assert result.passed
    assert result.counts["columns"] == 2


def test_undeclared_column_halts(estate: Estate) -> None:
    result = check_minimisation(estate, estate.flows[FLOW], [*COLUMNS, "nhs_number", "postcode"])
    assert not result.passed
    assert result.halts
    assert result.findings == (
        "undeclared column(s) nhs_number, postcode: not in the declaration of "
        "'care_research_extract'",
    )
    assert dict(result.counts) == {
        "columns": 12,
        "undeclared": 2,
        "unpermitted": 0,
        "permitted": 10,
    }


def test_declared_column_outside_the_agreement_halts(estate_copy: Path) -> None:
    path = estate_copy / "agreements.yaml"
    text = path.read_text()
    old = "weekly_cost_band, start_year]"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "weekly_cost_band]"))
    estate = load_estate(estate_copy)
    result = check_minimisation(estate, estate.flows[FLOW], COLUMNS)
    assert result.halts
    assert result.findings == (
        "column(s) start_year not permitted by DSA-ASC-RES-03 data_items for "
        "'care_research_extract'",
    )
    assert dict(result.counts) == {"columns": 10, "undeclared": 0, "unpermitted": 1, "permitted": 9}


def test_undeclared_and_unpermitted_are_reported_together(estate_copy: Path) -> None:
    path = estate_copy / "agreements.yaml"
    text = path.read_text()
    path.write_text(text.replace("weekly_cost_band, start_year]", "weekly_cost_band]", 1))
    estate = load_estate(estate_copy)
    result = check_minimisation(estate, estate.flows[FLOW], [*COLUMNS, "nhs_number"])
    assert len(result.findings) == 2
    assert result.findings[0].startswith("undeclared column(s) nhs_number")
    assert result.findings[1].startswith("column(s) start_year not permitted")
    assert result.summary == "; ".join(result.findings)
    assert (result.counts["undeclared"], result.counts["unpermitted"]) == (1, 1)


def test_missing_agreement_permits_nothing(estate: Estate) -> None:
    flow = estate.flows[FLOW].model_copy(update={"agreement": "DSA-NOPE-99"})
    result = check_minimisation(estate, flow, COLUMNS)
    assert result.halts
    assert dict(result.counts) == {
        "columns": 10,
        "undeclared": 0,
        "unpermitted": 10,
        "permitted": 0,
    }
    assert result.findings == (
        f"column(s) {', '.join(COLUMNS)} not permitted by DSA-NOPE-99 data_items for "
        "'care_research_extract'",
    )
