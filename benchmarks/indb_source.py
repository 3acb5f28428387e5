"""A PostgreSQL source published by its Dagster asset: inside the database, beside pandas.

Builds a scratch database holding ``clinic.referrals`` (the scaffold estate's source, N rows made
by the server from ``generate_series``), then runs the ``referrals`` asset twice, each in a fresh
process whose ``getrusage(RUSAGE_SELF).ru_maxrss`` is its peak:

- **indb**: datasets published to the same database, so the source is staged, validated and
  swapped in there (``tagtrail/validated_in: database``);
- **pandas**: datasets published as Parquet files, so the rows are read, conformed and validated
  in pandas (``tagtrail/validated_in: pandas``).

    TAGTRAIL_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        python benchmarks/indb_source.py [--rows N]

The last line prints each path's time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from pipelines.manifest import MANIFEST
from pipelines.scaffold import init_estate

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SOURCE_ENV = "CLINIC_DB_URL"
CHILD = """
import json, resource, sys, time
from pathlib import Path
import dagster as dg
from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, TagtrailSettings
from dagster_project.warehouse_io import DATASETS_URL_ENV, WarehouseIOManager
from pipelines.estate import load_estate

estate, home, where = load_estate(Path(sys.argv[1])), sys.argv[2], sys.argv[3]
io = WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV)) if where == "indb" else (
    DatasetIOManager(home=home))
defs = build_definitions(estate, resources={
    "settings": TagtrailSettings(home=home, as_of="2026-11-01"),
    "io_manager": io,
    "lineage": LineageResource(home=home),
})
started = time.monotonic()
with dg.DagsterInstance.ephemeral() as instance:
    result = defs.resolve_job_def(ALL_FLOWS_JOB).execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(["health", "referrals"])]
    )
[event] = result.get_asset_materialization_events()
meta = event.step_materialization_data.materialization.metadata
print(json.dumps({
    "path": meta["tagtrail/validated_in"].value,
    "rows": meta["dagster/row_count"].value,
    "seconds": time.monotonic() - started,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _admin(url: str, database: str | None = None) -> str:
    target = make_url(url).set(drivername="postgresql")
    if database:
        target = target.set(database=database)
    return target.render_as_string(hide_password=False)


def build(url: str, database: str, root: Path, rows: int) -> Path:
    """The scaffold estate reading ``clinic.referrals`` of ``rows`` rows in ``database``."""
    estate = root / "estate"
    init_estate(estate)
    manifest = estate / MANIFEST
    table = f"{{sql: {{url_env: {SOURCE_ENV}, schema: clinic, table: referrals}}}}"
    manifest.write_text(
        re.sub(r"(?m)^  referrals: \{file: .*\}$", f"  referrals: {table}", manifest.read_text())
    )
    sample = (estate / "sample_data/health/referrals.csv").read_text().splitlines()
    with psycopg.connect(_admin(url, database), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA clinic")
        columns = sample[0].split(",")
        conn.execute(f"CREATE TABLE clinic.seed ({', '.join(f'{c} text' for c in columns)})")
        with conn.cursor().copy("COPY clinic.seed FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write("\n".join(sample[1:]) + "\n")
        others = ", ".join(f"s.{c}" for c in columns[1:])
        conn.execute(
            f"CREATE TABLE clinic.referrals AS SELECT 'REF' || lpad(g::text, 9, '0') AS "
            f"{columns[0]}, {others} FROM generate_series(1, %s) AS g "
            "JOIN (SELECT row_number() OVER () - 1 AS k, * FROM clinic.seed) AS s "
            "ON s.k = g %% (SELECT count(*) FROM clinic.seed)",
            (rows,),
        )
    return estate


def measure(estate: Path, home: Path, where: str, url: str) -> dict[str, float | str]:
    """One asset run in a fresh process, with only the variables it needs."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PYTHON")}
    env |= {SOURCE_ENV: url, "TAGTRAIL_DATASETS_URL": url}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(estate), str(home), where],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {where} run failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = time.monotonic() - started
    return figures


def main() -> None:
    """Build the source, run both paths, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("TAGTRAIL_BENCH_PG_URL", DEFAULT_URL)
    name = f"tagtrail_bench_src_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(_admin(url), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError:
        print(f"indb source: skipped, no PostgreSQL answers at TAGTRAIL_BENCH_PG_URL ({url})")
        return
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            estate = build(url, name, Path(tmp), args.rows)
            line = []
            for where in ("indb", "pandas"):
                got = measure(estate, Path(tmp) / f"home-{where}", where, scratch)
                print(f"{where}: {got}", flush=True)
                line.append(
                    f"{where} ({got['path']}) {int(got['rows']):,} rows: "
                    f"{float(got['seconds']):.1f} s, peak RSS {float(got['peak_mb']):,.0f} MB"
                )
    finally:
        with psycopg.connect(_admin(url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    print(" | ".join(line))


if __name__ == "__main__":
    main()
