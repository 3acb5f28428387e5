"""Every kind of declaration mistake is rejected before anything runs, naming file and field."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.estate import load_estate
from pipelines.yamlfile import DeclarationError

from .edits import declaration_error, edit


def test_demo_estate_is_valid() -> None:
    from pipelines.demo import DEMO_ESTATE

    estate = load_estate(DEMO_ESTATE)
    assert len(estate.departments) >= 5
    assert len(estate.flows) >= 5


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            "datasets/health.yaml",
            "tags: [person.id.direct], identifier: nhs_number}",
            "tags: [person.id.drect]}",
            [
                r"datasets/health\.yaml, line \d+",
                r"datasets\[inpatient_episodes\]\.columns\[nhs_number\]\.tags",
                "unknown privacy tag 'person.id.drect'",
                "did you mean 'person.id.direct'",
            ],
            id="unknown-tag",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "match: care_packages.nhs_number",
            "match: care_packages.nhs_numbr",
            [
                r"flows/care_research_extract\.yaml, line \d+: opt_out\.match",
                "dataset 'care_packages' has no column 'nhs_numbr'",
                "did you mean 'nhs_number'",
            ],
            id="opt-out-unknown-column",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "inputs: [care_packages, national_data_opt_out]",
            "inputs: [care_packages]",
            [
                r"flows/care_research_extract\.yaml, line \d+: opt_out\.register",
                "must also be listed in inputs",
            ],
            id="opt-out-register-not-an-input",
        ),
        pytest.param(
            "flows/care_statistics.yaml",
            "  small_cells: {count: people, dimensions: [postcode_district, age_band], "
            "suppressed: suppressed}",
            "  k_anonymity: {quasi_identifiers: [age_band]}",
            [
                r"flows/care_statistics\.yaml, line 16: columns\.people\.masking",
                "lowers its tags to aggregate",
                "no disclosure.small_cells rule",
            ],
            id="tag-lowered-without-its-control",
        ),
        pytest.param(
            "datasets/health.yaml",
            "opted out, tags: [person.id.direct], identifier: nhs_number}",
            "opted out, tags: [person.id.direct]}",
            [
                r"flows/care_research_extract\.yaml, line \d+: opt_out\.register_column",
                "declares no identifier scheme",
                "nhs_number",
            ],
            id="opt-out-register-without-scheme",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "inputs: [care_packages, national_data_opt_out]",
            "inputs: [care_packages, national_data_opt_out, benefit_claims]",
            [
                r"flows/care_research_extract\.yaml, line \d+: inputs\[2\]",
                "identifies people by ni_number",
                "cannot reach",
                "person_index",
            ],
            id="opt-out-unreachable-input",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "match: care_packages.nhs_number}",
            "match: care_packages.package_id}",
            [
                r"flows/care_research_extract\.yaml, line \d+: opt_out\.match",
                "not an identifier the register can reach",
            ],
            id="opt-out-matched-on-a-non-identifier",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "match: care_packages.nhs_number}",
            "person_index: care_packages}",
            [
                r"flows/care_research_extract\.yaml, line \d+: opt_out\.person_index",
                "at least two schemes",
            ],
            id="person-index-of-one-scheme",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "quasi_identifiers: [age_band, sex, postcode_district]",
            "quasi_identifiers: [age_band, gender, postcode_district]",
            [
                r"flows/care_research_extract\.yaml, line \d+: disclosure\.k_anonymity",
                "dataset 'care_research_extract' has no column 'gender'",
            ],
            id="k-anonymity-unknown-quasi-identifier",
        ),
        pytest.param(
            "agreements.yaml",
            "date_column: admission_month}",
            "date_column: admission_date}",
            [
                r"agreements\.yaml, line \d+: agreements\[DSA-HLT-RES-05\]\.retention\.date_column",
                "'admission_date' is not a column of 'admissions_research_extract'",
            ],
            id="retention-date-column-not-in-output",
        ),
        pytest.param(
            "agreements.yaml",
            "    review: 2027-12-31\n",
            "    review: 2027-12-31\n    review_overdue: sometimes\n",
            [
                r"agreements\.yaml, line \d+: agreements\[DSA-HLT-ASC-01\]\.review_overdue",
                "'warn' or 'halt'",
            ],
            id="review-overdue-not-warn-or-halt",
        ),
        pytest.param(
            "flows/households_at_risk.yaml",
            "inputs: [tenancies, benefit_claims]",
            "inputs: [tenancies, benefit_clams]",
            [
                r"flows/households_at_risk\.yaml, line \d+: inputs\[1\]",
                "unknown dataset 'benefit_clams'",
                "did you mean 'benefit_claims'",
            ],
            id="unknown-dataset",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "from: [care_packages.sex]",
            "from: [care_packages.gender]",
            [
                r"flows/care_research_extract\.yaml, line \d+: columns\.sex\.from",
                "dataset 'care_packages' has no column 'gender'",
                "its columns: package_id",
            ],
            id="derivation-missing-input-column",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "from: [care_packages.sex]",
            "from: [tenancies.postcode]",
            ["columns.sex.from", "names dataset 'tenancies', which is not an input of this flow"],
            id="derivation-not-an-input",
        ),
        pytest.param(
            "datasets/health.yaml",
            "{name: sex, type: string,",
            "{name: sex, type: text,",
            [
                r"datasets\[inpatient_episodes\]\.columns\[sex\]\.type",
                "'string', 'integer', 'float', 'boolean' or 'date'",
                "got 'text'",
            ],
            id="wrong-type",
        ),
        pytest.param(
            "datasets/housing.yaml",
            "{name: household_size, type: integer,",
            "{name: tenancy_id, type: integer,",
            ["datasets[tenancies]", "column names must be unique; repeated: tenancy_id"],
            id="duplicate-column",
        ),
        pytest.param(
            "agreements.yaml",
            "  - id: DSA-HLT-RES-05",
            "  - id: DSA-HLT-ASC-01",
            ["agreements.yaml", "duplicate agreement name 'DSA-HLT-ASC-01'"],
            id="duplicate-agreement",
        ),
        pytest.param(
            "departments.yaml",
            "  - name: research\n",
            "  - name: research\n    colour: blue\n",
            [r"departments\.yaml, line \d+: departments\[research\]\.colour", "unknown field"],
            id="unknown-field",
        ),
        pytest.param(
            "departments.yaml",
            "    title: Northfield Research and Statistics Unit\n",
            "",
            ["departments[research].title", "required field is missing"],
            id="missing-field",
        ),
        pytest.param(
            "flows/care_statistics.yaml",
            "purpose: official_statistics",
            "purpose: official_statistics\npurpose: x",
            [
                r"flows/care_statistics\.yaml, line \d+",
                "not valid YAML",
                "the key 'purpose' appears twice",
            ],
            id="duplicate-yaml-key",
        ),
        pytest.param(
            "agreements.yaml",
            "    start: 2026-01-01\n    end: 2028-12-31",
            "    start: 2026-01-01\n    end: 2025-12-31",
            ["agreements[DSA-HLT-ASC-01]", "end (2025-12-31) must come after start (2026-01-01)"],
            id="agreement-dates",
        ),
        pytest.param(
            "flows/care_research_extract.yaml",
            "masking: generalise, level: age_band",
            "masking: generalise",
            ["columns.age_band", "masking 'generalise' needs a level"],
            id="masking-without-level",
        ),
        pytest.param(
            "datasets/health.yaml",
            "primary_key: [episode_id]",
            "primary_key: [nhs_number]",
            ["datasets[inpatient_episodes]", "primary_key column 'nhs_number' carries person tags"],
            id="tagged-primary-key",
        ),
        pytest.param(
            "flows/discharge_notifications.yaml",
            "recipient: social_care",
            "recipient: research",
            ["flows/discharge_notifications.yaml", "recipient", "owned by 'social_care'"],
            id="wrong-recipient",
        ),
    ],
)
def test_declaration_error_names_file_and_field(
    estate_copy: Path, file: str, old: str, new: str, expected: list[str]
) -> None:
    edit(estate_copy / file, old, new)
    message = declaration_error(estate_copy)
    for pattern in expected:
        assert pattern in message or re.search(pattern, message), f"{pattern!r} not in:\n{message}"


def test_duplicate_dataset_across_files(estate_copy: Path) -> None:
    extra = (
        (estate_copy / "datasets" / "health.yaml")
        .read_text()
        .replace("department: health", "department: research")
    )
    (estate_copy / "datasets" / "zz_copy.yaml").write_text(extra)
    message = declaration_error(estate_copy)
    assert "zz_copy.yaml" in message
    assert "duplicate dataset name 'inpatient_episodes'" in message
    assert "datasets/health.yaml" in message


def test_dependency_cycle(estate_copy: Path) -> None:
    edit(
        estate_copy / "flows" / "care_research_extract.yaml",
        "inputs: [care_packages, national_data_opt_out]",
        "inputs: [care_packages, national_data_opt_out, care_statistics]",
    )
    message = declaration_error(estate_copy)
    assert "flows form a cycle" in message
    assert "care_research_extract" in message and "care_statistics" in message


def test_dataset_without_producer_or_source(estate_copy: Path) -> None:
    (estate_copy / "flows" / "care_statistics.yaml").unlink()
    message = declaration_error(estate_copy)
    assert "datasets/public_reporting.yaml" in message
    assert "dataset 'care_statistics' has no source_system and no flow produces it" in message


def test_unimportable_transform(estate_copy: Path) -> None:
    edit(
        estate_copy / "flows" / "care_statistics.yaml",
        "flows.care_statistics:transform",
        "flows.care_statistix:transform",
    )
    message = declaration_error(estate_copy)
    assert "flows/care_statistics.yaml" in message and "transform" in message
    assert "module 'flows.care_statistix' is not in the estate" in message
    assert str(estate_copy / "flows" / "care_statistix.py") in message


def test_missing_suite_and_suite_naming_unknown_column(estate_copy: Path, tmp_path: Path) -> None:
    from expectations import SUITES_DIR

    suites = tmp_path / "suites"
    suites.mkdir()
    for f in SUITES_DIR.glob("*.json"):
        (suites / f.name).write_text(f.read_text())
    (suites / "tenancies.json").unlink()
    bad = suites / "benefit_claims.json"
    bad.write_text(bad.read_text().replace('"column": "ni_number"', '"column": "ni_numbr"'))
    with pytest.raises(DeclarationError) as info:
        load_estate(estate_copy, suites_dir=suites)
    message = str(info.value)
    assert f"create {suites / 'tenancies.json'}" in message
    assert "benefit_claims.json: expectation on column 'ni_numbr'" in message
    assert "did you mean 'ni_number'" in message


def test_every_problem_is_reported_at_once(estate_copy: Path) -> None:
    edit(
        estate_copy / "flows" / "discharge_notifications.yaml",
        "inputs: [inpatient_episodes]",
        "inputs: [inpatient_episode]",
    )
    edit(estate_copy / "flows" / "care_statistics.yaml", "owner: research", "owner: nobody")
    message = declaration_error(estate_copy)
    assert "unknown dataset 'inpatient_episode'" in message
    assert "unknown department 'nobody'" in message


def test_unknown_agreement_is_left_to_the_run_time_check(estate_copy: Path) -> None:
    """One flow naming a missing agreement must not stop the others from loading and running."""
    edit(
        estate_copy / "flows" / "discharge_notifications.yaml",
        "agreement: DSA-HLT-ASC-01",
        "agreement: DSA-HLT-ASC-99",
    )
    estate = load_estate(estate_copy)
    assert estate.flows["discharge_notifications"].agreement == "DSA-HLT-ASC-99"


def test_cli_validate_reports_mistake_without_traceback(estate_copy: Path) -> None:
    edit(
        estate_copy / "datasets" / "health.yaml",
        "tags: [person.id.direct]}",
        "tags: [person.id.drect]}",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", "validate", str(estate_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "health.yaml" in proc.stderr and "unknown privacy tag 'person.id.drect'" in proc.stderr
