"""Events go where OpenLineage's own configuration says, and are always stored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from lineage.emit import Emitter, configured_client
from lineage.events import build_event
from lineage.propagation import propagate
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate


class _Sink:
    def __init__(self) -> None:
        self.events: list[str] = []

    def ingest(self, event: dict[str, Any] | str) -> bool:
        self.events.append(event if isinstance(event, str) else json.dumps(event))
        return True


@pytest.fixture
def no_openlineage_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "OPENLINEAGE_CONFIG",
        "OPENLINEAGE_URL",
        "OPENLINEAGE_DISABLED",
        "OPENLINEAGE__TRANSPORT__TYPE",
    ):
        monkeypatch.delenv(var, raising=False)


def _event() -> Any:
    estate = load_estate(DEMO_ESTATE)
    return build_event(
        "START",
        estate=estate,
        dataset="care_statistics",
        run_id="0195c3a4-1111-7000-8000-000000000001",
        parent_run_id="0195c3a4-2222-7000-8000-000000000002",
        parent_job_name="all_flows",
        event_time=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        computed=propagate(estate),
    )


def test_unconfigured_means_store_only(no_openlineage_config: None) -> None:
    assert configured_client() is None
    sink = _Sink()
    raw = Emitter(sink, configured_client()).emit(_event())
    assert sink.events == [raw]


def test_openlineage_yml_routes_events(
    no_openlineage_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "events.ndjson"
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: file\n  log_file_path: {out}\n  append: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    client = configured_client()
    assert client is not None
    sink = _Sink()
    Emitter(sink, client).emit(_event())
    sent = json.loads(out.read_text().splitlines()[0])
    stored = json.loads(sink.events[0])
    # The client adds its own run/job `tags` facets (client version, environment) per its config.
    for event in (sent, stored):
        event["run"]["facets"].pop("tags", None)
        event["job"]["facets"].pop("tags", None)
    assert sent == stored


def test_transport_failure_keeps_the_stored_event(no_openlineage_config: None) -> None:
    class Down:
        def emit(self, event: Any) -> None:
            raise ConnectionError("backend down")

    sink = _Sink()
    Emitter(sink, Down()).emit(_event())
    assert len(sink.events) == 1


def test_disabled_wins(no_openlineage_config: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert configured_client() is None
