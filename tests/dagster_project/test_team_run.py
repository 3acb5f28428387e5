"""The demo estate run by a team deployment: Dagster's instance, the lineage store and the
datasets in one PostgreSQL database, every step on one of two Celery workers over RabbitMQ.

It must behave exactly as the in-process run: the same datasets published, the same lineage
events (none lost, none twice), the same halt for a defect with nothing written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.demo import run_demo
from dagster_project.gate import GATE_CHECK
from dagster_project.run import RunReport, run_estate
from lineage.store import open_store
from pipelines.demo.defects import DEFECTS
from pipelines.estate import load_estate
from pipelines.warehouse import Warehouse

from .conftest import AS_OF
from .partitioned_estate import write_estate, write_visits
from .pg import PG_ENV
from .runs import ESTATE

AMQP_ENV = "TAGTRAIL_TEST_AMQP_URL"
PEOPLE = 1000
DEFECT = next(d for d in DEFECTS.values() if d.check == GATE_CHECK and ESTATE.downstream(d.dataset))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get(PG_ENV) and os.environ.get(AMQP_ENV)),
        reason=f"needs PostgreSQL and RabbitMQ: set {PG_ENV} (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test) and "
        f"{AMQP_ENV} (e.g. pyamqp://guest:guest@127.0.0.1:5672//), as .ci/run does",
    ),
]


def _events(url: str, run_id: str) -> Counter[tuple[str, str]]:
    """How many times each (job, event type) appears among a Dagster run's lineage events."""
    with open_store(url) as store:
        raw = [json.loads(text) for text in store.events(run_id)]
    return Counter((e["job"]["name"], e["eventType"]) for e in raw)


def _status(report: RunReport) -> dict[str, str]:
    return {o.dataset: o.status for o in report.outcomes}


def test_demo_on_celery_workers_matches_in_process(
    team_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_home = tmp_path / "local"
    local = run_demo(local_home, people=PEOPLE, as_of=AS_OF)
    assert local.success

    lineage_url = team_database.replace("postgresql://", "postgresql+psycopg://", 1)
    team_env = {
        "TAGTRAIL_EXECUTOR": "celery",
        "TAGTRAIL_DAGSTER_URL": team_database,
        "TAGTRAIL_CELERY_BROKER": os.environ[AMQP_ENV],
        "TAGTRAIL_CELERY_QUEUE": f"tagtrail_test_{secrets.token_hex(4)}",
        "TAGTRAIL_DATASETS_URL": lineage_url,
    }
    home = tmp_path / "team"

    with monkeypatch.context() as env:
        for name, value in team_env.items():
            env.setenv(name, value)
        team = run_demo(home, people=PEOPLE, as_of=AS_OF, workers=2, lineage_url=lineage_url)

    assert team.success, [o for o in team.outcomes if o.status != "published"]
    assert _status(team) == _status(local)
    assert set(team.step_pids) == set(local.step_pids)
    worker_pids = set(team.step_pids.values())
    assert len(worker_pids) >= 2, team.step_pids
    assert os.getpid() not in worker_pids
    assert {o.dataset: o.rows_out for o in team.outcomes} == {
        o.dataset: o.rows_out for o in local.outcomes
    }
    team_events = _events(lineage_url, team.run_id)
    assert team_events == _events(f"sqlite:///{local_home / 'lineage.db'}", local.run_id)
    assert set(team_events.values()) == {1}, "an event was stored twice"

    warehouse = Warehouse(lineage_url)
    assert not (home / "datasets").exists(), "datasets went to PostgreSQL, not to files"
    for outcome in team.outcomes:
        assert warehouse.rows(outcome.department, outcome.dataset) == outcome.rows_out
    before = warehouse.version(DEFECT.department, DEFECT.dataset)
    with monkeypatch.context() as env:
        for name, value in team_env.items():
            env.setenv(name, value)
        halted = run_demo(
            home,
            people=PEOPLE,
            as_of=AS_OF,
            defect=DEFECT.name,
            workers=2,
            lineage_url=lineage_url,
        )
    reference = run_demo(local_home, people=PEOPLE, as_of=AS_OF, defect=DEFECT.name)

    assert not halted.success
    assert _status(halted) == _status(reference)
    assert _status(halted)[DEFECT.dataset] == "held back"
    assert "not run" in _status(halted).values()
    assert warehouse.version(DEFECT.department, DEFECT.dataset) == before, "version touched"
    warehouse.dispose()
    assert len(set(halted.step_pids.values()) - {os.getpid()}) >= 1


def test_partitioned_periods_run_on_the_workers_too(
    team_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = load_estate(write_estate(tmp_path / "estate"))
    write_visits(estate.root, {"2026-01": 5, "2026-02": 4})
    for name, value in {
        "TAGTRAIL_EXECUTOR": "celery",
        "TAGTRAIL_DAGSTER_URL": team_database,
        "TAGTRAIL_CELERY_BROKER": os.environ[AMQP_ENV],
        "TAGTRAIL_CELERY_QUEUE": f"tagtrail_test_{secrets.token_hex(4)}",
    }.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"

    report = run_estate(estate, home, as_of=dt.date(2026, 3, 10), workers=2)

    assert report.success, report.outcomes
    periods = home / "datasets" / "research" / "visit_extract"
    assert {p.stem: len(pd.read_parquet(p)) for p in periods.glob("*.parquet")} == {
        "2026-01": 5,
        "2026-02": 4,
    }
    assert len(report.run_ids) == 3
    assert report.step_pids and os.getpid() not in report.step_pids.values()
