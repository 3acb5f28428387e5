"""Staging a source inside the warehouse: the SQL casts read (and fail to read) exactly what
pandas' ``conform`` does, keys are capped, and the staged table is a normal staged version.

Needs TAGTRAIL_TEST_PG_URL (see the conftest); every schema is random and dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from psycopg import sql

from pipelines.extracts import conform
from pipelines.model import Column, ColumnType, Dataset
from pipelines.warehouse import Warehouse, sha256_of_frame
from pipelines.warehouse.hidden import hidden_tables
from pipelines.warehouse.load import (
    IDENTITY,
    identify,
    source_types,
    stage_query,
    unsupported,
)

# (source SQL type, declared type, values): awkward values included
CASES: list[tuple[str, ColumnType, list[Any]]] = [
    (
        "text",
        ColumnType.INTEGER,
        [" 12 ", "1e3", "1.0", "1.5", "+3", ".5", "5.", "x", "", "nan", None, "0x1a", "1_000"],
    ),
    (
        "text",
        ColumnType.FLOAT,
        ["inf", "-Infinity", "1.25", " 2 ", "nan", "", "abc", None, "1e400", "-1e-5"],
    ),
    ("text", ColumnType.BOOLEAN, ["TRUE", " n ", "yes", "1", "0", "1.0", "maybe", "", None, "F"]),
    (
        "text",
        ColumnType.DATE,
        [
            "2026-03-01",
            "2026-03-01T23:30:00-05:00",
            "01/02/2026",
            "2026-02-30",
            "soon",
            "",
            None,
            "1500-01-01",
        ],
    ),
    ("text", ColumnType.STRING, ["a", "", None, " b "]),
    ("bigint", ColumnType.INTEGER, [1, -5, None, 2**40]),
    ("bigint", ColumnType.BOOLEAN, [1, 0, 2, None]),
    ("bigint", ColumnType.STRING, [1, None, -7]),
    ("numeric", ColumnType.INTEGER, [Decimal("2.0"), Decimal("2.5"), Decimal("NaN"), None]),
    ("numeric", ColumnType.BOOLEAN, [Decimal("1"), Decimal("1.0"), Decimal("0"), None]),
    ("double precision", ColumnType.INTEGER, [2.0, 2.5, float("nan"), None, 1e17]),
    ("double precision", ColumnType.FLOAT, [2.5, float("nan"), None, -0.0]),
    ("double precision", ColumnType.BOOLEAN, [1.0, None]),
    ("boolean", ColumnType.STRING, [True, False, None]),
    ("boolean", ColumnType.INTEGER, [True, False, None]),
    ("date", ColumnType.DATE, [dt.date(2026, 3, 1), None, dt.date(1500, 1, 1)]),
    ("timestamp", ColumnType.DATE, [dt.datetime(2026, 3, 1, 23, 59), None]),
    (
        "timestamptz",
        ColumnType.DATE,
        [dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))],
    ),
]


def dataset(kind: ColumnType, name: str = "things") -> Dataset:
    return Dataset(
        name=name,
        description="test",
        primary_key=("id",),
        columns=(Column(name="id", type=ColumnType.INTEGER), Column(name="v", type=kind)),
    )


def make_source(warehouse: Warehouse, schema: str, sql_type: str, values: list[Any]) -> None:
    with warehouse.connection() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE {} (id bigint, v {})").format(
                sql.Identifier(schema, "src"), sql.SQL(sql_type)
            )
        )
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(sql.Identifier(schema, "src")),
                list(enumerate(values, start=1)),
            )


def pandas_of(warehouse: Warehouse, schema: str) -> pd.DataFrame:
    """The source as ``read_source`` reads it: Python objects."""
    with warehouse.connection() as conn:
        cur = conn.execute(sql.SQL("SELECT id, v FROM {}").format(sql.Identifier(schema, "src")))
        return pd.DataFrame(cur.fetchall(), columns=["id", "v"], dtype=object)


@pytest.mark.parametrize(("sql_type", "kind", "values"), CASES)
def test_sql_casts_read_what_pandas_reads(
    warehouse: Warehouse,
    department: Callable[[], str],
    sql_type: str,
    kind: ColumnType,
    values: list[Any],
) -> None:
    schema, ds = department(), dataset(kind)
    make_source(warehouse, schema, sql_type, values)
    relation = sql.Identifier(schema, "src")
    types = source_types(warehouse, relation)
    assert unsupported(ds, types) is None
    expected, conformance = conform(pandas_of(warehouse, schema), ds)
    loaded = stage_query(warehouse, schema, ds, relation, types, max_keys=3)
    with loaded.staged as staged:
        got = warehouse.read_table(staged.schema, staged.table)
        bad = {u.column: u for u in loaded.unreadable}
        assert set(bad) == set(conformance.failures)
        for column, rows in conformance.failures.items():
            assert bad[column].count == len(rows)
            assert [k["row_number"] for k in bad[column].keys] == [r + 1 for r in rows[:3]]
            assert [k["id"] for k in bad[column].keys] == [str(r + 1) for r in rows[:3]]
        pd.testing.assert_frame_equal(got, expected, check_exact=False)


def test_unsupported_pairs_are_named(warehouse: Warehouse, department: Callable[[], str]) -> None:
    schema = department()
    make_source(warehouse, schema, "timestamp", [dt.datetime(2026, 1, 1)])
    types = source_types(warehouse, sql.Identifier(schema, "src"))
    reason = unsupported(dataset(ColumnType.STRING), types)
    assert reason is not None and "v" in reason


def test_staged_version_is_an_ordinary_staged_table(
    warehouse: Warehouse, department: Callable[[], str]
) -> None:
    schema, ds = department(), dataset(ColumnType.STRING, "kept")
    make_source(warehouse, schema, "text", ["b", "a", None])
    relation = sql.Identifier(schema, "src")
    types = source_types(warehouse, relation)
    loaded = stage_query(warehouse, schema, ds, relation, types)
    with loaded.staged as staged:
        assert hidden_tables(warehouse, "staged", [schema]) == [(schema, staged.table)]
        digest = identify(staged, ds)
        assert warehouse.comment(schema, staged.table)["identity"] == IDENTITY  # type: ignore[index]
        staged.swap()
    assert warehouse.version(schema, "kept") == digest
    assert warehouse.rows(schema, "kept") == 3
    assert hidden_tables(warehouse, "staged", [schema]) == []
    frame = warehouse.read(schema, "kept")
    assert frame["v"].tolist()[:2] == ["b", "a"]
    assert digest != sha256_of_frame(frame)  # a different identity scheme (documented)
    again = stage_query(warehouse, schema, ds, relation, types)
    with again.staged as staged:
        assert identify(staged, ds) == digest  # same content, same identity
    assert hidden_tables(warehouse, "staged", [schema]) == []


def test_a_writer_gone_leaves_a_version_recovery_can_adopt(
    warehouse: Warehouse, department: Callable[[], str]
) -> None:
    schema, ds = department(), dataset(ColumnType.FLOAT, "left")
    make_source(warehouse, schema, "text", ["1.5", "x", None])
    relation = sql.Identifier(schema, "src")
    loaded = stage_query(warehouse, schema, ds, relation, source_types(warehouse, relation))
    digest = identify(loaded.staged, ds)
    assert [(u.column, u.count) for u in loaded.unreadable] == [("v", 1)]
    table = loaded.staged.table
    assert loaded.staged._conn is not None
    loaded.staged._conn.close()  # the writer is gone: its lock is free, its table stays
    adopted = warehouse.adopt(schema, table, "left")
    assert adopted is not None
    with adopted:
        assert adopted.sha256 == digest and adopted.rows == 3 and adopted.whole()
    assert hidden_tables(warehouse, "staged", [schema]) == []
