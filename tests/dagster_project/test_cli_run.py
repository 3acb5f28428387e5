"""``tagtrail init``, ``validate``, ``run`` and ``demo`` as a user calls them: exit codes, output,
what is published, and nothing written when the user made a mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.manifest import MANIFEST
from pipelines.store import dataset_path

from ..conftest import SqlDatabase


def tagtrail(*args: str, home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``tagtrail`` command in a fresh process, as a user would."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "DAGSTER_"))}
    environ |= {"TAGTRAIL_HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A folder where `tagtrail init my-estate` has been run, and a home for runs."""
    work = tmp_path_factory.mktemp("work")
    done = tagtrail("init", "my-estate", "--git", home=work / "home", cwd=work)
    assert done.returncode == 0, done.stderr
    return work, work / "home"


def test_init_validate_run_publishes_every_dataset(initialised: tuple[Path, Path]) -> None:
    work, home = initialised
    estate = work / "my-estate"
    assert (estate / ".git").is_dir() and (estate / MANIFEST).is_file()
    assert tagtrail("validate", "my-estate", home=home, cwd=work).returncode == 0
    run = tagtrail("run", "--estate", "my-estate", home=home, cwd=work)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "succeeded" in run.stdout
    for department, dataset in (("health", "referrals"), ("public_reporting", "referrals_by_area")):
        published = pd.read_parquet(dataset_path(home, department, dataset))
        assert len(published) > 0
    assert "Traceback" not in run.stderr
    shared = [p for p in home.rglob("*") if p.stat().st_mode & 0o077]
    assert shared == [], "everything under the home is for its owner only"


def test_the_estates_own_tests_pass(initialised: tuple[Path, Path]) -> None:
    work, home = initialised
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=work / "my-estate",
        env={**os.environ, "TAGTRAIL_HOME": str(home / "estate-tests")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout


def test_init_refuses_a_folder_in_use(initialised: tuple[Path, Path]) -> None:
    work, home = initialised
    done = tagtrail("init", "my-estate", home=home, cwd=work)
    assert done.returncode == 2
    assert "already exists and is not an empty folder" in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--select", "referals"], "has no dataset 'referals' (did you mean 'referrals'"),
        (["--extracts", "nowhere"], "nowhere/health/referrals.csv not found"),
    ],
    ids=["unknown-dataset", "no-extract"],
)
def test_run_mistakes_exit_2_and_write_nothing(
    initialised: tuple[Path, Path], tmp_path: Path, args: list[str], expected: str
) -> None:
    work, _ = initialised
    home = tmp_path / "home"
    done = tagtrail("run", "--estate", "my-estate", *args, home=home, cwd=work)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr and "nothing was run" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "datasets").exists()


def test_selecting_a_flow_whose_input_was_never_published(
    initialised: tuple[Path, Path], tmp_path: Path
) -> None:
    work, _ = initialised
    done = tagtrail(
        "run", "--estate", "my-estate", "--select", "referrals_by_area", home=tmp_path, cwd=work
    )
    assert done.returncode == 2
    assert "reads 'referrals', which is not selected and has never been published" in done.stderr


def test_selecting_one_dataset_runs_only_it(initialised: tuple[Path, Path], tmp_path: Path) -> None:
    work, _ = initialised
    done = tagtrail(
        "run", "--estate", "my-estate", "--select", "referrals", home=tmp_path, cwd=work
    )
    assert done.returncode == 0, done.stderr
    assert dataset_path(tmp_path, "health", "referrals").is_file()
    assert not dataset_path(tmp_path, "public_reporting", "referrals_by_area").exists()
    again = tagtrail(
        "run", "--estate", "my-estate", "--select", "referrals_by_area", home=tmp_path, cwd=work
    )
    assert again.returncode == 0, again.stderr
    assert dataset_path(tmp_path, "public_reporting", "referrals_by_area").is_file()


def test_a_declaration_mistake_exits_2(initialised: tuple[Path, Path], tmp_path: Path) -> None:
    work, home = initialised
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(work / "my-estate"), str(broken)], check=True)
    manifest = broken / MANIFEST
    manifest.write_text(manifest.read_text().replace("referrals: {file:", "referral: {file:"))
    done = tagtrail("run", "--estate", str(broken), home=home, cwd=work)
    assert done.returncode == 2
    assert "estate.yaml, line" in done.stderr and "sources.referral" in done.stderr


def _sql_estate(work: Path, dest: Path, db: SqlDatabase, table: str = "referrals") -> Path:
    subprocess.run(["cp", "-r", str(work / "my-estate"), str(dest)], check=True)
    schema = f", schema: {db.schema}" if db.schema else ""
    manifest = dest / MANIFEST
    manifest.write_text(
        manifest.read_text().replace(
            "  referrals: {file: health/referrals.csv}",
            f"  referrals: {{sql: {{url_env: CLINIC_DB_URL, table: {table}{schema}}}}}",
        )
    )
    sample = pd.read_csv(work / "my-estate/sample_data/health/referrals.csv", dtype="string")
    db.load("referrals", sample.assign(date_of_birth=pd.to_datetime(sample.date_of_birth)))
    return dest


def test_run_reads_a_sql_table(
    initialised: tuple[Path, Path], tmp_path: Path, sql_database: SqlDatabase
) -> None:
    work, _ = initialised
    estate = _sql_estate(work, tmp_path / "sql-estate", sql_database)
    home = tmp_path / "home"
    done = tagtrail(
        "run", "--estate", str(estate), home=home, cwd=work, CLINIC_DB_URL=sql_database.url
    )
    assert done.returncode == 0, done.stdout + done.stderr
    published = pd.read_parquet(dataset_path(home, "health", "referrals"))
    assert len(published) == 240
    assert (
        sql_database.url.split("@")[-1] not in done.stdout + done.stderr
        or sql_database.backend == "sqlite"
    )


@pytest.mark.parametrize("mistake", ["unset-url", "bad-url", "missing-table"])
def test_sql_source_mistakes_exit_2_and_publish_nothing(
    initialised: tuple[Path, Path], tmp_path: Path, sql_database: SqlDatabase, mistake: str
) -> None:
    work, _ = initialised
    table = "referals" if mistake == "missing-table" else "referrals"
    estate = _sql_estate(work, tmp_path / "sql-estate", sql_database, table)
    env = {} if mistake == "unset-url" else {"CLINIC_DB_URL": sql_database.url}
    if mistake == "bad-url":
        env["CLINIC_DB_URL"] = sql_database.url.replace("://", "//", 1)
    home = tmp_path / "home"
    done = tagtrail("run", "--estate", str(estate), home=home, cwd=work, **env)
    assert done.returncode == 2, done.stdout + done.stderr
    expected = {
        "unset-url": "environment variable CLINIC_DB_URL is not set",
        "bad-url": "$CLINIC_DB_URL does not hold a SQLAlchemy URL",
        "missing-table": "table 'referals' not found",
    }[mistake]
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (home / "datasets").exists()
    assert not (home / "dagster").exists(), "no run may even start"


def test_a_halted_demo_exits_1_with_the_halt_message_and_no_traceback(tmp_path: Path) -> None:
    done = tagtrail(
        "demo",
        "--people",
        "1500",
        "--as-of",
        "2026-11-01",
        "--defect",
        "invalid-nhs-numbers",
        home=tmp_path / "home",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "inpatient_episodes: held back" in done.stderr
    assert "nhs_number must be a valid NHS number" in done.stderr
    assert "Traceback" not in done.stderr and "Stack Trace" not in done.stderr
    assert (
        "discharge_notifications" in done.stdout
        and "not run: upstream inpatient_episodes" in done.stdout
    )


@pytest.mark.parametrize("people", ["0", "9_000_000", "many"])
def test_a_demo_size_out_of_range_exits_2_before_generating(tmp_path: Path, people: str) -> None:
    done = tagtrail("demo", "--people", people, home=tmp_path / "home", cwd=tmp_path)
    assert done.returncode == 2
    assert "--people" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "home").exists()
