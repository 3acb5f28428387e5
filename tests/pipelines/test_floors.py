"""Policy floors: a declaration giving less protection than estate.yaml's policy.floors is an error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.crosscheck_floors import span_days
from pipelines.estate import load_estate

from .edits import declaration_error, edit

RESEARCH_OPT_OUT = (
    "opt_out: {register: national_data_opt_out, register_column: nhs_number, "
    "match: care_packages.nhs_number}"
)


def test_the_demo_meets_its_floors() -> None:
    from pipelines.demo import DEMO_ESTATE

    floors = load_estate(DEMO_ESTATE).manifest.policy.floors  # type: ignore[union-attr]
    assert floors.k_anonymity == 5 and floors.opt_out_required_for == ("research",)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            "flows/care_research_extract.yaml",
            RESEARCH_OPT_OUT,
            "",
            [r"care_research_extract\.yaml, line \d+: recipient", "opt_out_required_for"],
            id="research-flow-without-opt-out",
        ),
        pytest.param(
            "flows/admissions_research_extract.yaml",
            "disclosure:\n  k_anonymity:\n    quasi_identifiers: [age_band, sex]\n"
            "    unit: person_key\n    sensitive: diagnosis_chapter\n    l_diversity: 2\n",
            "",
            [r"admissions_research_extract\.yaml, line \d+: recipient", "disclosure_required_for"],
            id="research-flow-without-k-anonymity",
        ),
        pytest.param(
            "agreements.yaml",
            "disclosure: {k_anonymity: 5}",
            "disclosure: {k_anonymity: 3}",
            [
                r"agreements\[DSA-ASC-RES-03\]\.disclosure\.k_anonymity",
                "below the estate's floor of 5",
            ],
            id="k-below-floor",
        ),
        pytest.param(
            "agreements.yaml",
            "disclosure: {min_cell_count: 10}",
            "disclosure: {min_cell_count: 1}",
            [r"agreements\[DSA-RES-PUB-04\]\.disclosure\.min_cell_count", "floor of 10"],
            id="cell-threshold-below-floor",
        ),
        pytest.param(
            "estate.yaml",
            "l_diversity: 2",
            "l_diversity: 3",
            [r"admissions_research_extract\.yaml, line \d+: disclosure\.k_anonymity\.l_diversity"],
            id="l-below-floor",
        ),
        pytest.param(
            "agreements.yaml",
            "retention: {period: P10Y",
            "retention: {period: P12Y",
            [r"agreements\[DSA-RES-PUB-04\]\.retention\.period", "longer than the estate allows"],
            id="retention-longer-than-floor",
        ),
        pytest.param(
            "estate.yaml",
            "retention_longest: P10Y",
            "retention_longest: P10Y\n    retention_shortest: P18M",
            [r"agreements\[DSA-HLT-ASC-01\]\.retention\.period", "shorter than the estate's floor"],
            id="retention-shorter-than-floor",
        ),
        pytest.param(
            "agreements.yaml",
            "retention: {period: P1Y, disposal: secure deletion, date_column: expected",
            "retention: {period: P0D, disposal: secure deletion, date_column: expected",
            [r"agreements\[DSA-HLT-ASC-01\]\.retention\.period", "keeps nothing"],
            id="zero-retention",
        ),
        pytest.param(
            "estate.yaml",
            "opt_out_required_for: [research]",
            "opt_out_required_for: [reserch]",
            [r"policy\.floors\.opt_out_required_for", "unknown department 'reserch'"],
            id="floor-names-unknown-department",
        ),
        pytest.param(
            "estate.yaml",
            "min_cell_count: 10\n    retention",
            "min_cell_count: 12\n    retention",
            [r"agreements\[DSA-RES-PUB-04\]\.disclosure\.min_cell_count", "floor of 12"],
            id="floor-raised-above-an-agreement",
        ),
    ],
)
def test_below_a_floor_is_a_declaration_error(
    estate_copy: Path, file: str, old: str, new: str, expected: list[str]
) -> None:
    edit(estate_copy / file, old, new)
    message = declaration_error(estate_copy)
    for pattern in expected:
        assert pattern in message or re.search(pattern, message), f"{pattern!r} not in:\n{message}"


def test_policy_defaults_below_a_floor_are_reported_once_at_the_manifest(
    estate_copy: Path,
) -> None:
    edit(
        estate_copy / "estate.yaml",
        "on_agreement_end: destroy",
        "on_agreement_end: destroy\n  disclosure: {k_anonymity: 4}",
    )
    message = declaration_error(estate_copy)
    assert re.search(r"estate\.yaml, line \d+: policy\.disclosure\.k_anonymity", message)
    assert message.count("k_anonymity 4") == 1


@pytest.mark.parametrize(
    ("period", "days"), [("P1D", 1), ("P1W", 7), ("P1M", 31), ("P1Y", 365), ("P1Y6M", 549)]
)
def test_span_days_counts_calendar_days(period: str, days: int) -> None:
    assert span_days(period) == days
