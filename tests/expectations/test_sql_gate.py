"""The in-database gate gives the pandas gate's verdicts, counts and failing keys.

Every dataset of the demo estate (its five sources and the five flow outputs, computed by the
flows' own transforms) is loaded into a scratch PostgreSQL schema with its declared column types,
once clean and once with a few defective rows for every expectation of its suite (plus the
primary-key rules the declaration implies), and both gates must return the same result.
Needs TAGTRAIL_TEST_PG_URL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dagster_project.gate import with_contract
from expectations import GateResult, Suite, SuiteError, is_valid_nhs_number, run_gate
from expectations.sql_gate import SqlGateError, run_sql_gate
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.generate import SOURCES, population
from pipelines.estate import Estate, load_estate
from pipelines.extracts import conform
from pipelines.model import ColumnType, Dataset
from pipelines.taxonomy import is_personal
from pipelines.transform import TransformContext

PG_SKIP = (
    "set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run the "
    "in-database gate tests"
)
AS_OF = dt.date(2026, 11, 1)
FLOWS = (
    "discharge_notifications",
    "households_at_risk",
    "care_research_extract",
    "admissions_research_extract",
    "care_statistics",
)
SQL_TYPES: dict[ColumnType, Any] = {
    ColumnType.STRING: sa.Text,
    ColumnType.INTEGER: sa.BigInteger,
    ColumnType.FLOAT: sa.Float,
    ColumnType.BOOLEAN: sa.Boolean,
    ColumnType.DATE: sa.Date,
}


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


@pytest.fixture(scope="module")
def frames(estate: Estate) -> dict[str, pd.DataFrame]:
    """Every demo dataset, conformed to its declaration: sources generated, outputs transformed."""
    pop = population(3000, 11, AS_OF)
    out: dict[str, pd.DataFrame] = {}
    for i, ((_, name), make) in enumerate(SOURCES.items()):
        out[name] = conform(make(pop, np.random.default_rng([11, i])), estate.datasets[name])[0]
    for name in FLOWS:
        flow = estate.flows[name]
        agreement = estate.agreements[flow.agreement]
        ctx = TransformContext(
            flow=name,
            as_of=AS_OF,
            min_cell_count=agreement.disclosure.min_cell_count,
            k_anonymity=agreement.disclosure.k_anonymity,
            k_rule=flow.disclosure.k_anonymity if flow.disclosure else None,
            _key=b"sql-gate-test-key-not-secret-012",
        )
        given = {d: out[d] for d in flow.transform_inputs}
        out[name] = conform(estate.transforms[name](ctx, **given), estate.datasets[name])[0]
    return out


@pytest.fixture(scope="module")
def pg() -> Iterator[tuple[sa.Engine, str]]:
    """A scratch schema on the test server, dropped afterwards."""
    url = os.environ.get("TAGTRAIL_TEST_PG_URL")
    if not url:
        pytest.skip(PG_SKIP)
    engine = sa.create_engine(url)
    schema = f"tt_gate_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield engine, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def load(engine: sa.Engine, schema: str, table: str, ds: Dataset, frame: pd.DataFrame) -> None:
    """Write ``frame`` as ``schema.table`` with the declared column types, in frame order."""
    types = {c.name: SQL_TYPES[c.type] for c in ds.columns}
    with engine.begin() as conn:
        frame.to_sql(table, conn, schema=schema, index=False, dtype=types, if_exists="replace")


def both_gates(
    engine: sa.Engine, schema: str, table: str, ds: Dataset, frame: pd.DataFrame, suite: Suite
) -> tuple[GateResult, GateResult]:
    load(engine, schema, table, ds, frame)
    tagged = [c.name for c in ds.columns if any(is_personal(t) for t in c.tags)]
    args: dict[str, Any] = {"primary_key": ds.primary_key, "tagged_columns": tagged}
    return run_gate(frame, suite, **args), run_sql_gate(engine, schema, table, suite, **args)


def assert_same(sql_result: GateResult, pandas_result: GateResult, name: str) -> None:
    """Equal results; on a difference, show the first outcome that differs."""
    got, want = sql_result.to_dict(), pandas_result.to_dict()
    for g, w in zip(got.pop("outcomes"), want.pop("outcomes"), strict=True):
        assert g == w, name
    assert got == want, name


def break_rows(frame: pd.DataFrame, suite: Suite, seed: int, per_rule: int = 3) -> pd.DataFrame:
    """``frame`` with ``per_rule`` rows broken for every row-level expectation of ``suite``."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    free = list(rng.permutation(len(out)))
    for exp in suite.expectations:
        kind, kw = exp["type"], exp["kwargs"]
        rows = [free.pop() for _ in range(min(per_rule, len(free) - 1))]
        for row in rows:
            _break(out, row, kind, kw)
    return out


def _break(out: pd.DataFrame, row: int, kind: str, kw: dict[str, Any]) -> None:
    col = kw.get("column")
    if kind == "expect_column_values_to_not_be_null":
        out.loc[row, col] = None
    elif kind == "expect_column_values_to_be_valid_nhs_numbers":
        value = str(out.loc[row, col])
        bad = next(value[:9] + d for d in "0123456789" if not is_valid_nhs_number(value[:9] + d))
        out.loc[row, col] = bad
    elif kind == "expect_column_values_to_be_in_set":
        out.loc[row, col] = f"zz-{col}-not-in-set"
    elif kind == "expect_column_values_to_match_regex":
        out.loc[row, col] = f"zz-{col}-no-match"
    elif kind == "expect_column_values_to_not_match_regex":
        out.loc[row, col] = " N/A "
    elif kind == "expect_column_values_to_be_unique":
        out.loc[row, col] = out.loc[(row + 1) % len(out), col]
    elif kind == "expect_compound_columns_to_be_unique":
        other = (row + 1) % len(out)
        for c in kw["column_list"]:
            out.loc[row, c] = out.loc[other, c]
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        b = out.loc[row, kw["column_B"]]
        if pd.isna(b):
            b = pd.Timestamp(AS_OF)
            out.loc[row, kw["column_B"]] = b
        out.loc[row, kw["column_A"]] = b - pd.Timedelta(days=1)
    elif kind == "expect_column_values_to_be_between":
        high: Any = kw.get("max_value")
        out.loc[row, col] = high + 1 if high is not None else kw["min_value"] - 1


def test_every_demo_suite_gives_the_same_result_clean(
    estate: Estate, frames: dict[str, pd.DataFrame], pg: tuple[sa.Engine, str]
) -> None:
    engine, schema = pg
    assert len(frames) == len(estate.suites) == 10
    for name, frame in frames.items():
        ds = estate.datasets[name]
        suite = with_contract(estate.suites[name], ds)
        pandas_result, sql_result = both_gates(engine, schema, name, ds, frame, suite)
        assert_same(sql_result, pandas_result, name)
        assert sql_result.passed, name
        assert sql_result.row_count == len(frame) > 0


def test_every_demo_suite_gives_the_same_failures_and_keys(
    estate: Estate, frames: dict[str, pd.DataFrame], pg: tuple[sa.Engine, str]
) -> None:
    engine, schema = pg
    for i, (name, frame) in enumerate(frames.items()):
        ds = estate.datasets[name]
        suite = with_contract(estate.suites[name], ds)
        broken = break_rows(frame, suite, seed=i)
        pandas_result, sql_result = both_gates(engine, schema, f"{name}_broken", ds, broken, suite)
        assert_same(sql_result, pandas_result, name)
        assert not sql_result.passed, name
        failed = [o for o in sql_result.outcomes if not o.success]
        assert failed and all(o.exception is None for o in sql_result.outcomes), name
        assert all(o.failing_keys for o in failed if o.unexpected_count), name
        shown = json.dumps(sql_result.to_dict())
        tagged = [c.name for c in ds.columns if any(is_personal(t) for t in c.tags)]
        raw = {str(v) for c in tagged for v in broken[c].dropna() if len(str(v)) >= 6}
        assert not [v for v in raw if v in shown], name


def test_failing_keys_are_capped_like_the_pandas_gate(
    estate: Estate, frames: dict[str, pd.DataFrame], pg: tuple[sa.Engine, str]
) -> None:
    engine, schema = pg
    ds = estate.datasets["inpatient_episodes"]
    suite = with_contract(estate.suites["inpatient_episodes"], ds)
    frame = frames["inpatient_episodes"].copy()
    frame.loc[frame.index[5:35], "nhs_number"] = "9990000001"  # check digit wrong, 30 rows
    pandas_result, sql_result = both_gates(engine, schema, "capped", ds, frame, suite)
    assert_same(sql_result, pandas_result, "inpatient_episodes")
    nhs = next(o for o in sql_result.outcomes if o.expectation_type.endswith("valid_nhs_numbers"))
    assert (nhs.unexpected_count, len(nhs.failing_keys)) == (30, 20)
    assert [k["episode_id"] for k in nhs.failing_keys] == list(frame["episode_id"][5:25])
    tagged = [c.name for c in ds.columns if any(is_personal(t) for t in c.tags)]
    args: dict[str, Any] = {"primary_key": ds.primary_key, "tagged_columns": tagged}
    keyless = run_sql_gate(engine, schema, "capped", suite, max_failing_keys=0, **args)
    assert_same(keyless, run_gate(frame, suite, max_failing_keys=0, **args), "no keys")
    assert not any(o.failing_keys for o in keyless.outcomes)


def test_nhs_check_digit_in_sql_agrees_with_python(pg: tuple[sa.Engine, str]) -> None:
    from expectations.sql_nhs import nhs_valid_sql

    engine, _ = pg
    rng = np.random.default_rng(3)
    values: list[str | None] = [str(v).zfill(10) for v in rng.integers(0, 10**10, size=3000)]
    values += ["943 476 5919", "9434765919", "94347659190", "943476591", "", "abcdefghij"]
    values += ["٩٤٣٤٧٦٥٩١٩", "9434765919\n", None]  # Arabic-Indic digits; a trailing newline
    column = sa.column("v", sa.Text)
    rows = sa.values(column, name="t").data([(v,) for v in values])
    query = sa.select(rows.c.v, nhs_valid_sql(rows.c.v))
    with engine.connect() as conn:
        got = {v: ok for v, ok in conn.execute(query)}
    for value in values:
        expected = None if value is None else is_valid_nhs_number(value)
        assert got[value] is expected, value
    assert any(got.values())


def test_a_missing_table_or_key_is_named(estate: Estate, pg: tuple[sa.Engine, str]) -> None:
    engine, schema = pg
    suite = estate.suites["tenancies"]
    with pytest.raises(SqlGateError, match=rf"{schema}\.no_such_table"):
        run_sql_gate(engine, schema, "no_such_table", suite, primary_key=["tenancy_id"])
    ds = estate.datasets["tenancies"]
    load(engine, schema, "keyless", ds, pd.DataFrame({c.name: [] for c in ds.columns}))
    with pytest.raises(SqlGateError, match="record_id"):
        run_sql_gate(engine, schema, "keyless", suite, primary_key=["record_id"])
    with pytest.raises(ValueError, match="tagged"):
        run_sql_gate(
            engine,
            schema,
            "keyless",
            suite,
            primary_key=["uprn"],
            tagged_columns=["uprn"],
        )


@pytest.mark.parametrize(
    "extra",
    [{}, {"ignore_row_if": "any_value_is_missing"}, {"ignore_row_if": "never"}, {"mostly": 0.5}],
)
def test_compound_uniqueness_counts_nulls_as_pandas_does(
    pg: tuple[sa.Engine, str], extra: dict[str, Any]
) -> None:
    engine, schema = pg
    rule = {"column_list": ["a", "b"]} | extra
    suite = Suite(
        name="compound",
        path=DEMO_ESTATE / "compound.json",
        sha256="0" * 64,
        expectations=(
            {
                "type": "expect_compound_columns_to_be_unique",
                "kwargs": rule,
                "severity": "critical",
            },
        ),
    )
    frame = pd.DataFrame(
        {
            "k": [f"K{i}" for i in range(9)],
            "a": ["x", "x", "y", None, None, "z", None, None, "w"],
            "b": ["p", "p", "q", "r", "r", None, None, None, "v"],
        }
    )
    table = f"compound_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        frame.to_sql(table, conn, schema=schema, index=False)
    sql_result = run_sql_gate(engine, schema, table, suite, primary_key=["k"])
    assert_same(sql_result, run_gate(frame, suite, primary_key=["k"]), str(extra))


def test_a_suite_the_database_cannot_run_is_refused(pg: tuple[sa.Engine, str]) -> None:
    engine, schema = pg
    suite = Suite(
        name="ordered",
        path=DEMO_ESTATE / "ordered.json",
        sha256="0" * 64,
        expectations=(
            {
                "type": "expect_column_values_to_be_increasing",
                "kwargs": {"column": "k"},
                "severity": "critical",
            },
        ),
    )
    with pytest.raises(SuiteError, match=r"expectations\[0\].*no row order"):
        run_sql_gate(engine, schema, "anything", suite, primary_key=["k"])
