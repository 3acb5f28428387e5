"""check_agreement: is the flow's data-sharing agreement in force and does it cover the flow?"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.model import Flow, Indirect
from pipelines.policy.agreement import Term, check_agreement, selection_tags
from pipelines.policy.result import AGREEMENT_IN_FORCE

# care_research_extract runs under DSA-ASC-RES-03: parties social_care and research, purpose
# service_evaluation, Art. 9(2)(j), no Art. 10, 2026-01-01 to 2030-12-31, review 2028-01-01.
FLOW = "care_research_extract"
AGREEMENT = "DSA-ASC-RES-03"
IN_FORCE = dt.date(2026, 6, 1)
NOT_SPECIAL = {"age_band": ["person.quasi.generalised"], "sex": ["person.quasi"]}


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


@pytest.fixture(scope="module")
def flow(estate: Estate) -> Flow:
    return estate.flows[FLOW]


def _edit_agreement(root: Path, agreement_id: str, old: str, new: str) -> None:
    """Replace the first ``old`` after ``id: <agreement_id>`` in the copy's agreements.yaml."""
    path = root / "agreements.yaml"
    text = path.read_text()
    start = text.index(f"id: {agreement_id}")
    at = text.find(old, start)
    assert at >= 0, f"fixture text not found after {agreement_id}: {old!r}"
    path.write_text(text[:at] + new + text[at + len(old) :])


def test_in_force_passes_and_records_the_reference_date(estate: Estate, flow: Flow) -> None:
    result = check_agreement(estate, flow, IN_FORCE, NOT_SPECIAL)
    assert result.control == AGREEMENT_IN_FORCE
    assert result.passed
    assert not result.halts
    assert result.findings == ()
    assert dict(result.counts) == {"as_of": "2026-06-01"}
    assert result.summary == "in force on 2026-06-01 for 'service_evaluation'"
    assert result.rule == (
        "DSA-ASC-RES-03: between social_care, research, in force 2026-01-01 to 2030-12-31 "
        "(review 2028-01-01), purposes service_evaluation"
    )


def test_first_and_last_days_are_in_force(estate: Estate, flow: Flow) -> None:
    assert check_agreement(estate, flow, dt.date(2026, 1, 1), NOT_SPECIAL).passed
    # The last day is after the review date, so it warns, but it is not past the end.
    last = check_agreement(estate, flow, dt.date(2030, 12, 31), NOT_SPECIAL)
    assert "days_past_end" not in last.counts
    assert not last.halts


def test_unknown_agreement_names_it_and_close_matches(estate: Estate, flow: Flow) -> None:
    typo = flow.model_copy(update={"agreement": "DSA-ASC-RES-3"})
    result = check_agreement(estate, typo, IN_FORCE, NOT_SPECIAL)
    assert not result.passed
    assert result.halts
    assert result.findings == ("agreement 'DSA-ASC-RES-3' is not declared",)
    assert "agreement 'DSA-ASC-RES-3' is not declared" in result.summary
    assert "did you mean 'DSA-ASC-RES-03'" in result.summary
    # Every declared agreement is listed, in order.
    assert result.summary.endswith(
        "declared agreements: DSA-ASC-RES-03, DSA-HLT-ASC-01, DSA-HLT-RES-05, "
        "DSA-HOU-BEN-ASC-02, DSA-RES-PUB-04"
    )


def test_owner_not_a_party_halts(estate: Estate, flow: Flow) -> None:
    stranger = flow.model_copy(update={"owner": "housing"})
    result = check_agreement(estate, stranger, IN_FORCE, NOT_SPECIAL)
    assert result.halts
    assert result.findings == ("housing is not a party (parties: social_care, research)",)


def test_owner_and_recipient_not_parties_are_named_together(estate: Estate, flow: Flow) -> None:
    strangers = flow.model_copy(update={"owner": "housing", "recipient": "benefits"})
    result = check_agreement(estate, strangers, IN_FORCE, NOT_SPECIAL)
    assert result.halts
    assert result.findings == (
        "housing and benefits are not a party (parties: social_care, research)",
    )


def test_before_start_halts_with_days_before_start(estate: Estate, flow: Flow) -> None:
    result = check_agreement(estate, flow, dt.date(2025, 12, 20), NOT_SPECIAL)
    assert result.halts
    assert result.findings == ("the agreement starts on 2026-01-01",)
    assert dict(result.counts) == {"days_before_start": 12, "as_of": "2025-12-20"}


def test_after_end_halts_with_exact_days_past_end(estate: Estate, flow: Flow) -> None:
    result = check_agreement(estate, flow, dt.date(2031, 1, 10), NOT_SPECIAL)
    assert result.halts
    assert result.severity == "error"
    # Past the end, the overdue review is not reported as well.
    assert result.findings == ("the agreement ended on 2030-12-31",)
    assert dict(result.counts) == {"days_past_end": 10, "as_of": "2031-01-10"}


def test_review_day_itself_is_not_overdue(estate: Estate, flow: Flow) -> None:
    result = check_agreement(estate, flow, dt.date(2028, 1, 1), NOT_SPECIAL)
    assert result.passed
    assert "days_past_review" not in result.counts


def test_overdue_review_warns_without_halting(estate: Estate, flow: Flow) -> None:
    result = check_agreement(estate, flow, dt.date(2028, 1, 31), NOT_SPECIAL)
    assert not result.passed
    assert result.severity == "warn"
    assert not result.halts
    assert result.findings == ("the agreement was due for review on 2028-01-01",)
    assert result.summary == "the agreement was due for review on 2028-01-01"
    assert dict(result.counts) == {"days_past_review": 30, "as_of": "2028-01-31"}


def test_overdue_review_halts_when_the_agreement_says_so(estate_copy: Path) -> None:
    _edit_agreement(
        estate_copy, AGREEMENT, "review: 2028-01-01", "review: 2028-01-01\n    review_overdue: halt"
    )
    estate = load_estate(estate_copy)
    assert estate.agreements[AGREEMENT].review_overdue == "halt"
    result = check_agreement(estate, estate.flows[FLOW], dt.date(2028, 1, 31), NOT_SPECIAL)
    assert not result.passed
    assert result.severity == "error"
    assert result.halts
    assert result.findings == ("the agreement was due for review on 2028-01-01",)
    assert result.counts["days_past_review"] == 30


def test_a_halting_problem_outranks_an_overdue_review_warning(estate: Estate, flow: Flow) -> None:
    other = flow.model_copy(update={"purpose": "marketing"})
    result = check_agreement(estate, other, dt.date(2028, 1, 2), NOT_SPECIAL)
    assert result.severity == "error"
    assert result.halts
    # Halting findings come first, warnings after.
    assert result.findings == (
        "purpose 'marketing' is not permitted (permitted: service_evaluation)",
        "the agreement was due for review on 2028-01-01",
    )


def test_purpose_not_permitted_lists_permitted_purposes(estate: Estate, flow: Flow) -> None:
    other = flow.model_copy(update={"purpose": "marketing"})
    result = check_agreement(estate, other, IN_FORCE, NOT_SPECIAL)
    assert result.halts
    assert result.findings == (
        "purpose 'marketing' is not permitted (permitted: service_evaluation)",
    )


def test_special_category_output_without_article_9_halts(estate: Estate) -> None:
    # DSA-HOU-BEN-ASC-02 (households_at_risk) gives no Art. 9 condition.
    flow = estate.flows["households_at_risk"]
    tags = {
        "risk_score": ["person.housing", "person.financial"],
        "notes": ["person.special.health", "person.special.religion"],
        "more": ["person.special.health"],
    }
    result = check_agreement(estate, flow, dt.date(2026, 6, 1), tags)
    assert result.halts
    assert result.findings == (
        "the output holds special-category data (person.special.health, "
        "person.special.religion), but the agreement gives no Art. 9 condition "
        "(legal_basis.article_9)",
    )


def test_no_special_category_output_needs_no_article_9(estate: Estate) -> None:
    flow = estate.flows["households_at_risk"]
    tags = {"risk_score": ["person.housing", "person.financial"], "uprn": ["person.id.direct"]}
    assert check_agreement(estate, flow, dt.date(2026, 6, 1), tags).passed


def test_aggregate_special_category_tags_need_no_article_9(estate: Estate) -> None:
    # Only row-level (person.*) tags are personal data; aggregates are not.
    flow = estate.flows["households_at_risk"]
    tags = {"people": ["aggregate.special.health"]}
    assert check_agreement(estate, flow, dt.date(2026, 6, 1), tags).passed


def test_special_category_output_with_article_9_passes(estate: Estate, flow: Flow) -> None:
    tags = {
        "ethnicity": ["person.special.ethnicity"],
        "primary_support_reason": ["person.special.health", "person.social_care"],
    }
    result = check_agreement(estate, flow, IN_FORCE, tags)
    assert result.passed
    assert result.findings == ()


def test_criminal_output_without_article_10_halts(estate: Estate, flow: Flow) -> None:
    tags = {"offence": ["person.criminal"], **NOT_SPECIAL}
    result = check_agreement(estate, flow, IN_FORCE, tags)
    assert result.halts
    assert result.findings == (
        "the output holds criminal-offence data (person.criminal), but the agreement gives no "
        "Art. 10 authority (legal_basis.article_10)",
    )


def test_criminal_output_with_article_10_passes(estate_copy: Path) -> None:
    _edit_agreement(
        estate_copy,
        AGREEMENT,
        "article_9: 9(2)(j)",
        "article_9: 9(2)(j)\n      article_10: DPA 2018 Sch. 1 para 10",
    )
    estate = load_estate(estate_copy)
    result = check_agreement(estate, estate.flows[FLOW], IN_FORCE, {"offence": ["person.criminal"]})
    assert result.passed


def test_several_problems_are_reported_together(estate: Estate) -> None:
    flow = estate.flows["households_at_risk"].model_copy(
        update={"owner": "health", "purpose": "marketing"}
    )
    tags = {"x": ["person.special.health"], "y": ["person.criminal"]}
    # DSA-HOU-BEN-ASC-02 ended on 2028-03-31.
    result = check_agreement(estate, flow, dt.date(2028, 4, 5), tags)
    assert result.halts
    assert result.findings == (
        "health is not a party (parties: housing, benefits, social_care)",
        "the agreement ended on 2028-03-31",
        "purpose 'marketing' is not permitted (permitted: homelessness_prevention)",
        "the output holds special-category data (person.special.health), but the agreement "
        "gives no Art. 9 condition (legal_basis.article_9)",
        "the output holds criminal-offence data (person.criminal), but the agreement gives no "
        "Art. 10 authority (legal_basis.article_10)",
    )
    assert result.summary == "; ".join(result.findings)
    assert dict(result.counts) == {"days_past_end": 5, "as_of": "2028-04-05"}


@pytest.mark.parametrize(
    ("as_of", "warning_days", "expected"),
    [
        ("2028-11-01", 30, []),
        ("2028-12-11", 30, ["ends in 20 day(s), on 2028-12-31", "due for review in 9 day(s)"]),
        ("2028-12-31", 30, ["ends in 0 day(s)", "was due for review on 2028-12-20"]),
        ("2029-01-01", 30, ["ended on 2028-12-31"]),
        ("2028-12-21", 5, ["was due for review on 2028-12-20"]),
        ("2025-12-31", 30, ["starts on 2026-01-01"]),
        ("2028-11-10", 10, []),
    ],
)
def test_agreement_term(as_of: str, warning_days: int, expected: list[str]) -> None:
    agreement = load_estate(DEMO_ESTATE).agreements["DSA-HLT-ASC-01"]
    agreement = agreement.model_copy(update={"review": dt.date(2028, 12, 20)})
    term = Term(agreement, dt.date.fromisoformat(as_of), warning_days)
    findings = " | ".join(term.findings)
    for text in expected:
        assert text in findings, findings
    if not expected:
        assert term.findings == () and "in force" in term.summary()
    assert term.ended == (dt.date.fromisoformat(as_of) > agreement.end)


def test_rows_selected_by_a_special_category_column_need_article_9(estate: Estate) -> None:
    # A list of people filtered on a diagnosis discloses it, though no column of the list does.
    flow = estate.flows["households_at_risk"].model_copy(
        update={
            "indirect": (
                *estate.flows["households_at_risk"].indirect,
                Indirect(kind="filter", columns=("tenancies.household_size",)),
            )
        }
    )
    computed = {
        ("tenancies", "household_size"): ["person.housing", "person.special.health"],
        ("tenancies", "uprn"): ["person.id.direct"],
    }
    selected = selection_tags(flow, computed)
    assert selected == {"tenancies.household_size": ("person.special.health",)}
    tags = {"uprn": ["person.id.direct"], "risk_score": ["person.housing"]}
    assert check_agreement(estate, flow, dt.date(2026, 6, 1), tags).passed
    result = check_agreement(estate, flow, dt.date(2026, 6, 1), tags, selected)
    assert result.halts
    (finding,) = result.findings
    assert "selected by tenancies.household_size (person.special.health)" in finding
    assert "legal_basis.article_9" in finding
    assert result.counts["article_9_selecting_columns"] == 1


def test_rows_selected_by_a_criminal_column_need_article_10(estate: Estate, flow: Flow) -> None:
    selected = {"care_packages.service_type": ("person.criminal",)}
    result = check_agreement(estate, flow, IN_FORCE, NOT_SPECIAL, selected)
    assert result.halts and "legal_basis.article_10" in result.findings[0]
    special = {"care_packages.service_type": ("person.special.health",)}
    assert check_agreement(estate, flow, IN_FORCE, NOT_SPECIAL, special).passed  # 9(2)(j) given
