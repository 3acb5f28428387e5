"""Real Dagster runs of the disclosure estate: a table whose suppression satisfies the line rule but
leaks a count through the totals, a table flagged suppressed with its counts left in, and an
extract where everyone in an area shares a diagnosis are each held back by disclosure_control;
the compliant variants are published. Expected values come from ``tests/fixtures/disclosure.py``
(arithmetic, brute force) and ``tests/fixtures/lp_oracle.py`` (an independent LP)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project.resources import ensure_demo_key
from dagster_project.run import RunReport, run_estate
from pipelines.estate import Estate, load_estate
from pipelines.manifest import copy_estate
from pipelines.policy import result as r
from pipelines.store import dataset_path

from ..fixtures import disclosure as fx
from ..fixtures.lp_oracle import published, ranges, weak
from .runs import check_evaluations, instance

AS_OF = dt.date(2026, 11, 1)
DIMS = ["area", "service"]


def _run(tmp: Path, estate: Estate) -> tuple[Path, RunReport]:
    home, extracts = tmp / "home", tmp / "extracts"
    fx.write(extracts)
    ensure_demo_key(home)
    return home, run_estate(estate, home, as_of=AS_OF, extracts=extracts)


def _variant(tmp: Path, flow: str, transform: str) -> Estate:
    dest = copy_estate(fx.ESTATE, tmp / "estate")
    path = dest / "flows" / f"{flow}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"{flow}:transform", f"{flow}:{transform}"), encoding="utf-8")
    return load_estate(dest)


def _check(home: Path, report: RunReport, dataset: str) -> dg.AssetCheckEvaluation:
    with instance(home) as inst:
        found: dg.AssetCheckEvaluation = check_evaluations(inst, report.run_id)[
            (dataset, r.DISCLOSURE_CONTROL)
        ]
    return found


def _count(evaluation: dg.AssetCheckEvaluation, name: str) -> object:
    return evaluation.metadata[f"count/{name}"].value


@pytest.fixture(scope="module")
def compliant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunReport]:
    return _run(tmp_path_factory.mktemp("disclosure"), load_estate(fx.ESTATE))


def test_the_compliant_table_and_extract_are_published(compliant: tuple[Path, RunReport]) -> None:
    home, report = compliant
    assert report.success, [(o.dataset, o.status, o.checks) for o in report.outcomes]
    table = pd.read_parquet(dataset_path(home, "public_reporting", "cases_by_area"))
    attack = ranges(published(table, DIMS, "people"), exact=False)
    assert attack is not None and attack, "some counts are suppressed"
    assert weak(attack, fx.THRESHOLD) == set()  # no suppressed count narrows below 5
    visible = table["people"].dropna()
    assert not ((visible > 0) & (visible < fx.THRESHOLD)).any()
    assert _check(home, report, "cases_by_area").passed
    extract = pd.read_parquet(dataset_path(home, "research", "cases_extract"))
    assert fx.classes_sharing_a_value(extract, "area", "person_key", "diagnosis") == set()


def test_a_count_recoverable_from_the_totals_holds_the_table_back(tmp_path: Path) -> None:
    home, report = _run(tmp_path, _variant(tmp_path, "cases_by_area", "by_hand"))
    status = {o.dataset: o.status for o in report.outcomes}
    assert status["cases_by_area"] == "held back" and status["cases_extract"] == "published"
    assert not dataset_path(home, "public_reporting", "cases_by_area").exists()
    evaluation = _check(home, report, "cases_by_area")
    assert not evaluation.passed
    assert _count(evaluation, "recoverable_cells") == 1
    assert _count(evaluation, "narrowest_interval") == 0
    # the arithmetic the attack rests on, from the table the flow would have published

    estate = _variant(tmp_path / "again", "cases_by_area", "by_hand")
    table = estate.transforms["cases_by_area"](None, cases=fx.cases())  # type: ignore[arg-type]
    assert table.loc[(table["area"] == "A1") & (table["service"] == "S3"), "people"].isna().all()
    assert fx.a1_s3_from_totals(table) == fx.PEOPLE[0][2]


def test_a_count_flagged_suppressed_but_left_in_holds_the_table_back(tmp_path: Path) -> None:
    home, report = _run(tmp_path, _variant(tmp_path, "cases_by_area", "flagged_only"))
    status = {o.dataset: o.status for o in report.outcomes}
    assert status["cases_by_area"] == "held back"
    evaluation = _check(home, report, "cases_by_area")
    assert not evaluation.passed
    small = sum(0 < n < fx.THRESHOLD for row in fx.PEOPLE for n in row)
    assert _count(evaluation, "unsafe_cells") == small == 1


def test_an_area_whose_people_share_a_diagnosis_holds_the_extract_back(tmp_path: Path) -> None:
    home, report = _run(tmp_path, _variant(tmp_path, "cases_extract", "by_area"))
    status = {o.dataset: o.status for o in report.outcomes}
    assert status["cases_extract"] == "held back" and status["cases_by_area"] == "published"
    evaluation = _check(home, report, "cases_extract")
    assert not evaluation.passed
    cases = fx.cases()
    expected = fx.classes_sharing_a_value(cases, "area", "person_id", "diagnosis")
    assert expected == {"A1"}
    assert cases.loc[cases["area"] == "A1", "diagnosis"].nunique() == 2  # diverse by rows
    assert _count(evaluation, "classes_with_shared_value") == len(expected)
