"""A flow partitioned by month, run for real: periods, reruns, halts, backfills, purges."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project import cli
from dagster_project.halts import HELD_BACK_PERIOD_TAG
from dagster_project.instance import dagster_home
from dagster_project.run import RunRefused, run_estate
from pipelines.estate import Estate, load_estate
from pipelines.store import sha256_of
from pipelines.yamlfile import DeclarationError

from .partitioned_estate import FLOW, write_estate, write_visits

MARCH = dt.date(2026, 3, 10)


def _folder(home: Path) -> Path:
    return home / "datasets" / "research" / "visit_extract"


def _periods(home: Path) -> dict[str, int]:
    return {p.stem: len(pd.read_parquet(p)) for p in sorted(_folder(home).glob("*.parquet"))}


@pytest.fixture
def estate(tmp_path: Path) -> Estate:
    return load_estate(write_estate(tmp_path / "estate"))


def test_each_period_is_published_alone_and_a_defect_holds_back_only_its_own(
    estate: Estate, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_visits(estate.root, {"2026-01": 5, "2026-02": 4})
    first = run_estate(estate, home, as_of=MARCH)
    assert first.success
    assert _periods(home) == {"2026-01": 5, "2026-02": 4}
    february = sha256_of(_folder(home) / "2026-02.parquet")

    write_visits(estate.root, {"2026-01": 7, "2026-02": 6}, bad="2026-02")
    again = run_estate(estate, home, as_of=MARCH)
    assert not again.success
    assert [(o.dataset, o.period) for o in again.halted] == [("visit_extract", "2026-02")]
    assert _periods(home) == {"2026-01": 7, "2026-02": 4}
    assert sha256_of(_folder(home) / "2026-02.parquet") == february

    with dg.DagsterInstance.from_config(str(dagster_home(home))) as inst:
        tagged = [r for r in inst.get_runs() if r.tags.get(HELD_BACK_PERIOD_TAG)]
        assert [r.tags[HELD_BACK_PERIOD_TAG] for r in tagged] == ["2026-02"]
        key = dg.AssetKey(["research", "visit_extract"])
        assert inst.get_materialized_partitions(key) == {"2026-01", "2026-02"}
        observed = inst.fetch_observations(key, limit=10).records
        held = [r.asset_observation for r in observed if r.asset_observation]
        assert [o.partition for o in held] == ["2026-02"]
        assert "quality_gate" in str(held[0].metadata["tagtrail/halting_checks"].value)
    assert len(again.run_ids) == 3  # the source once, then each period


def test_a_downstream_reader_gets_every_stored_period(estate: Estate, tmp_path: Path) -> None:
    from dagster_project.partition_store import read_partitions
    from pipelines.warehouse.stores import FileStore

    home = tmp_path / "home"
    visits = write_visits(estate.root, {"2026-01": 3, "2026-02": 2})
    run_estate(estate, home, as_of=MARCH)
    whole = read_partitions(FileStore(home), "research", "visit_extract")
    assert sorted(whole["visit_id"]) == sorted(visits["visit_id"])


def test_partition_and_backfill_run_only_the_periods_named(estate: Estate, tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_visits(estate.root, {"2026-01": 3, "2026-02": 2, "2026-03": 4})
    report = run_estate(
        estate, home, as_of=dt.date(2026, 4, 2), partition_range=("2026-01", "2026-02")
    )
    assert report.success
    assert _periods(home) == {"2026-01": 3, "2026-02": 2}
    again = run_estate(estate, home, as_of=dt.date(2026, 4, 2), partitions=["2026-03"])
    assert again.success
    assert _periods(home) == {"2026-01": 3, "2026-02": 2, "2026-03": 4}
    with pytest.raises(RunRefused):
        run_estate(estate, home, as_of=dt.date(2026, 4, 2), partitions=["2026-3"])
    with pytest.raises(RunRefused):
        run_estate(estate, home, as_of=dt.date(2026, 4, 2), partitions=["2026-09"])


def test_expired_periods_are_destroyed_and_audited(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    write_visits(estate.root, {"2026-01": 3, "2026-02": 2, "2026-09": 2})
    assert run_estate(estate, home, as_of=MARCH).success
    assert set(_periods(home)) == {"2026-01", "2026-02"}
    # P6M before 2026-09-15 is 2026-03-15: January and February have wholly expired.
    late = run_estate(estate, home, as_of=dt.date(2026, 9, 15))
    assert late.success
    assert set(_periods(home)) == {"2026-09"}
    capsys.readouterr()
    assert cli.main(["audit", "--home", str(home), "--json", "--since", "2000-01-01"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    destroyed = [r for r in records if r.get("kind") == "dataset_destroyed"]
    assert len(destroyed) == 2
    with pytest.raises(RunRefused):
        run_estate(estate, home, as_of=dt.date(2026, 9, 15), partitions=["2026-01"])


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ("{period: monthly, column: visit_day, start: 2026-01-01}", "column"),
        ("{period: monthly, column: clinic, start: 2026-01-01}", "column"),
        ("{period: weekly, column: visit_date, start: 2026-01-01}", "period"),
        ("{period: monthly, column: visit_date, start: soon}", "start"),
        ("{period: monthly, column: visit_date, begin: 2026-01-01}", "begin"),
    ],
)
def test_a_bad_partitions_block_names_file_line_and_field(
    tmp_path: Path, block: str, field: str
) -> None:
    flow = FLOW.replace(
        "partitions: {period: monthly, column: visit_date, start: 2026-01-01}",
        f"partitions: {block}",
    )
    root = write_estate(tmp_path / "estate", flow)
    with pytest.raises(DeclarationError) as exc:
        load_estate(root)
    problems = [p for p in exc.value.problems if "visit_extract.yaml" in p]
    assert problems
    assert all("line 15" in p for p in problems)
    assert any(f"partitions.{field}" in p for p in problems)


def test_a_period_run_records_its_period_in_spec_valid_events(
    estate: Estate, tmp_path: Path
) -> None:
    from lineage.store import default_url, open_store
    from lineage.validation import validate_event

    from ..openlineage_spec import require_spec

    home = tmp_path / "home"
    write_visits(estate.root, {"2026-02": 3})
    report = run_estate(estate, home, as_of=MARCH)
    assert report.success
    with open_store(default_url(home)) as store:
        events = [json.loads(raw) for raw in store.events(report.run_id)]
    nominal = [
        e["run"]["facets"]["nominalTime"] for e in events if "nominalTime" in e["run"]["facets"]
    ]
    assert {n["nominalStartTime"][:10] for n in nominal} == {"2026-02-01"}
    assert {n["nominalEndTime"][:10] for n in nominal} == {"2026-03-01"}
    assert {e["eventType"] for e in events} >= {"START", "COMPLETE"}
    spec = require_spec()
    for event in events:
        assert validate_event(event, spec) == []


def test_periods_in_the_warehouse_are_tables_swapped_in_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import secrets

    from psycopg import sql

    from dagster_project.partition_store import read_partitions, stored_keys
    from dagster_project.warehouse_io import DATASETS_URL_ENV
    from pipelines.warehouse.stores import TableStore
    from pipelines.warehouse.tables import Warehouse

    url = os.environ.get("TAGTRAIL_TEST_PG_URL")
    if not url:
        pytest.skip("warehouse partitions: set TAGTRAIL_TEST_PG_URL to a PostgreSQL URL to run")
    monkeypatch.setenv(DATASETS_URL_ENV, url)
    health, research = (f"tt_part_{secrets.token_hex(4)}" for _ in range(2))
    estate = load_estate(write_estate(tmp_path / "estate", health=health, research=research))
    home = tmp_path / "home"
    warehouse = Warehouse(url)
    store = TableStore(warehouse)
    try:
        write_visits(estate.root, {"2026-01": 5, "2026-02": 4})
        assert run_estate(estate, home, as_of=MARCH).success
        assert stored_keys(store, research, "visit_extract") == ["2026-01", "2026-02"]
        before = store.version(research, "visit_extract__2026_02")

        write_visits(estate.root, {"2026-01": 7, "2026-02": 6}, bad="2026-02")
        again = run_estate(estate, home, as_of=MARCH)
        assert [(o.dataset, o.period) for o in again.halted] == [("visit_extract", "2026-02")]
        assert store.rows(research, "visit_extract__2026_01") == 7
        assert store.version(research, "visit_extract__2026_02") == before
        assert len(read_partitions(store, research, "visit_extract")) == 11

        write_visits(estate.root, {"2026-01": 7, "2026-02": 6, "2026-09": 2})
        assert run_estate(estate, home, as_of=dt.date(2026, 9, 15)).success
        assert stored_keys(store, research, "visit_extract") == ["2026-09"]
    finally:
        with warehouse.connection() as conn:
            for schema in (health, research):
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
        warehouse.dispose()


def test_an_ended_agreement_disposes_of_every_period(estate: Estate, tmp_path: Path) -> None:
    from dagster_project.agreements import AGREEMENT_JOB
    from dagster_project.factory import build_definitions
    from dagster_project.lineage import LineageResource
    from dagster_project.resources import DatasetIOManager, TagtrailSettings
    from lineage.store import default_url, open_store

    home = tmp_path / "home"
    write_visits(estate.root, {"2026-01": 3, "2026-02": 2})
    assert run_estate(estate, home, as_of=MARCH).success
    ended = estate.agreements["DSA-VISITS-01"].end + dt.timedelta(days=1)
    defs = build_definitions(
        estate,
        resources={
            "settings": TagtrailSettings(home=str(home), as_of=ended.isoformat()),
            "io_manager": DatasetIOManager(home=str(home)),
            "lineage": LineageResource(home=str(home)),
        },
    )
    with dg.DagsterInstance.from_config(str(dagster_home(home))) as inst:
        result = defs.resolve_job_def(AGREEMENT_JOB).execute_in_process(instance=inst)
    assert result.success
    [check] = [
        e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] == "visit_extract"
    ]
    assert check.metadata["count/rows"].value == 5
    assert _periods(home) == {}
    with open_store(default_url(home)) as store:
        assert len(store.audit(dataset="visit_extract", kind="dataset_destroyed")) == 2


def test_the_cli_backfills_a_range_and_refuses_a_malformed_one(
    estate: Estate,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TAGTRAIL_HOME", str(home))  # the command sets both; restored after
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    write_visits(estate.root, {"2026-01": 3, "2026-02": 2, "2026-03": 1})
    common = ["run", "--estate", str(estate.root), "--home", str(home), "--as-of", "2026-04-02"]
    assert cli.main([*common, "--partitions", "2026-02:2026-03"]) == 0
    assert _periods(home) == {"2026-02": 2, "2026-03": 1}
    assert "visit_extract[2026-03]" in capsys.readouterr().out
    assert cli.main([*common, "--partitions", "2026-02"]) == 2
    with pytest.raises(SystemExit) as refused:
        cli.main([*common, "--partition", "2026-02-01"])
    assert refused.value.code == 2
    assert _periods(home) == {"2026-02": 2, "2026-03": 1}


def test_periods_an_earlier_stage_kept_from_running_are_reported_and_audited(
    estate: Estate, tmp_path: Path
) -> None:
    """The source is held back: the partitioned flow never gets a run of its own, yet the summary
    lists it as not run and the store holds its flow_skipped record, naming the halted source
    and the run that halted it."""
    from lineage.store import open_store
    from lineage.store.connect import configured_url

    home = tmp_path / "home"
    frame = write_visits(estate.root, {"2026-01": 5, "2026-02": 4})
    frame.loc[0, "visit_id"] = None  # the source's own gate requires every visit_id
    frame.to_csv(estate.root / "sample_data" / "clinic" / "visits.csv", index=False)
    report = run_estate(estate, home, as_of=MARCH)
    assert not report.success
    status = {o.dataset: o.status for o in report.outcomes}
    assert status == {"visits": "held back", "visit_extract": "not run"}
    assert len(report.run_ids) == 1  # no period ran
    with open_store(configured_url(home)) as store:
        skipped = store.audit(kind="flow_skipped")
    assert [r.dataset for r in skipped] == ["visit_extract"]
    assert skipped[0].details["skippedBecause"] == [{"dataset": "visits", "status": "held back"}]
    assert skipped[0].dagster_run_id == report.run_ids[0]
