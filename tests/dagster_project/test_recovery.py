"""Faults against real processes: a store that refuses, runs killed with SIGKILL at random points,
and eight first runs started together on a fresh home."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project.instance import dagster_home
from lineage.store import default_url, open_store
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path, sha256_of

from ..conftest import BACKENDS, backend_url

DATASETS = {"referrals": "health", "referrals_by_area": "public_reporting"}
SAMPLE = Path("sample_data/health/referrals.csv")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "DAGSTER_"))}
    return env | {"TAGTRAIL_HOME": str(home), **extra}


def _tagtrail(*args: str, home: Path, cwd: Path, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", *args],
        cwd=cwd,
        env=_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a kill reaches every process of it
    )


def _done(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_store_that_refuses_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    init_estate(tmp_path / "estate")
    home = tmp_path / "home"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_refused_port()}/test"
    code, output = _done(
        _tagtrail("run", "--estate", "estate", home=home, cwd=tmp_path, TAGTRAIL_LINEAGE_URL=url)
    )
    assert code == 1, output
    assert "lineage store" in output and "Traceback" not in output
    assert not (home / "datasets").exists()


def _recorded(url: str) -> dict[str, set[str]]:
    """Every dataset version a COMPLETE event records, by dataset."""
    out: dict[str, set[str]] = {}
    with open_store(url) as store:
        for raw in store.events():
            event = json.loads(raw)
            if event["eventType"] != "COMPLETE":
                continue
            for output in event["outputs"]:
                version = output.get("facets", {}).get("version", {}).get("datasetVersion")
                if version:
                    out.setdefault(output["name"], set()).add(version)
    return out


def _assert_consistent(home: Path, url: str) -> None:
    """After recovery: nothing open, nothing left over, every dataset whole and recorded."""
    with open_store(url) as store:
        assert store.open_runs() == []
        assert store.pending_publications() == []
    with dg.DagsterInstance.from_config(str(dagster_home(home))) as instance:
        active = instance.get_run_records(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
        )
        assert active == []
    leftovers = [p for p in home.rglob(".*") if p.suffix in (".tmp", ".staged")]
    assert leftovers == []
    recorded = _recorded(url)
    for name, department in DATASETS.items():
        path = dataset_path(home, department, name)
        if path.exists():
            assert len(pd.read_parquet(path)) > 0
            assert sha256_of(path) in recorded.get(name, set()), f"{name}: no record"


@pytest.mark.slow
def test_kill_9_at_random_points_then_recover(tmp_path: Path) -> None:
    init_estate(tmp_path / "estate")
    home = tmp_path / "home"
    url = default_url(home)
    first = _tagtrail("run", "--estate", "estate", home=home, cwd=tmp_path)
    assert _done(first)[0] == 0
    rng = random.Random(2026)
    sample = tmp_path / "estate" / SAMPLE
    killed = 0
    for trial in range(10):
        sample.write_text(sample.read_text().replace(f"REF{10001 + trial}", f"REF{70001 + trial}"))
        run = _tagtrail("run", "--estate", "estate", home=home, cwd=tmp_path)
        time.sleep(rng.uniform(1.0, 6.0))
        if run.poll() is None:
            # the whole group: Dagster's log-capturing `tail` children would outlive the run
            # alone and keep its output open
            os.killpg(run.pid, signal.SIGKILL)
            killed += 1
        run.communicate(timeout=300)
        code, output = _done(_tagtrail("recover", home=home, cwd=tmp_path))
        assert code == 0, output
        _assert_consistent(home, url)
    assert killed >= 5, "most trials must kill a run in flight"
    again = _tagtrail("run", "--estate", "estate", home=home, cwd=tmp_path)
    assert _done(again)[0] == 0
    _assert_consistent(home, url)


@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_first_runs_at_once_on_a_fresh_home(tmp_path: Path, backend: str) -> None:
    init_estate(tmp_path / "estate")
    home = tmp_path / "home"
    with backend_url(backend, tmp_path / "store") as url:
        runs = [
            _tagtrail(
                "run", "--estate", "estate", home=home, cwd=tmp_path, TAGTRAIL_LINEAGE_URL=url
            )
            for _ in range(8)
        ]
        results = [_done(r) for r in runs]
        assert [code for code, _ in results] == [0] * 8, [o[-2000:] for c, o in results if c]
        with open_store(url) as store:
            events = [json.loads(raw) for raw in store.events()]
        completes = [
            (e["run"]["runId"], e["outputs"][0]["name"])
            for e in events
            if e["eventType"] == "COMPLETE"
        ]
        assert len(completes) == 8 * len(DATASETS) == len(set(completes)), "lost or duplicated"
        assert sum(e["eventType"] == "START" for e in events) == 8 * len(DATASETS)
        _assert_consistent(home, url)
        ninth = _tagtrail(
            "run", "--estate", "estate", home=home, cwd=tmp_path, TAGTRAIL_LINEAGE_URL=url
        )
        assert _done(ninth)[0] == 0, "the instance is still usable"
