"""The reports over real demo runs: counts that match the audit trail, and no personal data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.cli import main
from dagster_project.demo import run_demo
from lineage.propagation import propagate
from lineage.reports.render import render_transparency
from lineage.reports.transparency import transparency_report
from pipelines.demo import DEMO_ESTATE
from pipelines.store import dataset_path

from .conftest import AS_OF, PEOPLE
from .runs import ESTATE, store

SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _tagged_values(home: Path) -> set[str]:
    """Every text value of at least four characters in a tagged column the home holds, except
    text the declarations themselves contain (names, dates of agreements)."""
    computed = propagate(ESTATE)
    declared = "".join(p.read_text() for p in DEMO_ESTATE.rglob("*.yaml"))
    values: set[str] = set()
    for name, dataset in ESTATE.datasets.items():
        tagged = [c.name for c in dataset.columns if computed[(name, c.name)].tags]
        owner = ESTATE.dataset_owner[name]
        frames = [
            pd.read_csv(p, dtype=str) for p in (home / "extracts" / owner).glob(f"{name}.csv")
        ]
        published = dataset_path(home, owner, name)
        if published.exists():
            frames.append(pd.read_parquet(published).astype(str))
        for frame in frames:
            for column in (c for c in tagged if c in frame.columns):
                values.update(v for v in frame[column].dropna().unique() if len(v) >= 4)
    return {v for v in values if v not in declared}


@pytest.fixture(scope="module")
def halted_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A demo home after a clean run and a run whose transform leaked NHS numbers (halted)."""
    home = tmp_path_factory.mktemp("reports") / "home"
    assert run_demo(home, people=PEOPLE, as_of=AS_OF).success
    report = run_demo(home, people=PEOPLE, as_of=AS_OF, defect="identifier-unpseudonymised")
    assert not report.success
    return home, list(report.injected)


def test_transparency_counts_are_the_audit_trails(halted_home: tuple[Path, list[str]]) -> None:
    home, _ = halted_home
    with store(home) as lineage:
        records = lineage.audit(since=SINCE, until=UNTIL)
    report = transparency_report(ESTATE, records, SINCE, UNTIL)
    by_flow = {f.flow: f for f in report.flows}
    for name, flow in ESTATE.flows.items():
        mine = [r for r in records if r.dataset == flow.output]
        assert by_flow[name].published == sum(r.kind == "run_completed" for r in mine)
        assert by_flow[name].held_back == sum(r.kind == "run_failed" for r in mine)
        excluded = [r for r in mine if r.kind == "opt_out_exclusion"]
        assert by_flow[name].opted_out_people == sum(r.details["excludedPeople"] for r in excluded)
    care = by_flow["care_research_extract"]
    assert care.held_back >= 1 and care.halted_by.get("pseudonymisation", 0) >= 1
    assert care.published >= 1 and care.opted_out_people > 0


def test_the_transparency_report_holds_no_tagged_value(
    halted_home: tuple[Path, list[str]],
) -> None:
    home, injected = halted_home
    with store(home) as lineage:
        report = transparency_report(ESTATE, lineage.audit(), SINCE, UNTIL)
    texts = [render_transparency(report, fmt) for fmt in ("csv", "json", "html")]
    values = _tagged_values(home) | {v for v in injected if v}
    assert len(values) > 1000, "the scan must have something to look for"
    for text in texts:
        leaked = sorted(v for v in values if v in text)
        assert not leaked, f"tagged values in the report: {leaked[:5]}"


def test_report_commands(
    halted_home: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = halted_home
    out = tmp_path / "ropa.json"
    assert main(["report", "ropa", "--format", "json", "--output", str(out)]) == 0
    assert len(json.loads(out.read_text())["record_of_processing"]) == len(ESTATE.flows)
    args = ["report", "transparency", "--home", str(home), "--since", "2000-01-01"]
    assert main([*args, "--format", "csv"]) == 0
    assert "care_research_extract" in capsys.readouterr().out
    assert main([*args, "--until", "1999-01-01"]) == 2
    assert main(["report", "transparency", "--home", str(home), "--since", "soon"]) == 2
    missing = tmp_path / "no" / "such" / "report.html"
    assert main(["report", "ropa", "--output", str(missing)]) == 2
    assert not missing.parent.exists()
    err = capsys.readouterr().err
    assert "--since" in err and "--output" in err
