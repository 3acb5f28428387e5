"""Validation inside PostgreSQL: the quality gate and privacy controls on a 10M-row table.

Creates (or reuses, when its marker says it holds the right rows) ``tagtrail_bench.care_packages``,
shaped like the demo's ``social_care.care_packages`` (valid NHS numbers of the 999 test range, ten
with a wrong check digit, several packages a person), and an opt-out register of 5% of its people.
The rows are made by the server from ``generate_series``: this process never holds them.

Then, each in a fresh process whose own ``getrusage(RUSAGE_SELF).ru_maxrss`` is its peak:

- **indb**: the dataset's suite, with the declared primary-key rules, through GX's SQL datasource
  (:func:`expectations.sql_gate.run_sql_gate`), and the SQL controls (opt-outs, k-anonymity with
  l-diversity over sex, postcode and ethnicity by person, retention);
- **pandas**: the same table (or its first ``--pandas-rows`` rows) read into pandas (``COPY`` to a
  file, read as a CSV source is: text, then conformed), the same suite through the pandas gate and the same
  controls as pandas functions.

    TAGTRAIL_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        python benchmarks/indb_gate.py [--rows N] [--pandas-rows N] [--timeout S]

The last line prints each path's rows, time (gate and controls, imports excluded) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import sqlalchemy as sa
from demo_growth import measure

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "tagtrail_bench"
TABLE = "care_packages"
REGISTER = "national_data_opt_out"
AS_OF = "2026-11-01"

SETUP = """
import dataclasses, datetime as dt, json, resource, sys, time
from types import SimpleNamespace
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.model import Disclosure, FlowDisclosure, KAnonymityRule
estate = load_estate(DEMO_ESTATE)
ds = estate.datasets["care_packages"]
suite = estate.suites["care_packages"]
implied = [  # the primary-key rules dagster_project.gate.with_contract adds
    {{"type": "expect_column_values_to_not_be_null", "kwargs": {{"column": "package_id"}}}},
    {{"type": "expect_column_values_to_not_match_regex",
     "kwargs": {{"column": "package_id", "regex": r"(?i)^\\s*(?:|nan|null|none|n/a)\\s*$"}}}},
    {{"type": "expect_column_values_to_be_unique", "kwargs": {{"column": "package_id"}}}},
]
suite = dataclasses.replace(
    suite, expectations=(*(e | {{"severity": "critical"}} for e in implied), *suite.expectations)
)
tagged = [c.name for c in ds.columns if c.tags]
rule = KAnonymityRule(quasi_identifiers=("sex", "postcode", "ethnicity"), unit="nhs_number",
                      sensitive="primary_support_reason", l_diversity=2)
flow = SimpleNamespace(name="care_packages", disclosure=FlowDisclosure(k_anonymity=rule))
agreement = SimpleNamespace(
    id="DSA-BENCH", disclosure=Disclosure(k_anonymity=5),
    retention=SimpleNamespace(date_column="start_date", period="P2Y", disposal="deletion"))
as_of = dt.date.fromisoformat({as_of!r})

def report(rows, started, gate, controls):
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
    print(json.dumps({{"rows": rows, "seconds": seconds, "peak_mb": peak, "gate_passed": gate.passed,
                      "failed": [o.expectation_type for o in gate.outcomes if not o.success],
                      "controls": {{r.control: r.passed for r in controls}}}}))
"""

INDB = """
import sqlalchemy as sa
from expectations.sql_gate import run_sql_gate
from pipelines.policy.sql_checks import (TableRef, check_disclosure_sql, check_opt_outs_sql,
    check_retention_sql, retention_purge_sql)
url = {url!r}
table, register = TableRef({schema!r}, {table!r}), TableRef({schema!r}, {register!r})
started = time.perf_counter()
gate = run_sql_gate(url, table.schema, table.name, suite, primary_key=ds.primary_key,
                    tagged_columns=tagged)
engine = sa.create_engine(url)
with engine.connect() as conn:
    optouts = check_opt_outs_sql(conn, table, ["package_id"], ["nhs_number"], register,
        "nhs_number", "nhs_number", register_primary_key=["opt_out_id"])
    disclosure = check_disclosure_sql(conn, table, flow, agreement)
    purge = retention_purge_sql(conn, table, agreement, ["package_id"], as_of)
    retention = check_retention_sql(conn, table, purge)
report(gate.row_count, started, gate, [optouts, disclosure, retention])
"""

PANDAS = """
import os, tempfile
import pandas as pd, psycopg, sqlalchemy as sa
from pathlib import Path
from expectations.gate import run_gate
from pipelines.delivery import read_csv
from pipelines.extracts import conform
from pipelines.policy.disclosure_check import check_disclosure
from pipelines.policy.linkage import People, Pseudonyms
from pipelines.policy.optout import Exclusion, OptedOut, check_opt_outs, register_version
from pipelines.policy.recognise import SCHEMES
from pipelines.policy.retention import apply_retention, check_retention

def read(query):
    dsn = sa.make_url({url!r}).set(drivername="postgresql").render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rows.csv")
        with psycopg.connect(dsn) as conn, open(path, "wb") as out:
            with conn.cursor().copy(f"COPY ({{query}}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for block in copy:
                    out.write(block)
        return read_csv(Path(path))

started = time.perf_counter()
frame = read("SELECT * FROM {schema}.{table} LIMIT {rows}")
register = read("SELECT * FROM {schema}.{register}")
typed, _ = conform(frame, ds)
del frame
for c in typed.columns:  # one Arrow chunk a column: recognise.search fails on chunked text
    if typed[c].dtype == "string":
        typed[c] = typed[c].astype(object).astype("string")
gate = run_gate(typed, suite, primary_key=ds.primary_key, tagged_columns=tagged)
opted = OptedOut(People.seed(register["nhs_number"].astype("string"), SCHEMES["nhs_number"]),
                 Pseudonyms.of(pd.DataFrame({{"form": [], "person": []}}), None))
version = register_version(register.astype("string"), ["opt_out_id"])
exclusion = Exclusion("{register}", version, opted.people.count, "nhs_number", 0, 0)
optouts = check_opt_outs(flow, typed, opted, exclusion, ["package_id"])
disclosure = check_disclosure(flow, agreement, typed)
kept, purge = apply_retention(typed, agreement, ["package_id"], as_of)
retention = check_retention(typed, purge)  # the table as stored, as the SQL check judges it
report(len(typed), started, gate, [optouts, disclosure, retention])
"""

PEOPLE = """
CREATE TEMP TABLE bench_people AS
WITH nine AS (SELECT 999000000::bigint + n AS v FROM generate_series(0, 999999) n),
checked AS (
  SELECT v, (11 - (((v / 100000000) % 10) * 10 + ((v / 10000000) % 10) * 9
    + ((v / 1000000) % 10) * 8 + ((v / 100000) % 10) * 7 + ((v / 10000) % 10) * 6
    + ((v / 1000) % 10) * 5 + ((v / 100) % 10) * 4 + ((v / 10) % 10) * 3 + (v % 10) * 2) % 11)
    % 11 AS c FROM nine)
SELECT (row_number() OVER (ORDER BY v)) - 1 AS id, (v * 10 + c)::text AS nhs_number
FROM checked WHERE c <> 10 AND v % 2 = 0
"""

ROWS = """
INSERT INTO {schema}.{table}
SELECT 'CP' || g,
  CASE WHEN g % 1000003 = 7 THEN left(p.nhs_number, 9) || ((right(p.nhs_number, 1)::int + 1) % 10)
       ELSE p.nhs_number END,
  'Person ' || p.id,
  date '1930-01-01' + (p.id * 7 % 25550)::int,
  CASE WHEN p.id % 200 = 0 THEN 'U' WHEN p.id % 2 = 0 THEN 'F' ELSE 'M' END,
  (ARRAY['TT1 1AB', 'TT2 3BD', 'TT3 5DE', 'TT4 7EF', 'TT5 9GH'])[1 + p.id % 5],
  (ARRAY['White', 'Asian', 'Black', 'Mixed', 'Other'])[1 + (p.id / 5) % 5],
  (ARRAY['physical_support', 'sensory_support', 'memory_and_cognition', 'learning_disability',
         'mental_health', 'social_support'])[1 + (p.id / 25) % 6],
  (ARRAY['home_care', 'residential_care', 'nursing_care', 'direct_payment', 'day_care'])[1 + g % 5],
  round((50 + (g * 37 % 145000) / 100.0)::numeric, 2)::float8,
  date '{as_of}' - (g * 13 % 1095)::int,
  CASE WHEN g % 3 = 0 THEN date '{as_of}' - (g * 13 % 1095)::int + 30 END
FROM generate_series(1::bigint, {rows}) g
JOIN bench_people p ON p.id = (g * 7919) % (SELECT count(*) FROM bench_people)
"""


def ensure_table(engine: sa.Engine, rows: int) -> bool:
    """Create the benchmark tables unless they already hold ``rows`` rows; True if created."""
    marker = f"tagtrail indb benchmark: {rows} rows, v1"
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT obj_description(to_regclass(:name), 'pg_class')"),
            {"name": f"{SCHEMA}.{TABLE}"},
        ).scalar_one_or_none()
    if found == marker:
        return False
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {SCHEMA}.{TABLE}, {SCHEMA}.{REGISTER}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {SCHEMA}.{TABLE} (package_id text, nhs_number text, "
                "person_name text, date_of_birth date, sex text, postcode text, ethnicity text, "
                "primary_support_reason text, service_type text, weekly_cost_gbp float8, "
                "start_date date, end_date date)"
            )
        )
        conn.execute(sa.text(PEOPLE))
        conn.execute(sa.text(ROWS.format(schema=SCHEMA, table=TABLE, rows=rows, as_of=AS_OF)))
        conn.execute(
            sa.text(
                f"CREATE TABLE {SCHEMA}.{REGISTER} AS SELECT 'OO' || id AS opt_out_id, "
                f"nhs_number, date '{AS_OF}' - (id % 1500)::int AS recorded_on "
                "FROM bench_people WHERE id % 20 = 3"
            )
        )
        conn.execute(sa.text(f"COMMENT ON TABLE {SCHEMA}.{TABLE} IS '{marker}'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {SCHEMA}.{TABLE}"))
        conn.execute(sa.text(f"VACUUM ANALYZE {SCHEMA}.{REGISTER}"))
    return True


def run(code: str, label: str, timeout: float) -> dict[str, Any]:
    """Run one path in a fresh process; its JSON report plus the process's wall time."""
    measured = measure([sys.executable, "-c", code], dict(os.environ), timeout)
    if measured.returncode != 0:
        raise SystemExit(f"the {label} path failed: {measured.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(measured.stdout.strip().splitlines()[-1])
    report["process_seconds"] = measured.seconds
    return report


def describe(label: str, r: dict[str, Any]) -> str:
    """One path's figures in a line."""
    verdict = "passed" if r["gate_passed"] else f"halted ({', '.join(r['failed'])})"
    controls = ", ".join(f"{k} {'passed' if v else 'failed'}" for k, v in r["controls"].items())
    return (
        f"{label}: {r['rows']:,} rows, gate and controls {r['seconds']:.1f} s "
        f"(process {r['process_seconds']:.1f} s), peak RSS {r['peak_mb']:,.0f} MB; "
        f"gate {verdict}; {controls}"
    )


def main() -> None:
    """Build or reuse the table, measure both paths, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--pandas-rows",
        type=int,
        default=None,
        help="rows for the pandas path (default: all of them, the same data; 10M needs ~8 GB)",
    )
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    url = os.environ.get("TAGTRAIL_BENCH_PG_URL", DEFAULT_URL)
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError:
        print(f"indb gate: skipped, no PostgreSQL answers at TAGTRAIL_BENCH_PG_URL ({url})")
        return
    if ensure_table(engine, args.rows):
        print(f"created {SCHEMA}.{TABLE} with {args.rows:,} rows", flush=True)
    engine.dispose()
    values = {"url": url, "schema": SCHEMA, "table": TABLE, "register": REGISTER}
    setup = SETUP.format(as_of=AS_OF)
    indb = run(setup + INDB.format(**values), "in-database", args.timeout)
    print(describe("indb", indb), flush=True)
    rows = min(args.pandas_rows or args.rows, args.rows)
    pandas = run(setup + PANDAS.format(rows=rows, **values), "pandas", args.timeout)
    print(describe("pandas", pandas), flush=True)
    print(
        f"indb {_size(indb['rows'])} rows: {indb['seconds']:.1f} s, peak RSS "
        f"{indb['peak_mb']:,.0f} MB | pandas {_size(pandas['rows'])} rows: "
        f"{pandas['seconds']:.1f} s, peak RSS {pandas['peak_mb']:,.0f} MB"
    )


def _size(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows:,}"


if __name__ == "__main__":
    main()
