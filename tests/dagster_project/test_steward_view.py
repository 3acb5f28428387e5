"""What a steward sees in the Dagster UI after a halt, asked of a real dagster-webserver over GraphQL.

The held-back dataset shows its failed check; every dataset downstream shows its checks as
skipped (never failed, never "execution failed") and an observation saying why it did not run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dagster_project.controls import applicable
from dagster_project.gate import GATE_CHECK, WARN_CHECK
from dagster_project.halts import HELD_BACK_TAG, NOT_RUN

from .runs import ESTATE, asset_key, instance

REPO = Path(__file__).resolve().parents[2]
HELD = "inpatient_episodes"
DOWNSTREAM = sorted(ESTATE.downstream(HELD))

CHECK_EXECUTIONS = """
query ($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1) {
    runId status evaluation { severity description }
  }
}"""
EVENTS = """
query ($assetKey: AssetKeyInput!) {
  assetOrError(assetKey: $assetKey) {
    ... on Asset {
      assetEventHistory(limit: 10, eventTypeSelectors: [MATERIALIZATION, OBSERVATION]) {
        results {
          __typename
          ... on ObservationEvent {
            runId description
            metadataEntries { label ... on TextMetadataEntry { text } }
          }
        }
      }
    }
  }
}"""
RUNS = """
query ($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 5) { ... on Runs { results { runId status } } }
}"""
RESOURCES = """
query {
  allTopLevelResourceDetailsOrError(repositorySelector:
      {repositoryLocationName: "tagtrail", repositoryName: "__repository__"}) {
    ... on ResourceDetailsList { results { name configuredValues { key value type } } }
  }
}"""


@pytest.fixture(scope="module")
def halted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A demo halted by invalid NHS numbers, and a webserver over its Dagster instance."""
    home = tmp_path_factory.mktemp("steward") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "DAGSTER_"))}
    env |= {"TAGTRAIL_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    demo = subprocess.run(
        [
            *(sys.executable, "-m", "dagster_project.cli", "demo", "--people", "1500"),
            *("--as-of", "2026-11-01", "--defect", "invalid-nhs-numbers"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 1, demo.stdout + demo.stderr
    run_id = demo.stdout.split("tagtrail demo run ", 1)[1].split(":", 1)[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            *(str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml"),
            *("-h", "127.0.0.1", "-p", str(port)),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("dagster-webserver did not start") from None
                time.sleep(0.5)
        yield home, run_id, url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _graphql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    body = json.loads(urllib.request.urlopen(request, timeout=60).read())
    assert "errors" not in body, body
    return dict(body["data"])


def _checks(dataset: str) -> list[str]:
    return [*applicable(ESTATE, dataset), GATE_CHECK, WARN_CHECK]


def _key(dataset: str) -> dict[str, list[str]]:
    return {"path": list(asset_key(dataset).path)}


def test_the_held_back_dataset_shows_its_failed_gate(halted: tuple[Path, str, str]) -> None:
    _, run_id, url = halted
    data = _graphql(url, CHECK_EXECUTIONS, assetKey=_key(HELD), checkName=GATE_CHECK)
    [execution] = data["assetCheckExecutions"]
    assert (execution["runId"], execution["status"]) == (run_id, "FAILED")
    assert execution["evaluation"]["severity"] == "ERROR"
    assert "valid NHS number" in execution["evaluation"]["description"]


@pytest.mark.parametrize("dataset", DOWNSTREAM)
def test_downstream_checks_are_skipped_never_failed(
    halted: tuple[Path, str, str], dataset: str
) -> None:
    _, run_id, url = halted
    for check in _checks(dataset):
        data = _graphql(url, CHECK_EXECUTIONS, assetKey=_key(dataset), checkName=check)
        [execution] = data["assetCheckExecutions"]
        assert execution["runId"] == run_id
        assert execution["status"] == "SKIPPED", (dataset, check, execution)


@pytest.mark.parametrize("dataset", DOWNSTREAM)
def test_the_instance_agrees_nothing_downstream_failed(
    halted: tuple[Path, str, str], dataset: str
) -> None:
    home, run_id, _ = halted
    keys = [dg.AssetCheckKey(asset_key(dataset), c) for c in _checks(dataset)]
    with instance(home) as inst:
        run = inst.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert not inst.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        records = inst.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    assert set(records) == set(keys)
    for key, record in records.items():
        assert record.run_id == run_id
        assert record.status.value == "PLANNED", key  # never evaluated: resolves to skipped


@pytest.mark.parametrize("dataset", DOWNSTREAM)
def test_why_a_dataset_did_not_run_is_on_its_page(
    halted: tuple[Path, str, str], dataset: str
) -> None:
    _, run_id, url = halted
    data = _graphql(url, EVENTS, assetKey=_key(dataset))
    observations = [
        e
        for e in data["assetOrError"]["assetEventHistory"]["results"]
        if e["__typename"] == "ObservationEvent" and e["runId"] == run_id
    ]
    assert len(observations) == 1
    [note] = observations
    assert (
        "upstream dataset health/inpatient_episodes was held back by quality_gate"
        in (note["description"])
    )
    entries = {e["label"]: e.get("text") for e in note["metadataEntries"]}
    assert entries["tagtrail/held_back_upstream"] == "health/inpatient_episodes"
    assert entries["tagtrail/halting_checks"] == GATE_CHECK
    assert entries[NOT_RUN] == note["description"]


def test_halted_runs_can_be_found_by_their_tag(halted: tuple[Path, str, str]) -> None:
    _, run_id, url = halted
    data = _graphql(url, RUNS, filter={"tags": [{"key": HELD_BACK_TAG, "value": "yes"}]})
    assert [(r["runId"], r["status"]) for r in data["runsOrError"]["results"]] == [
        (run_id, "SUCCESS")
    ]


def test_the_ui_shows_the_home_variable_not_its_value(halted: tuple[Path, str, str]) -> None:
    home, _, url = halted
    data = _graphql(url, RESOURCES)
    resources = {r["name"]: r for r in data["allTopLevelResourceDetailsOrError"]["results"]}
    values = {v["key"]: v for v in resources["settings"]["configuredValues"]}
    assert values["home"]["value"] == "TAGTRAIL_HOME" and values["home"]["type"] == "ENV_VAR"
    assert str(home) not in json.dumps(data)
