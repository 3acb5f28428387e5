"""A PostgreSQL source published to the warehouse in the same database is staged, validated and
published inside it: same rows, verdicts and keys as the pandas path, no rows in Python.

Needs PostgreSQL: set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
(every test makes a random database and drops it afterwards).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from dagster_project import assets as assets_module
from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
from dagster_project.indb_source import VALIDATED_IN
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, TagtrailSettings
from dagster_project.warehouse_io import DATASETS_URL_ENV, WarehouseIOManager
from lineage.validation import validate_event
from pipelines.estate import Estate, load_estate
from pipelines.manifest import MANIFEST
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path, read_dataset
from pipelines.warehouse import Warehouse
from pipelines.warehouse.hidden import hidden_tables

from ..openlineage_spec import HAVE_SPEC, SPEC_DIR
from .runs import events

PG_ENV = "TAGTRAIL_TEST_PG_URL"
SOURCE_ENV = "CLINIC_DB_URL"
SAMPLE = "sample_data/health/referrals.csv"
SOURCE = "referrals"
OUTPUT = "referrals_by_area"


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new database holding the source and the warehouse (its URL), dropped afterwards."""
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(
            f"needs PostgreSQL: set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    base = make_url(server).set(drivername="postgresql+psycopg")
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"tt_indb_{secrets.token_hex(5)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = base.set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv(DATASETS_URL_ENV, url)
    monkeypatch.setenv(SOURCE_ENV, url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def make_estate(root: Path, query: str | None = None) -> Estate:
    """The scaffold estate with ``referrals`` read from the table ``clinic.referrals`` (or by
    ``query``)."""
    init_estate(root)
    path = root / MANIFEST
    where = f"query: '{query}'" if query else f"schema: clinic, table: {SOURCE}"
    table = f"{{sql: {{url_env: {SOURCE_ENV}, {where}}}}}"
    text = re.sub(r"(?m)^  referrals: \{file: .*\}$", f"  referrals: {table}", path.read_text())
    path.write_text(text)
    return load_estate(root)


def sample(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / SAMPLE, dtype=str, keep_default_na=False).replace({"": None})


def load_source(url: str, frame: pd.DataFrame) -> None:
    """``clinic.referrals`` as text columns holding ``frame``."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS clinic")
        conn.execute("DROP TABLE IF EXISTS clinic.referrals")
        columns = ", ".join(f'"{c}" text' for c in frame.columns)
        conn.execute(f"CREATE TABLE clinic.referrals ({columns})")
        with conn.cursor().copy("COPY clinic.referrals FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row(tuple(row))


def run(estate: Estate, home: Path, io_manager: Any) -> dict[str, Any]:
    """Run every dataset; what a steward sees of it."""
    defs = build_definitions(
        estate,
        resources={
            "settings": TagtrailSettings(home=str(home), as_of="2026-11-01"),
            "io_manager": io_manager,
            "lineage": LineageResource(home=str(home)),
        },
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(ALL_FLOWS_JOB).execute_in_process(
            instance=instance, raise_on_error=False
        )
        checks = {
            (e.asset_key.path[-1], e.check_name): (
                e.passed,
                {k: v.value for k, v in e.metadata.items() if k != "suite"},
            )
            for e in result.get_asset_check_evaluations()
        }
        stored = {}
        for event in result.get_asset_materialization_events():
            m = event.step_materialization_data.materialization
            stored[m.asset_key.path[-1]] = {k: v.value for k, v in m.metadata.items()}
    return {"run_id": result.run_id, "checks": checks, "stored": stored}


def complete_event(home: Path, run_id: str, dataset: str, kind: str = "COMPLETE") -> dict[str, Any]:
    found = [
        e
        for e in events(home, run_id)
        if e["eventType"] == kind and e["job"]["name"].endswith(dataset)
    ]
    assert len(found) == 1
    event: dict[str, Any] = found[0]
    return event


def test_in_database_publishes_what_pandas_publishes(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = make_estate(tmp_path / "estate")
    load_source(database, sample(tmp_path / "estate"))
    by_files = run(estate, tmp_path / "files", DatasetIOManager(home=str(tmp_path / "files")))
    assert by_files["stored"][SOURCE][VALIDATED_IN] == "pandas"

    refuse = "the pandas source reader was called"
    monkeypatch.setattr(assets_module, "read_source", lambda *a, **k: pytest.fail(refuse))
    monkeypatch.setattr(assets_module, "conform", lambda *a, **k: pytest.fail(refuse))
    home = tmp_path / "warehouse"
    in_db = run(estate, home, WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)))
    assert in_db["stored"][SOURCE][VALIDATED_IN] == "database"

    warehouse = Warehouse(database)
    try:
        for department, dataset in (("health", SOURCE), ("public_reporting", OUTPUT)):
            published = warehouse.read(department, dataset)
            expected = read_dataset(dataset_path(tmp_path / "files", department, dataset))
            pd.testing.assert_frame_equal(published, expected)
            rows = in_db["stored"][dataset]["dagster/row_count"]
            assert rows == by_files["stored"][dataset]["dagster/row_count"] == len(expected)
        assert in_db["checks"] == by_files["checks"]
        assert all(passed for passed, _ in in_db["checks"].values())
        assert hidden_tables(warehouse, "staged") == []
        version = warehouse.version("health", SOURCE)
    finally:
        warehouse.dispose()
    done = complete_event(home, in_db["run_id"], SOURCE)
    pandas_done = complete_event(tmp_path / "files", by_files["run_id"], SOURCE)
    assert sorted(done["run"]["facets"]) == sorted(pandas_done["run"]["facets"])
    assert sorted(done["outputs"][0]["facets"]) == sorted(pandas_done["outputs"][0]["facets"])
    assert done["outputs"][0]["facets"]["version"]["datasetVersion"] == version
    stats = "outputStatistics"
    assert (
        done["outputs"][0]["outputFacets"][stats]
        == pandas_done["outputs"][0]["outputFacets"][stats]
    )
    if HAVE_SPEC:
        assert validate_event(done, SPEC_DIR) == []


def defective(frame: pd.DataFrame) -> pd.DataFrame:
    """Two unreadable birth dates and 25 services outside the suite's set."""
    bad = frame.copy()
    bad.loc[[3, 7], "date_of_birth"] = "not a date"
    bad.loc[list(range(10, 35)), "service"] = "dentistry"
    return bad


def test_a_defective_source_halts_with_the_pandas_verdict(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = make_estate(tmp_path / "estate")
    good = sample(tmp_path / "estate")
    load_source(database, good)
    home = tmp_path / "warehouse"
    first = run(estate, home, WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)))
    assert first["stored"][SOURCE][VALIDATED_IN] == "database"
    warehouse = Warehouse(database)
    try:
        version = warehouse.version("health", SOURCE)
        load_source(database, defective(good))
        by_files = run(estate, tmp_path / "files", DatasetIOManager(home=str(tmp_path / "files")))
        monkeypatch.setattr(assets_module, "read_source", lambda *a, **k: pytest.fail("pandas"))
        halted = run(estate, home, WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)))
        assert SOURCE not in halted["stored"] and SOURCE not in by_files["stored"]
        gate = halted["checks"][(SOURCE, "quality_gate")]
        assert gate == by_files["checks"][(SOURCE, "quality_gate")]
        assert gate[0] is False
        failed = {f["expectation"]: f for f in gate[1]["failing_row_keys"]}
        assert failed["tagtrail_declared_type"]["failing_rows"] == 2
        assert [k["row_number"] for k in failed["tagtrail_declared_type"]["primary_keys"]] == [4, 8]
        assert failed["expect_column_values_to_be_in_set"]["failing_rows"] == 25
        assert failed["expect_column_values_to_be_in_set"]["keys_shown"] == 20
        assert warehouse.version("health", SOURCE) == version
        assert warehouse.rows("health", SOURCE) == len(good)
        assert hidden_tables(warehouse, "staged") == []
    finally:
        warehouse.dispose()
    complete_event(home, halted["run_id"], SOURCE, "FAIL")
    assert "dentistry" not in str(gate) and "not a date" not in str(gate)


def test_a_query_source_is_validated_in_the_database(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = "referral_id, nhs_number, date_of_birth, postcode, referral_date, service"
    estate = make_estate(tmp_path / "estate", f"SELECT {columns} FROM clinic.referrals")
    load_source(database, sample(tmp_path / "estate"))
    monkeypatch.setattr(assets_module, "read_source", lambda *a, **k: pytest.fail("pandas"))
    home = tmp_path / "warehouse"
    done = run(estate, home, WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)))
    assert done["stored"][SOURCE][VALIDATED_IN] == "database"
    assert done["stored"][SOURCE]["dagster/row_count"] == len(sample(tmp_path / "estate"))

    extra = make_estate(tmp_path / "extra", f"SELECT {columns}, 1 AS spare FROM clinic.referrals")
    halted = run(extra, home, WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)))
    passed, metadata = halted["checks"][(SOURCE, "quality_gate")]
    assert not passed and SOURCE not in halted["stored"]
    assert [f["expectation"] for f in metadata["failing_row_keys"]] == ["tagtrail_declared_columns"]
    warehouse = Warehouse(database)
    try:
        assert hidden_tables(warehouse, "staged") == []
        assert warehouse.rows("health", SOURCE) == len(sample(tmp_path / "estate"))
    finally:
        warehouse.dispose()


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import dagster as dg
    from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
    from dagster_project.lineage import LineageResource
    from dagster_project.resources import TagtrailSettings
    from dagster_project.warehouse_io import DATASETS_URL_ENV, WarehouseIOManager
    from pipelines.estate import load_estate

    estate, home = load_estate(Path(sys.argv[1])), sys.argv[2]
    defs = build_definitions(estate, resources={
        "settings": TagtrailSettings(home=home, as_of="2026-11-01"),
        "io_manager": WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)),
        "lineage": LineageResource(home=home),
    })
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(ALL_FLOWS_JOB).execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(["health", "referrals"])]
        )
    assert result.success
    [event] = result.get_asset_materialization_events()
    print(event.step_materialization_data.materialization.metadata["tagtrail/validated_in"].value)
    """
)


# the child sees only the variables this test set (others' leftovers could change its path)
HERMETIC = {"PATH", "HOME", "LANG", "TMPDIR", SOURCE_ENV, DATASETS_URL_ENV}
KEEP = ("LC_", "PYTHON")


def test_a_generated_source_table_is_published_without_leaving_the_database(
    database: str, tmp_path: Path
) -> None:
    root = tmp_path / "estate"
    estate = make_estate(root)
    load_source(database, sample(root))
    rows = 50_000  # peak memory at 1M rows and more is benchmarks/indb_source.py's figure
    conninfo = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("ALTER TABLE clinic.referrals RENAME TO seed")
        conn.execute(
            "CREATE TABLE clinic.referrals AS SELECT 'REF' || lpad(g::text, 8, '0') AS referral_id, "
            "s.nhs_number, s.date_of_birth, s.postcode, s.referral_date, s.service "
            "FROM generate_series(1, %s) AS g "
            "JOIN (SELECT row_number() OVER () - 1 AS k, * FROM clinic.seed) AS s "
            "ON s.k = g %% (SELECT count(*) FROM clinic.seed)",
            (rows,),
        )
    assert estate.sources[SOURCE].sql is not None
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if k in HERMETIC or k.startswith(KEEP)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    path = done.stdout.strip().splitlines()[-1]
    assert path == "database", "the source took the pandas path"
    warehouse = Warehouse(database)
    try:
        assert warehouse.rows("health", SOURCE) == rows
    finally:
        warehouse.dispose()


def test_a_source_in_another_database_takes_the_pandas_path(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = make_estate(tmp_path / "estate")
    url = make_url(database)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    other = f"{url.database}_src"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    try:
        source = url.set(database=other).render_as_string(hide_password=False)
        load_source(source, sample(tmp_path / "estate"))
        monkeypatch.setenv(SOURCE_ENV, source)
        home = tmp_path / "warehouse"
        done = run(estate, home, WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other))
            )
    assert done["stored"][SOURCE][VALIDATED_IN] == "pandas"
    warehouse = Warehouse(database)
    try:
        assert warehouse.rows("health", SOURCE) == len(sample(tmp_path / "estate"))
    finally:
        warehouse.dispose()
