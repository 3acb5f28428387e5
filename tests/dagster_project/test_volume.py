"""Volume guards in real runs: a short or empty delivery halts, naming the rule and the counts,
and everything published before stays byte-identical; an acknowledged change publishes."""

from __future__ import annotations

import getpass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project.demo import run_demo
from dagster_project.run import run_estate
from pipelines.demo.defects import DEFECTS
from pipelines.policy.result import OPT_OUTS, VOLUME
from pipelines.store import dataset_path, write_dataset

from .conftest import AS_OF, PEOPLE
from .runs import ESTATE, check_evaluations, instance, store

VOLUME_DEFECTS = [d for d in DEFECTS.values() if d.check == VOLUME]


def _published(home: Path) -> dict[str, bytes]:
    return {
        name: dataset_path(home, ESTATE.dataset_owner[name], name).read_bytes()
        for name in ESTATE.datasets
    }


@pytest.mark.parametrize("defect", VOLUME_DEFECTS, ids=[d.name for d in VOLUME_DEFECTS])
def test_a_short_delivery_halts_with_the_rule_and_counts(
    home_after_clean_run: Path, defect: object
) -> None:
    home = home_after_clean_run
    before = _published(home)
    report = run_demo(home, people=PEOPLE, as_of=AS_OF, defect=defect.name)  # type: ignore[attr-defined]
    dataset = defect.dataset  # type: ignore[attr-defined]
    status = {o.dataset: o.status for o in report.outcomes}
    assert status[dataset] == "held back"
    assert all(status[d] == "not run" for d in ESTATE.downstream(dataset))
    assert _published(home) == before, "nothing published before may change"
    with instance(home) as inst:
        check = check_evaluations(inst, report.run_id)[(dataset, VOLUME)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    previous = len(pd.read_parquet(dataset_path(home, defect.department, dataset)))  # type: ignore[attr-defined]
    assert check.metadata["count/previous_rows"].value == previous
    rows = check.metadata["count/rows"].value
    assert rows < previous
    rule = check.metadata["rule"].value
    if dataset == "national_data_opt_out":
        assert "an opt-out register is never empty" in rule and "at most 5%" in rule
    else:
        assert "at most 50%" in rule
    assert f"--acknowledge {dataset}" in (check.description or "")


def test_an_acknowledged_change_publishes_and_is_audited(home_after_clean_run: Path) -> None:
    home = home_after_clean_run
    truncated = DEFECTS["truncated-extract"]
    run_demo(home, people=PEOPLE, as_of=AS_OF, defect=truncated.name)  # halts: leaves the cut
    chain = ["care_packages", *sorted(ESTATE.downstream("care_packages"))]
    report = run_estate(ESTATE, home, as_of=AS_OF, acknowledge=chain, launched_by="steward.anne")
    status = {o.dataset: o.status for o in report.outcomes}
    assert all(status[d] == "published" for d in chain), status
    with instance(home) as inst:
        check = check_evaluations(inst, report.run_id)[("care_packages", VOLUME)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "acknowledged for this run by steward.anne" in (check.description or "")
    with store(home) as s:
        records = [
            a
            for a in s.audit(dataset="care_packages", kind="control_warning")
            if a.dagster_run_id == report.run_id
        ]
    assert [(r.details["control"], r.details["severity"]) for r in records] == [(VOLUME, "warn")]
    assert records[0].details["counts"]["acknowledged_by"] == "steward.anne"
    # "steward.anne" is only what the launcher claimed; tagtrail records who it saw beside it
    assert (records[0].launched_by, records[0].observed_by) == ("steward.anne", getpass.getuser())


def test_a_register_not_published_through_its_gate_fails_opt_outs(
    home_after_clean_run: Path,
) -> None:
    home = home_after_clean_run
    register = dataset_path(home, "health", "national_data_opt_out")
    write_dataset(register, pd.read_parquet(register).head(0))  # swapped in behind tagtrail's back
    before = _published(home)
    report = run_estate(ESTATE, home, as_of=AS_OF, select=["care_research_extract"])
    assert [o.status for o in report.outcomes] == ["held back"]
    with instance(home) as inst:
        check = check_evaluations(inst, report.run_id)[("care_research_extract", OPT_OUTS)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "was not published through its gate" in (check.description or "")
    assert _published(home) == before
