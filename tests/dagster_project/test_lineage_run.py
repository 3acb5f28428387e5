"""Privacy tags travel: the demo's real OpenLineage events, the store they land in, and trace."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from openlineage.client.serde import Serde

from dagster_project.demo import run_demo
from dagster_project.lineage import AssetRun
from dagster_project.run import RunReport
from lineage.control_facets import Launch
from lineage.store import default_url, open_store
from lineage.typed import run_event
from lineage.validation import validate_event
from pipelines.demo.defects import DEFECTS
from pipelines.estate import load_estate

from ..openlineage_spec import SPEC_DIR, needs_spec
from .conftest import AS_OF, PEOPLE


def _store(home: Path):  # type: ignore[no-untyped-def]
    return open_store(default_url(home))


def _events(home: Path, run_id: str) -> list[dict[str, Any]]:
    with _store(home) as store:
        return [json.loads(raw) for raw in store.events(run_id)]


def test_every_demo_event_carries_its_facets(clean_home: tuple[Path, RunReport]) -> None:
    home, report = clean_home
    events = _events(home, report.run_id)
    estate = load_estate(Path(__file__).resolve().parents[2] / "pipelines" / "demo" / "estate")
    assert len(events) == 2 * len(estate.datasets), "a START and a COMPLETE per asset"
    assert {e["eventType"] for e in events} == {"START", "COMPLETE"}
    facet_keys = {k for e in events for d in e["outputs"] for k in d.get("facets", {})}
    assert {
        "schema",
        "columnLineage",
        "tags",
        "ownership",
        "tagtrail_privacy",
        "dataQualityAssertions",
        "tagtrail_controls",
    } <= facet_keys
    assert all("tagtrail_audit" in e["run"]["facets"] for e in events)
    assert all("symlinks" in d["facets"] for e in events for d in [*e["inputs"], *e["outputs"]])
    assert all("test" in e["run"]["facets"] for e in events if e["eventType"] == "COMPLETE")
    runs = {e["job"]["name"]: uuid.UUID(e["run"]["runId"]) for e in events}
    assert all(r.version == 7 for r in runs.values()) and len(set(runs.values())) == len(runs)
    for event in events:
        assert event["run"]["facets"]["parent"]["run"]["runId"] == report.run_id
        assert Serde.to_dict(run_event(event)) == event, event["job"]["name"]


@needs_spec
def test_every_demo_event_is_spec_valid(clean_home: tuple[Path, RunReport]) -> None:
    home, report = clean_home
    for event in _events(home, report.run_id):
        assert validate_event(event, SPEC_DIR) == [], event["job"]["name"]


def test_an_asset_run_keeps_one_uuidv7_run_id_in_a_dagster_run() -> None:
    estate = load_estate(Path(__file__).resolve().parents[2] / "pipelines" / "demo" / "estate")
    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    launch = Launch("alice", "run_tag", at, "dagster-run-1")

    def run(dataset: str, dagster_run: str = "dagster-run-1") -> AssetRun:
        return AssetRun(estate, dataset, {}, dagster_run, "job", None, launch)  # type: ignore[arg-type]

    first = uuid.UUID(run("care_packages").run_id)
    assert first.version == 7 and int(first.hex[:12], 16) == int(at.timestamp() * 1000)
    assert run("care_packages").run_id == str(first), "a retried step continues its run"
    assert run("tenancies").run_id != str(first)
    assert run("care_packages", "dagster-run-2").run_id != str(first)
    unlaunched = AssetRun(estate, "care_packages", {}, "r", "job", None)  # type: ignore[arg-type]
    assert uuid.UUID(unlaunched.run_id).version == 7
    assert unlaunched.run_id == unlaunched.run_id, "drawn once, kept for the run"


def _hop(hops, to_dataset: str, to_column: str):  # type: ignore[no-untyped-def]
    return next(h for h in hops if h.to_dataset == to_dataset and h.to_column == to_column)


def _attributions(hop, tag: str) -> list[tuple[tuple[str, ...], tuple[str, ...], str | None]]:  # type: ignore[no-untyped-def]
    return sorted(
        (a.path, a.rules, a.origin_tag) for t in hop.tags if t.tag == tag for a in t.attributions
    )


def test_trace_shows_tag_change_at_pseudonymisation_and_aggregation(
    clean_home: tuple[Path, RunReport],
) -> None:
    home, _ = clean_home
    with _store(home) as store:
        hops = store.trace("care_packages", "nhs_number", "downstream", None)
    first = _hop(hops, "care_research_extract", "person_key")
    assert first.depth == 1
    assert [t.tag for t in first.from_tags] == ["person.id.direct"]
    assert [t.tag for t in first.tags] == ["person.id.pseudonymous"]
    assert first.agreement_id == "DSA-ASC-RES-03" and first.purpose == "service_evaluation"
    assert first.department == "research"
    assert first.transformation.subtype == "TRANSFORMATION" and first.transformation.masking
    assert _attributions(first, "person.id.pseudonymous") == [
        (
            ("care_packages.nhs_number", "care_research_extract.person_key"),
            ("declared", "keyed_hash_pseudonymises"),
            "person.id.direct",
        ),
    ]
    second = _hop(hops, "care_statistics", "people")
    assert second.depth == 2
    assert [t.tag for t in second.tags] == ["aggregate.id.pseudonymous"]
    assert second.agreement_id == "DSA-RES-PUB-04" and second.department == "public_reporting"
    assert second.transformation.subtype == "AGGREGATION"
    assert _attributions(second, "aggregate.id.pseudonymous") == [
        (
            (
                "care_packages.nhs_number",
                "care_research_extract.person_key",
                "care_statistics.people",
            ),
            ("declared", "keyed_hash_pseudonymises", "aggregate_with_min_count"),
            "person.id.direct",
        ),
    ]


def test_trace_carries_tags_unchanged_where_nothing_masks(
    clean_home: tuple[Path, RunReport],
) -> None:
    home, _ = clean_home
    with _store(home) as store:
        hops = store.trace("care_packages", "ethnicity", "downstream", 1)
    hop = _hop(hops, "care_research_extract", "ethnicity")
    assert (
        [t.tag for t in hop.from_tags] == [t.tag for t in hop.tags] == ["person.special.ethnicity"]
    )
    assert _attributions(hop, "person.special.ethnicity") == [
        (
            ("care_packages.ethnicity", "care_research_extract.ethnicity"),
            ("declared", "carry"),
            "person.special.ethnicity",
        ),
    ]
    assert all(h.depth == 1 for h in hops), "--depth 1 stops after one hop"


def test_halted_run_leaves_fail_event_and_nothing_downstream(home_after_clean_run: Path) -> None:
    defect = DEFECTS["invalid-nhs-numbers"]
    report = run_demo(home_after_clean_run, people=PEOPLE, as_of=AS_OF, defect=defect.name)
    assert not report.success
    with _store(home_after_clean_run) as store:
        events = [json.loads(raw) for raw in store.events(report.run_id)]
        by_job: dict[str, list[str]] = {}
        for e in events:
            by_job.setdefault(e["job"]["name"], []).append(e["eventType"])
        assert by_job[defect.dataset] == ["START", "FAIL"]
        fail = next(e for e in events if e["eventType"] == "FAIL")
        assert "NHS number" in fail["run"]["facets"]["errorMessage"]["message"]
        estate = load_estate(Path(__file__).resolve().parents[2] / "pipelines" / "demo" / "estate")
        for downstream in estate.downstream(defect.dataset):
            # recorded as not run (an ABORT naming the halt upstream), never as having run
            assert by_job[downstream] == ["ABORT"], f"{downstream}: {by_job[downstream]}"
            runs = [r for r in store.runs(downstream) if r.parent_run_id == report.run_id]
            assert [r.state for r in runs] == ["ABORT"]
        failed_runs = [r for r in store.runs(defect.dataset) if r.parent_run_id == report.run_id]
        assert [r.state for r in failed_runs] == ["FAIL"]
        raw = "\n".join(store.events(report.run_id))
    for value in report.injected:
        assert value not in raw


def test_rerun_and_reingest_duplicate_nothing(home_after_clean_run: Path) -> None:
    home = home_after_clean_run

    def snapshot() -> tuple[int, int, int, int]:
        with _store(home) as store:
            datasets = store.datasets()
            columns = sum(len(store.columns(d.name)) for d in datasets)
            tags = sum(len(c.tags) for d in datasets for c in store.columns(d.name))
            hops = len(store.trace("inpatient_episodes", None, "downstream", None))
            return len(datasets), columns, tags, hops

    before = snapshot()
    report = run_demo(home, people=PEOPLE, as_of=AS_OF)
    assert report.success
    assert snapshot() == before
    with _store(home) as store:
        raw = store.events()
        assert store.ingest_many(raw) == 0, "re-ingesting stored events adds nothing"
        assert store.events() == raw
    assert snapshot() == before


def test_cli_trace_tags_events(clean_home: tuple[Path, RunReport]) -> None:
    home, report = clean_home

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dagster_project.cli", *args, "--home", str(home)],
            capture_output=True,
            text=True,
            check=False,
        )

    trace = cli("trace", "care_packages.nhs_number", "--downstream")
    assert trace.returncode == 0, trace.stderr
    assert (
        "person.id.direct -> person.id.pseudonymous by rule keyed_hash_pseudonymises"
        in trace.stdout
    )
    assert "DSA-ASC-RES-03" in trace.stdout
    tags = cli("tags", "care_research_extract")
    assert tags.returncode == 0 and "person_key: person.id.pseudonymous" in tags.stdout
    events = cli("events", "--run", report.run_id)
    with _store(home) as store:
        assert events.stdout.splitlines() == [e.rstrip("\n") for e in store.events(report.run_id)]
    unknown = cli("trace", "care_pakages.nhs_number")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "care_packages" in unknown.stderr
    column = cli("trace", "care_packages.nhs_numbr")
    assert column.returncode == 2 and "nhs_number" in column.stderr


def test_cli_events_import_stores_another_producers_events_all_or_none(
    clean_home: tuple[Path, RunReport], tmp_path: Path
) -> None:
    home, _ = clean_home
    with _store(home) as store:
        raws = store.events()
    exported = tmp_path / "events.ndjson"
    exported.write_text("".join(r.rstrip("\n") + "\n" for r in raws))
    fresh = tmp_path / "fresh"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dagster_project.cli", "events", *args, "--home", str(fresh)],
            capture_output=True,
            text=True,
            check=False,
        )

    broken = tmp_path / "broken.ndjson"
    broken.write_text(exported.read_text() + '{"eventType": "COMPLETE"}\nnot json\n')
    refused = cli("import", str(broken))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"line {len(raws) + 1}" in refused.stderr and f"line {len(raws) + 2}" in refused.stderr
    assert not (fresh / "lineage.db").exists(), "nothing is imported from a file with a bad line"
    first = cli("import", str(exported))
    assert first.returncode == 0, first.stderr
    assert f"{len(raws)} new" in first.stdout
    again = cli("import", str(exported))
    assert again.returncode == 0 and "0 new" in again.stdout
    with _store(fresh) as store:
        assert sorted(store.events()) == sorted(raws)
