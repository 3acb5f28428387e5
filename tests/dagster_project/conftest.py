"""A clean demo run, shared by the tests that inspect it or break a copy of it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from dagster_project.demo import run_demo
from dagster_project.run import RunReport

from .pg import team_database  # noqa: F401  (a fixture for the tests here)

AS_OF = dt.date(2026, 11, 1)
PEOPLE = 1500


@pytest.fixture(scope="session")
def clean_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunReport]:
    """A TAGTRAIL_HOME after one clean demo run."""
    home = tmp_path_factory.mktemp("clean") / "home"
    report = run_demo(home, people=PEOPLE, as_of=AS_OF)
    assert report.success, [o for o in report.outcomes if o.status != "published"]
    return home, report


@pytest.fixture
def home_after_clean_run(clean_home: tuple[Path, RunReport], tmp_path: Path) -> Path:
    """A private copy of the clean home, so a test can run a defect over it."""
    src, _ = clean_home
    dest = tmp_path / "home"
    shutil.copytree(src, dest)
    return dest
