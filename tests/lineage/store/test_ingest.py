"""Ingest: raw events kept byte for byte, idempotent, atomic, and indexed only from COMPLETE runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lineage.store import InvalidEventError, LineageStore, default_url, open_store
from lineage.store import ingest as ingest_module

DAGSTER_RUN = "d1a5e0f0-0000-4000-8000-000000000001"
DAGSTER_FAIL_RUN = "d1a5e0f0-0000-4000-8000-000000000002"
EXTRACT_RUN = "0c1e0000-0000-4000-8000-00000000000b"
FAIL_RUN = "0c1e0000-0000-4000-8000-00000000000f"

Counts = Callable[[], dict[str, int]]
Load = Callable[[str], dict[str, Any]]


def test_same_event_twice_changes_nothing(
    store: LineageStore, texts: list[str], counts: Counts
) -> None:
    assert store.ingest(texts[0]) is True
    before = counts()
    assert store.ingest(texts[0]) is False
    assert counts() == before


def test_whole_set_twice_changes_nothing(
    loaded: LineageStore, texts: list[str], counts: Counts
) -> None:
    before = counts()
    assert loaded.ingest_many(texts) == 0
    assert counts() == before
    assert before["tagtrail_events"] == len(texts)
    assert before["tagtrail_runs"] == 4


def test_same_event_reformatted_or_as_dict_is_a_duplicate(
    store: LineageStore, texts: list[str]
) -> None:
    document = json.loads(texts[1])
    assert store.ingest(texts[1]) is True
    assert store.ingest(document) is False
    assert store.ingest(json.dumps(document, sort_keys=True, indent=4)) is False
    assert store.events() == [texts[1]]


def test_events_come_back_byte_identical_in_event_time_order(
    store: LineageStore, texts: list[str]
) -> None:
    store.ingest_many(reversed(texts))
    assert store.events() == texts


def test_events_filter_by_openlineage_or_dagster_run_id(
    chain: LineageStore, texts: list[str]
) -> None:
    assert chain.events(EXTRACT_RUN) == texts[2:4]
    assert chain.events(DAGSTER_RUN) == texts[:6]
    assert chain.events(DAGSTER_FAIL_RUN) == texts[6:]
    assert chain.events("no-such-run") == []


def test_dict_events_are_stored_as_their_json(store: LineageStore, fixture_event: Load) -> None:
    event = fixture_event("01_care_packages_start")
    store.ingest(event)
    assert [json.loads(raw) for raw in store.events()] == [event]


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "[1, 2]",
        {"eventTime": "2025-01-01T00:00:00Z", "job": {"namespace": "n", "name": "j"}},
        {"eventTime": "yesterday", "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}},
        {"eventType": "DONE", "eventTime": "2025-01-01T00:00:00Z", "run": {"runId": "r"},
         "job": {"namespace": "n", "name": "j"}},
    ],
)  # fmt: skip
def test_invalid_events_are_refused(store: LineageStore, bad: Any, counts: Counts) -> None:
    with pytest.raises(InvalidEventError):
        store.ingest(bad)
    assert counts()["tagtrail_events"] == 0


def test_run_states_and_times(chain: LineageStore) -> None:
    runs = {r.job_name: r for r in chain.runs()}
    assert {name: r.state for name, r in runs.items()} == {
        "care_packages": "COMPLETE",
        "care_research_extract": "COMPLETE",
        "care_statistics": "COMPLETE",
        "households_at_risk": "FAIL",
    }
    extract = runs["care_research_extract"]
    assert extract.parent_run_id == DAGSTER_RUN
    assert extract.parent_job_name == "__ASSET_JOB"
    assert (
        extract.started_at is not None
        and extract.started_at.isoformat() == "2025-11-20T10:00:02+00:00"
    )
    assert (
        extract.ended_at is not None
        and extract.ended_at.isoformat() == "2025-11-20T10:00:03.500000+00:00"
    )
    assert extract.inputs == ("care_packages",) and extract.outputs == ("care_research_extract",)
    failed = runs["households_at_risk"]
    assert failed.error_message is not None and "unpseudonymised" in failed.error_message
    assert [r.run_id for r in chain.runs("households_at_risk")] == [FAIL_RUN]


def test_late_start_never_overwrites_complete(store: LineageStore, fixture_event: Load) -> None:
    start, complete = (
        fixture_event("03_care_research_extract_start"),
        fixture_event("04_care_research_extract_complete"),
    )
    store.ingest(complete)
    store.ingest(start)
    skewed = dict(start, eventTime="2025-11-20T10:00:09Z")
    store.ingest(skewed)
    (run,) = store.runs("care_research_extract")
    assert run.state == "COMPLETE"
    assert run.started_at is not None and run.started_at.isoformat() == "2025-11-20T10:00:02+00:00"
    assert (
        run.ended_at is not None and run.ended_at.isoformat() == "2025-11-20T10:00:03.500000+00:00"
    )
    assert [c.name for c in store.columns("care_research_extract")] == ["person_key", "diagnosis"]


@pytest.mark.parametrize("order", [("COMPLETE", "FAIL"), ("FAIL", "COMPLETE")])
def test_terminal_states_follow_event_time_whatever_the_arrival_order(
    store: LineageStore, build_event: Callable[..., dict[str, Any]], order: tuple[str, str]
) -> None:
    times = {"COMPLETE": "2025-01-01T00:00:01Z", "FAIL": "2025-01-01T00:00:02Z"}
    for state in order:
        store.ingest(build_event(state, "a", "run-1", times[state], tags={"x": ["person.quasi"]}))
    (run,) = store.runs()
    assert run.state == "FAIL"
    assert store.dataset("a") is not None
    assert store.columns("a") == []


def test_fail_is_stored_but_indexes_nothing(chain: LineageStore) -> None:
    assert len(chain.events(FAIL_RUN)) == 2
    dataset = chain.dataset("households_at_risk")
    assert dataset is not None
    assert (dataset.last_run_id, dataset.agreement, dataset.purpose) == (None, None, None)
    assert dataset.department == "housing"
    assert chain.columns("households_at_risk") == []
    assert chain.trace("households_at_risk", direction="upstream") == []
    downstream = chain.trace("care_packages", direction="downstream")
    assert "households_at_risk" not in {h.to_dataset for h in downstream}


def test_fail_after_complete_keeps_the_completed_version(
    loaded: LineageStore, fixture_event: Load
) -> None:
    failed = fixture_event("04_care_research_extract_complete")
    failed.update(eventType="FAIL", eventTime="2025-11-21T09:00:00Z")
    failed["run"] = dict(failed["run"], runId="0c1e0000-0000-4000-8000-0000000000ff")
    output = failed["outputs"][0]["facets"]
    output["tagtrail_privacy"]["columns"]["person_key"]["tags"] = ["person.id.direct"]
    output["tagtrail_privacy"]["agreement"]["id"] = "DSA-WRONG"
    before = loaded.columns("care_research_extract")
    assert loaded.ingest(failed) is True
    assert loaded.columns("care_research_extract") == before
    dataset = loaded.dataset("care_research_extract")
    assert dataset is not None and dataset.agreement is not None
    assert (dataset.agreement.id, dataset.last_run_id) == ("DSA-2025-014", EXTRACT_RUN)
    assert [r.state for r in loaded.runs("care_research_extract")] == ["COMPLETE", "FAIL"]


def test_newer_complete_replaces_tags_and_edges(
    loaded: LineageStore, build_event: Callable[..., dict[str, Any]]
) -> None:
    rerun = build_event(
        "COMPLETE",
        "care_statistics",
        "rerun",
        "2025-11-22T00:00:00Z",
        inputs=("care_research_extract",),
        lineage={"people": [("care_research_extract", "person_key", "AGGREGATION")]},
        tags={"people": ["aggregate.id.pseudonymous"]},
        namespace="tagtrail.public_reporting",
        input_namespace="tagtrail.research",
    )
    loaded.ingest(rerun)
    assert [c.name for c in loaded.columns("care_statistics")] == ["people"]
    assert loaded.trace("care_research_extract", "diagnosis", "downstream") == []
    (hop,) = loaded.trace("care_research_extract", "person_key", "downstream")
    assert (hop.to_column, hop.agreement_id, hop.purpose) == (
        "people",
        "DSA-care_statistics",
        "purpose of care_statistics",
    )
    dataset = loaded.dataset("care_statistics")
    assert dataset is not None and dataset.last_run_id == "rerun"


def _view(store: LineageStore) -> tuple[object, ...]:
    return (
        store.datasets(),
        [store.columns(d.name) for d in store.datasets()],
        store.trace("care_packages", "nhs_number"),
        store.trace("care_statistics", "people", "upstream"),
        store.trace("care_packages"),
        store.trace("care_statistics", direction="upstream"),
        [(r.run_id, r.state, r.started_at, r.ended_at) for r in store.runs()],
    )


def test_out_of_order_delivery_builds_the_same_graph(
    store: LineageStore, texts: list[str], tmp_path: Path
) -> None:
    store.ingest_many(reversed(texts))
    with open_store(default_url(tmp_path / "in-order")) as reference:
        reference.ingest_many(texts)
        assert _view(store) == _view(reference)


def test_half_written_ingest_leaves_nothing(
    store: LineageStore, texts: list[str], counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ingest_many(texts[:3])
    before = counts()

    def explode(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest_module, "refresh_dataset", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.ingest(texts[3])
    assert counts() == before
    assert len(store.events()) == 3
    monkeypatch.undo()
    assert store.ingest(texts[3]) is True
    assert [c.name for c in store.columns("care_research_extract")] == ["person_key", "diagnosis"]
