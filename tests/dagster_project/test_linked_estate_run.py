"""Real Dagster runs of the linked estate. Opt-outs on every route: people known to benefits only
by National Insurance number are left out because the register (NHS numbers) reaches them through
the person index; an opted-out person named in another claimant's notes holds the flow back.
Selection carries tags: a list of claimants filtered on hospital admission needs an Art. 9
condition. Expected rows come from the oracle in ``tests/fixtures/linked.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project.resources import PseudonymKey, ensure_demo_key
from dagster_project.run import RunReport, run_estate
from lineage.validation import validate_event
from pipelines.estate import Estate, load_estate
from pipelines.manifest import copy_estate
from pipelines.policy import result as r
from pipelines.store import dataset_path

from ..fixtures.linked import ESTATE, Linked, alnum, make, write
from ..openlineage_spec import HAVE_SPEC, SPEC_DIR
from .runs import check_evaluations, events, instance

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def linked() -> Linked:
    return make()


def _run(tmp: Path, data: Linked, estate: Estate) -> tuple[Path, RunReport]:
    home, extracts = tmp / "home", tmp / "extracts"
    write(data, extracts)
    ensure_demo_key(home)
    return home, run_estate(estate, home, as_of=AS_OF, extracts=extracts)


def _evaluation(home: Path, run_id: str, dataset: str, check: str) -> dg.AssetCheckEvaluation:
    with instance(home) as inst:
        found: dg.AssetCheckEvaluation = check_evaluations(inst, run_id)[(dataset, check)]
    return found


def _counts(evaluation: dg.AssetCheckEvaluation) -> dict[str, object]:
    return {
        k.removeprefix("count/"): v.value
        for k, v in evaluation.metadata.items()
        if k.startswith("count/")
    }


@pytest.fixture(scope="module")
def compliant(tmp_path_factory: pytest.TempPathFactory, linked: Linked) -> tuple[Path, RunReport]:
    return _run(tmp_path_factory.mktemp("linked"), linked, load_estate(ESTATE))


def test_compliant_flows_are_published(compliant: tuple[Path, RunReport]) -> None:
    _, report = compliant
    assert report.success, [(o.dataset, o.status, o.reason) for o in report.outcomes]


def test_dates_with_utc_offsets_are_published_as_utc_dates(
    compliant: tuple[Path, RunReport], linked: Linked
) -> None:
    home, _ = compliant
    published = pd.read_parquet(dataset_path(home, "health", "admissions"))
    got = dict(zip(published["admission_id"], published["admitted_on"].dt.date, strict=True))
    expected = linked.admission_dates()
    assert got == {k: v for k, v in expected.items() if k in got}
    assert len(got) == len(expected)  # the register does not apply to the source itself
    assert {v.isoformat() for v in got.values()} == {"2026-03-01", "2026-03-02", "2026-02-28"}


def test_opted_out_claimants_are_left_out_though_benefits_never_held_their_nhs_number(
    compliant: tuple[Path, RunReport], linked: Linked
) -> None:
    home, report = compliant
    published = pd.read_parquet(dataset_path(home, "research", "claims_research"))
    key = PseudonymKey().load(home)
    assert key is not None

    def pseudonym(value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]

    kept = set(linked.claims["claim_id"]) - linked.excluded_claims()
    assert set(published["record_id"]) == {pseudonym(c) for c in kept}
    assert not set(published["person_key"]) & {pseudonym(ni) for ni in linked.opted_ni}
    evaluation = _evaluation(home, report.run_id, "claims_research", r.OPT_OUTS)
    assert evaluation.passed
    counts = _counts(evaluation)
    assert counts["claims.excluded_rows"] == len(linked.excluded_claims())
    assert counts["admissions.excluded_rows"] == len(linked.excluded_admissions())
    assert counts["person_index.excluded_rows"] == len(linked.excluded_index_rows())
    assert counts["opted_out_rows_in_output"] == 0


def test_the_compliant_welfare_flow_redacts_the_notes(
    compliant: tuple[Path, RunReport], linked: Linked
) -> None:
    home, report = compliant
    published = pd.read_parquet(dataset_path(home, "council", "welfare_contacts"))
    assert set(published["claim_id"]) == set(linked.claims["claim_id"]) - linked.excluded_claims()
    assert not any(ni in alnum(n) for n in published["notes"] for ni in linked.opted_ni)
    assert _evaluation(home, report.run_id, "welfare_contacts", r.OPT_OUTS).passed


def _variant(tmp_path: Path, *edits: tuple[str, str]) -> Estate:
    """The linked estate with edits to the welfare_contacts flow."""
    estate_dir = copy_estate(ESTATE, tmp_path / "estate")
    flow = estate_dir / "flows" / "welfare_contacts.yaml"
    text = flow.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    flow.write_text(text, encoding="utf-8")
    return load_estate(estate_dir)


def test_an_opted_out_person_named_in_free_text_holds_the_flow_back(
    tmp_path: Path, linked: Linked
) -> None:
    estate = _variant(
        tmp_path, ("welfare_contacts:transform", "welfare_contacts:transform_with_notes")
    )
    home, report = _run(tmp_path, linked, estate)

    status = {o.dataset: o.status for o in report.outcomes}
    assert status["welfare_contacts"] == "held back"
    assert status["claims_research"] == "published"
    assert not dataset_path(home, "council", "welfare_contacts").exists()
    evaluation = _evaluation(home, report.run_id, "welfare_contacts", r.OPT_OUTS)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    named = linked.notes_naming_the_opted_out()
    assert _counts(evaluation)["opted_out_rows_in_output"] == len(named) > 0
    assert _evaluation(home, report.run_id, "welfare_contacts", r.PSEUDONYMISATION).passed
    checks = next(o.checks for o in report.outcomes if o.dataset == "welfare_contacts")
    assert {c for c, state in checks.items() if state == "failed"} == {r.OPT_OUTS}, checks
    described = str(evaluation.description) + str(evaluation.metadata)
    assert not any(ni in alnum(described) for ni in linked.opted_ni)


def test_a_list_selected_by_health_data_needs_an_article_9_condition(
    tmp_path: Path, linked: Linked
) -> None:
    estate = _variant(
        tmp_path,
        ("inputs: [claims, person_index,", "inputs: [claims, person_index, admissions,"),
        ("welfare_contacts:transform", "welfare_contacts:transform_admitted_only"),
        (
            "indirect:\n",
            "indirect:\n  - {kind: filter, columns: [admissions.admitted_on], "
            "description: Claimants admitted to hospital}\n",
        ),
    )
    home, report = _run(tmp_path, linked, estate)

    status = {o.dataset: o.status for o in report.outcomes}
    assert status == {**status, "welfare_contacts": "held back", "claims_research": "published"}
    assert not dataset_path(home, "council", "welfare_contacts").exists()
    evaluation = _evaluation(home, report.run_id, "welfare_contacts", r.AGREEMENT_IN_FORCE)
    assert not evaluation.passed
    assert "admissions.admitted_on" in str(evaluation.description)
    assert _counts(evaluation)["article_9_selecting_columns"] == 1
    facets = [
        out["facets"]["tagtrail_privacy"]
        for e in events(home, report.run_id)
        if e["job"]["name"] == "welfare_contacts"
        for out in e.get("outputs", [])
        if "tagtrail_privacy" in out.get("facets", {})
    ]
    assert facets and all(
        f["selection"]
        == [
            {
                "column": "admissions.admitted_on",
                "kind": "filter",
                "tags": ["person.special.health"],
            }
        ]
        for f in facets
    )
    if HAVE_SPEC:  # the official-schema check; the rest of the test runs without the spec
        assert all(validate_event(e, SPEC_DIR) == [] for e in events(home, report.run_id))
