"""This estate's flows, run on its sample data: everything is published and every check passes.

Run with ``pytest`` from the estate folder (tagtrail must be installed in the environment).
"""

from __future__ import annotations

from pathlib import Path

from dagster_project.run import run_estate
from pipelines.estate import load_estate

ESTATE = Path(__file__).resolve().parents[1]


def test_declarations_are_valid() -> None:
    estate = load_estate(ESTATE)
    assert estate.flows, "the estate declares no flow"


def test_every_flow_publishes_its_sample_data(tmp_path: Path) -> None:
    report = run_estate(load_estate(ESTATE), tmp_path / "home", launched_by="pytest")
    problems = [(o.dataset, o.status, o.checks) for o in report.outcomes if o.status != "published"]
    assert report.success, problems
    assert {o.dataset for o in report.outcomes} == set(load_estate(ESTATE).datasets)
