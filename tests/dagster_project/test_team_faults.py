"""Faults of a team deployment, for real: a Celery worker's process killed in the middle of a step.

The step reads a PostgreSQL source whose query takes ten minutes to answer, so the kill lands
while the step is certainly running. The run must end (not wait for ever), the step count as an
error, nothing be written, nothing downstream run, and recovery close the step's lineage run.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from dagster_project.deployment import Deployment
from dagster_project.instance import dagster_home, prepare
from pipelines.manifest import MANIFEST
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path

AMQP_ENV = "TAGTRAIL_TEST_AMQP_URL"
STEP = "health__referrals"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get(AMQP_ENV),
        reason=f"needs RabbitMQ: set {AMQP_ENV} (e.g. pyamqp://guest:guest@127.0.0.1:5672//), "
        "as .ci/run does",
    ),
]


def _slow_source_estate(root: Path, database: str) -> Path:
    """The scaffold estate with its source a query that sleeps before answering."""
    estate = root / "estate"
    init_estate(estate)
    sample = pd.read_csv(estate / "sample_data/health/referrals.csv", dtype="string")
    engine = sa.create_engine(database)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA clinic"))
        sample.to_sql("referrals", conn, schema="clinic", index=False)
    engine.dispose()
    manifest = estate / MANIFEST
    query = "SELECT r.* FROM clinic.referrals AS r CROSS JOIN pg_sleep(600)"
    manifest.write_text(
        manifest.read_text().replace(
            "  referrals: {file: health/referrals.csv}",
            f'  referrals: {{sql: {{url_env: CLINIC_DB_URL, query: "{query}"}}}}',
        )
    )
    return estate


def _step_pid(home: Path, deadline: float) -> int:
    """The process running the source's step, once it has started."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        while time.monotonic() < deadline:
            for run in instance.get_runs():
                for record in instance.get_records_for_run(
                    run.run_id, of_type=dg.DagsterEventType.STEP_START
                ).records:
                    entry = record.event_log_entry
                    if entry.step_key == STEP and entry.dagster_event is not None:
                        assert entry.dagster_event.pid is not None
                        return entry.dagster_event.pid
            time.sleep(0.5)
    raise AssertionError(f"{STEP} never started")


def test_a_worker_killed_mid_step_fails_that_step_and_writes_nothing(
    team_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    psycopg_url = team_database.replace("postgresql://", "postgresql+psycopg://", 1)
    estate = _slow_source_estate(tmp_path, psycopg_url)
    home = tmp_path / "home"
    team = {
        "TAGTRAIL_EXECUTOR": "celery",
        "TAGTRAIL_DAGSTER_URL": team_database,
        "TAGTRAIL_CELERY_BROKER": os.environ[AMQP_ENV],
        "TAGTRAIL_CELERY_QUEUE": f"tagtrail_test_{secrets.token_hex(4)}",
        "CLINIC_DB_URL": psycopg_url,
    }
    for name, value in team.items():
        monkeypatch.setenv(name, value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
    # Dagster creates its tables when an instance first opens: not twice at once
    with dg.DagsterInstance.from_config(str(dagster_home(home, Deployment.from_env()))):
        pass
    command = ["run", "--estate", str(estate), "--workers", "1", "--home", str(home)]
    run = subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pid = _step_pid(home, time.monotonic() + 180)
        assert pid != run.pid
        os.kill(pid, signal.SIGKILL)
        out, err = run.communicate(timeout=240)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, err
    assert "Traceback" not in err
    status = dict(re.findall(r"^(\w+)\s+\w+\s+(published|held back|not run|error)\b", out, re.M))
    assert status == {"referrals": "error", "referrals_by_area": "not run"}, out
    assert not dataset_path(home, "health", "referrals").exists()
    assert not dataset_path(home, "public_reporting", "referrals_by_area").exists()
    recovered = prepare(home)
    assert len(recovered.lineage.closed_runs) == 1, "the killed step's lineage run is closed"
