"""A run with its lineage backend down: the data is published, the events wait in the store, and
`tagtrail events send` (or the delivery sensor) delivers every one of them once it is back."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.lineage import LineageResource
from dagster_project.sensors import DELIVERY_SENSOR, delivery_sensor
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path

from ..lineage.test_delivery import Backend


def _tagtrail(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.close()


def _refused() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_events_wait_for_a_down_backend_and_all_arrive_later(
    tmp_path: Path, backend: Backend
) -> None:
    init_estate(tmp_path / "estate")
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "OPENLINEAGE"))}
    env |= {"TAGTRAIL_HOME": str(home), "HOME": str(tmp_path), "OPENLINEAGE_URL": _refused()}
    run = _tagtrail("run", "--estate", "estate", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert dataset_path(home, "public_reporting", "referrals_by_area").is_file()
    assert "waiting" in run.stdout and "tagtrail events send" in run.stdout
    stored = _tagtrail("events", cwd=tmp_path, env=env).stdout.splitlines()
    pending = _tagtrail("events", "--pending", cwd=tmp_path, env=env).stdout.splitlines()
    assert len(pending) == len(stored) == 4  # START and COMPLETE of two datasets
    env["OPENLINEAGE_URL"] = backend.url
    sent = _tagtrail("events", "send", cwd=tmp_path, env=env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "4 event(s) delivered" in sent.stdout
    assert backend.received == [json.loads(line) for line in stored]
    assert _tagtrail("events", "--pending", cwd=tmp_path, env=env).stdout == ""
    assert "0 event(s) delivered" in _tagtrail("events", "send", cwd=tmp_path, env=env).stdout


def test_send_with_the_backend_still_down_exits_1(tmp_path: Path) -> None:
    init_estate(tmp_path / "estate")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "OPENLINEAGE"))}
    env |= {"TAGTRAIL_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    assert _tagtrail("run", "--estate", "estate", cwd=tmp_path, env=env).returncode == 0
    env["OPENLINEAGE_URL"] = _refused()
    down = _tagtrail("events", "send", "--timeout", "1", cwd=tmp_path, env=env)
    assert down.returncode == 1 and "4 waiting" in down.stdout
    del env["OPENLINEAGE_URL"]
    unset = _tagtrail("events", "send", cwd=tmp_path, env=env)
    assert unset.returncode == 2 and "OPENLINEAGE_URL" in unset.stderr


def test_the_delivery_sensor_sends_what_is_waiting(
    tmp_path: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_estate(tmp_path / "estate")
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "OPENLINEAGE"))}
    env |= {"TAGTRAIL_HOME": str(home), "HOME": str(tmp_path)}
    assert _tagtrail("run", "--estate", "estate", cwd=tmp_path, env=env).returncode == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OPENLINEAGE_URL", backend.url)
    sensor = delivery_sensor()
    assert sensor.name == DELIVERY_SENSOR
    with dg.build_sensor_context(resources={"lineage": LineageResource(home=str(home))}) as ctx:
        result = sensor(ctx)
    assert isinstance(result, dg.SkipReason) and "4 event(s) delivered" in str(result.skip_message)
    assert len(backend.received) == 4
