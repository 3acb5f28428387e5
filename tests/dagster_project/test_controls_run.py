"""Each privacy control halts a real Dagster run of a breaching declaration, and passes a compliant one."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from dagster_project import controls
from dagster_project.demo import run_demo
from dagster_project.run import RunReport
from lineage.validation import validate_event
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.defects import DEFECTS
from pipelines.demo.policy_defects import DEFECT_TRANSFORMS, POLICY_DEFECTS, Edit, PolicyDefect
from pipelines.estate import load_estate
from pipelines.policy import result as r
from pipelines.store import dataset_path

from ..openlineage_spec import HAVE_SPEC, SPEC_DIR
from .conftest import AS_OF, PEOPLE
from .runs import ESTATE, check_evaluations, events, instance, materialization, store

_T = DEFECT_TRANSFORMS
_RES03 = "id: DSA-ASC-RES-03"
# Breaches beyond the demo's own: every rule of every control gets a halting case.
EXTRA = (
    PolicyDefect(
        "unknown-agreement",
        "care_research_extract",
        "the flow names an agreement that was never declared",
        r.AGREEMENT_IN_FORCE,
        (
            Edit(
                "flows/care_research_extract.yaml",
                "agreement: DSA-ASC-RES-03",
                "agreement: DSA-ASC-RES-33",
            ),
        ),
    ),
    PolicyDefect(
        "review-overdue-halts",
        "care_research_extract",
        "the agreement's review is overdue and it says to halt then",
        r.AGREEMENT_IN_FORCE,
        (
            Edit(
                "agreements.yaml",
                "review: 2028-01-01",
                "review: 2026-09-30\n    review_overdue: halt",
                _RES03,
            ),
        ),
    ),
    PolicyDefect(
        "no-article-9-condition",
        "care_research_extract",
        "special-category data shared with no Art. 9 condition",
        r.AGREEMENT_IN_FORCE,
        (Edit("agreements.yaml", "      article_9: 9(2)(j)\n", "", _RES03),),
    ),
    PolicyDefect(
        "identified-sharing-withdrawn",
        "households_at_risk",
        "direct identifiers sent under an agreement that no longer permits identified sharing",
        r.PSEUDONYMISATION,
        (
            Edit(
                "agreements.yaml",
                "identified_sharing: true",
                "identified_sharing: false",
                "id: DSA-HOU-BEN-ASC-02",
            ),
        ),
    ),
    PolicyDefect(
        "secondary-suppression-missing",
        "care_statistics",
        "only primary suppression: withheld cells can be recovered from the totals",
        r.DISCLOSURE_CONTROL,
        (
            Edit(
                "flows/care_statistics.yaml",
                "flows.care_statistics:transform",
                f"{_T}:statistics_primary_only",
            ),
        ),
    ),
    PolicyDefect(
        "retention-dates-withheld",
        "admissions_research_extract",
        "admission months blanked by suppression, so retention cannot be enforced",
        r.RETENTION,
        (
            Edit(
                "flows/admissions_research_extract.yaml",
                "flows.admissions_research_extract:transform",
                f"{_T}:admissions_months_withheld",
            ),
            Edit(
                "flows/admissions_research_extract.yaml",
                "quasi_identifiers: [age_band, sex]",
                "quasi_identifiers: [age_band, sex, admission_month]",
            ),
        ),
    ),
)
# Identifiers leaving in other forms than the one the inputs hold.
LEAKS = tuple(
    PolicyDefect(
        name,
        "care_research_extract",
        description,
        r.PSEUDONYMISATION,
        (
            Edit(
                "flows/care_research_extract.yaml",
                "flows.care_research_extract:transform",
                f"{_T}:{fn}",
            ),
        ),
    )
    for name, fn, description in (
        ("identifier-dashed", "care_dashed", "NHS numbers sent as 999-123-4567"),
        ("identifier-in-text", "care_in_text", "NHS numbers sent inside a note"),
        ("identifier-unsalted-hash", "care_unsalted", "NHS numbers sent as plain SHA-256"),
    )
)
BREACHES = [*POLICY_DEFECTS.values(), *EXTRA, *LEAKS]
EXPECTED_COUNTS = {
    "expired-agreement": ("days_past_end", 124),
    "review-overdue-halts": ("days_past_review", 32),
    "unpermitted-column": ("unpermitted", 1),
    "k-below-threshold": ("classes_below_k", None),
    "secondary-suppression-missing": ("recoverable_cells", None),
    "retention-dates-withheld": ("undated", None),
    "identifier-unpseudonymised": ("rows_with_identifiers", None),
    "identifier-dashed": ("person_key.identifier_values", None),
    "identifier-in-text": ("person_key.identifier_in_text", None),
    "identifier-unsalted-hash": ("person_key.identifier_digests", None),
}


# An opted-out person cannot reach a demo output once every route is excluded (matching on a
# column that is not an identifier is a declaration error); the linked estate's free-text leak
# holds a real run back instead.
ELSEWHERE = {r.OPT_OUTS: "test_linked_estate_run.py"}


def test_every_control_is_covered_by_a_breach() -> None:
    volume = {d.check for d in DEFECTS.values() if d.check == r.VOLUME}  # data defects
    assert {b.check for b in BREACHES} | volume | set(ELSEWHERE) == set(r.CONTROLS)
    here = Path(__file__).parent
    assert all((here / test).is_file() for test in ELSEWHERE.values())


@pytest.mark.parametrize("breach", BREACHES, ids=[b.name for b in BREACHES])
def test_breach_halts_the_flow(home_after_clean_run: Path, breach: PolicyDefect) -> None:
    home = home_after_clean_run
    estate = load_estate(breach.estate_copy(DEMO_ESTATE, home))
    downstream = ESTATE.downstream(breach.dataset)
    guarded = {breach.dataset, *downstream}
    before = {n: dataset_path(home, ESTATE.dataset_owner[n], n).read_bytes() for n in guarded}

    report = run_demo(home, people=PEOPLE, as_of=AS_OF, estate=estate)

    assert not report.success
    status = {o.dataset: o.status for o in report.outcomes}
    assert status[breach.dataset] == "held back"
    assert all(status[d] == "not run" for d in downstream), status
    reasons = {o.dataset: o.reason for o in report.outcomes}
    assert all(breach.dataset in (reasons[d] or "") for d in downstream), reasons
    others = set(ESTATE.datasets) - guarded
    assert all(status[d] == "published" for d in others), status
    for n in guarded:
        assert dataset_path(home, ESTATE.dataset_owner[n], n).read_bytes() == before[n]
    with instance(home) as inst:
        for n in guarded:
            assert materialization(inst, n, report.run_id) is None
        evaluations = check_evaluations(inst, report.run_id)
    check = evaluations[(breach.dataset, breach.check)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    reported = {c for (d, c) in evaluations if d == breach.dataset}
    if breach.check in (r.AGREEMENT_IN_FORCE, r.MINIMISATION):  # halted before there was data
        order = list(controls.applicable(ESTATE, breach.dataset))
        reached = order[: order.index(breach.check) + 1]
        assert reported == set(reached), "checks never reached must not be reported"
    assert check.metadata["rule"].value
    assert check.metadata["findings"].value != "None."
    name, value = EXPECTED_COUNTS.get(breach.name, (None, None))
    if name:
        count = check.metadata[f"count/{name}"].value
        assert count == value if value is not None else count > 0, (name, count)

    fail = [e for e in events(home, report.run_id) if e["job"]["name"] == breach.dataset]
    assert [e["eventType"] for e in fail] == ["START", "FAIL"]
    facet = fail[1]["outputs"][0]["facets"]["tagtrail_controls"]
    failed = [c for c in facet["controls"] if not c["passed"] and c["severity"] == "error"]
    assert [c["control"] for c in failed] == [breach.check]
    assert breach.check in fail[1]["run"]["facets"]["errorMessage"]["message"]
    if HAVE_SPEC:  # the official-schema check; the rest of the test runs without the spec
        assert validate_event(fail[1], SPEC_DIR) == []
    below = [e for e in events(home, report.run_id) if e["job"]["name"] in downstream]
    assert {e["eventType"] for e in below} <= {"ABORT"}, "downstream recorded as having run"
    assert {e["job"]["name"] for e in below} == set(downstream)
    with store(home) as s:
        audit = s.audit(dataset=breach.dataset, kind="control_failed")
    assert [a.details["control"] for a in audit if a.dagster_run_id == report.run_id] == [
        breach.check
    ]


def test_compliant_estate_passes_every_control(clean_home: tuple[Path, RunReport]) -> None:
    home, report = clean_home
    with instance(home) as inst:
        evaluations = check_evaluations(inst, report.run_id)
    for name in ESTATE.flows.values():
        for control in controls.applicable(ESTATE, name.output):
            result = evaluations[(name.output, control)]
            assert result.passed, (name.output, control, result.description)
            assert result.metadata["evaluated"].value is True
    assert {c for f in ESTATE.flows.values() for c in controls.applicable(ESTATE, f.output)} == set(
        r.CONTROLS
    ), "the demo estate should use every control"


def test_overdue_review_warns_and_never_halts(home_after_clean_run: Path) -> None:
    home = home_after_clean_run
    overdue = PolicyDefect(
        "review-overdue",
        "care_research_extract",
        "review overdue, default warn",
        r.AGREEMENT_IN_FORCE,
        (Edit("agreements.yaml", "review: 2028-01-01", "review: 2026-09-30", _RES03),),
    )
    estate = load_estate(overdue.estate_copy(DEMO_ESTATE, home))
    report = run_demo(home, people=PEOPLE, as_of=AS_OF, estate=estate)
    assert report.success
    with instance(home) as inst:
        check = check_evaluations(inst, report.run_id)[
            ("care_research_extract", "agreement_in_force")
        ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["count/days_past_review"].value == 32
