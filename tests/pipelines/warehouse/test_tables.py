"""The PostgreSQL dataset warehouse: faithful round trips, atomic swaps, kept privileges.

Needs TAGTRAIL_TEST_PG_URL (see conftest.py); each test works in its own random schemas.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from pipelines.warehouse import (
    DatasetMissing,
    UnsupportedColumn,
    Warehouse,
    WarehouseNameError,
    sha256_of_frame,
)
from pipelines.warehouse.hidden import drop_stale, hidden_tables, stale_staging

Make = Callable[[], str]


def every_type() -> pd.DataFrame:
    """One column of each dtype the warehouse stores, each with a null where it can hold one."""
    return pd.DataFrame(
        {
            "int64": np.array([1, -2, 2**62], dtype="int64"),
            "int32": np.array([1, 2, -(2**31)], dtype="int32"),
            "int16": np.array([1, 2, 3], dtype="int16"),
            "nullable_int": pd.array([1, None, -(2**62)], dtype="Int64"),
            "float64": [0.1, np.nan, 1 / 3],
            "float32": np.array([0.1, 2.5, np.nan], dtype="float32"),
            "nullable_float": pd.array([0.1, None, -1e300], dtype="Float64"),
            "bool": [True, False, True],
            "nullable_bool": pd.array([True, None, False], dtype="boolean"),
            "string": pd.Series(["tab\there\\back\nline\rcr", None, "é ü 中"], dtype="string"),
            "str": pd.Series(["x", None, ""]),
            "object_text": pd.Series(["x", None, "\\N"], dtype=object),
            "date": pd.Series([dt.date(2020, 1, 1), None, dt.date(1999, 12, 31)], dtype=object),
            "date_ms": pd.Series(
                pd.to_datetime(["2020-01-01", None, "1970-01-01"], format="ISO8601")
            ).astype("datetime64[ms]"),
            "timestamp": pd.Series(
                pd.to_datetime(["2020-01-01 10:00:00.123456", None, "1900-01-01"], format="ISO8601")
            ),
            "timestamptz": pd.Series(
                pd.to_datetime(["2020-06-01 10:00:00.5", None, "1970-01-01"], format="ISO8601")
            ).dt.tz_localize("Europe/London"),
            "arrow_date": pd.Series(
                [dt.date(2020, 1, 1), None, dt.date(2001, 2, 3)], dtype=pd.ArrowDtype(pa.date32())
            ),
            "arrow_int": pd.Series([1, None, 3], dtype=pd.ArrowDtype(pa.int64())),
            "arrow_text": pd.Series(["a", None, "c"], dtype=pd.ArrowDtype(pa.string())),
            "decimal": pd.Series([Decimal("1.50"), None, Decimal("-3")], dtype=object),
        }
    )


def frame(rows: int, start: int = 0) -> pd.DataFrame:
    ids = np.arange(start, start + rows)
    return pd.DataFrame(
        {
            "id": pd.array(ids, dtype="Int64"),
            "name": pd.Series([f"n{i}" for i in ids], dtype="string"),
            "secret": pd.array(ids * 2, dtype="Int64"),
        }
    )


def count(warehouse: Warehouse, schema: str, table: str) -> int:
    with warehouse.connection() as conn:
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_every_dtype_reads_back_equal(warehouse: Warehouse, department: Make) -> None:
    dept, written = department(), every_type()
    warehouse.write(dept, "everything", written)
    pd.testing.assert_frame_equal(warehouse.read(dept, "everything"), written)
    assert warehouse.rows(dept, "everything") == 3
    assert warehouse.version(dept, "everything") == sha256_of_frame(written)
    empty = written.iloc[0:0].reset_index(drop=True)
    warehouse.write(dept, "nothing", empty)
    pd.testing.assert_frame_equal(warehouse.read(dept, "nothing"), empty)


def test_columns_rows_exists_drop(warehouse: Warehouse, department: Make) -> None:
    dept = department()
    assert not warehouse.exists(dept, "people")
    assert warehouse.rows(dept, "people") is None
    with pytest.raises(DatasetMissing):
        warehouse.read(dept, "people")
    warehouse.write(dept, "people", frame(5))
    assert warehouse.exists(dept, "people")
    assert warehouse.read(dept, "people", columns=["id"])["id"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(KeyError):
        warehouse.read(dept, "people", columns=["nope"])
    assert warehouse.drop(dept, "people")
    assert not warehouse.exists(dept, "people") and not warehouse.drop(dept, "people")


def test_bad_names_and_types_write_nothing(warehouse: Warehouse, department: Make) -> None:
    dept = department()
    with pytest.raises(WarehouseNameError, match="pg_"):
        warehouse.write("pg_catalog", "people", frame(1))
    with pytest.raises(WarehouseNameError):
        warehouse.write(dept, "People; DROP", frame(1))
    odd = pd.DataFrame({"id": [1], "wait": pd.to_timedelta([1], unit="s")})
    with pytest.raises(UnsupportedColumn, match="wait"):
        warehouse.write(dept, "people", odd)
    nanos = pd.DataFrame({"at": pd.to_datetime(["2020-01-01 00:00:00.000000001"])})
    with pytest.raises(UnsupportedColumn, match="at"):
        warehouse.write(dept, "people", nanos)
    assert not warehouse.exists(dept, "people")
    assert hidden_tables(warehouse, "staged", [dept]) == []


def test_reader_waiting_during_a_swap_sees_the_new_version_whole(
    warehouse: Warehouse, department: Make
) -> None:
    """A reader mid-read holds the old version; the swap waits for it, and a reader arriving
    meanwhile waits for the swap and then reads the new version, never an empty table."""
    dept = department()
    warehouse.write(dept, "people", frame(1000))
    staged = warehouse.stage(dept, "people", frame(1500, start=5000))
    table = sql.SQL("{}.{}").format(sql.Identifier(dept), sql.Identifier("people"))
    seen: dict[str, object] = {}
    with warehouse.connection() as holder:
        with holder.transaction():
            holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(table))
            swapper = threading.Thread(target=lambda: seen.update(lost=staged.swap()))
            swapper.start()
            _wait_for_lock_waits(warehouse, dept, 1)

            def read() -> None:
                try:
                    seen["read"] = warehouse.read(dept, "people", columns=["id"])["id"].min()
                    seen["rows"] = count(warehouse, dept, "people")
                except Exception as exc:  # the assertion below reports it
                    seen["error"] = exc

            reader = threading.Thread(target=read)
            reader.start()
            _wait_for_lock_waits(warehouse, dept, 2)
            row = holder.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
            assert row == (1000,)
            assert swapper.is_alive() and reader.is_alive()
        swapper.join(20)
        reader.join(20)
    staged.close()
    assert "error" not in seen
    assert seen["read"] == 5000 and seen["rows"] == 1500


def _wait_for_lock_waits(warehouse: Warehouse, schema: str, waiting: int) -> None:
    with warehouse.connection() as conn:
        for _ in range(200):
            row = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT l.granted AND n.nspname = %s",
                (schema,),
            ).fetchone()
            if row and row[0] >= waiting:
                return
            threading.Event().wait(0.05)
    raise AssertionError(f"fewer than {waiting} sessions ever waited for a lock")


def test_concurrent_readers_see_old_or_new_never_partial(
    warehouse: Warehouse, department: Make
) -> None:
    dept = department()
    sizes = (2000, 3000)
    warehouse.write(dept, "people", frame(sizes[0]))
    counts: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            with warehouse.connection() as conn:
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(dept), sql.Identifier("people")
                )
                while not done.is_set():
                    row = conn.execute(query).fetchone()
                    assert row is not None
                    counts.append(int(row[0]))
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for i in range(8):
            warehouse.write(dept, "people", frame(sizes[(i + 1) % 2]))
    finally:
        done.set()
        for thread in readers:
            thread.join(20)
    assert errors == []
    assert counts and set(counts) <= set(sizes)


def test_failure_between_stage_and_swap_keeps_the_old_version(
    warehouse: Warehouse, department: Make
) -> None:
    dept = department()
    old = frame(10)
    warehouse.write(dept, "people", old)
    with pytest.raises(RuntimeError), warehouse.stage(dept, "people", frame(20)):
        raise RuntimeError("the record could not be made")
    assert hidden_tables(warehouse, "staged", [dept]) == []
    pd.testing.assert_frame_equal(warehouse.read(dept, "people"), old)

    crashed = warehouse.stage(dept, "people", frame(30))
    assert stale_staging(warehouse, schemas=[dept]) == [], "its writer is alive"
    assert crashed._conn is not None
    crashed._conn.close()  # the writer's process dies: its session and lock go with it
    assert [r.table for r in stale_staging(warehouse, schemas=[dept])] == [crashed.table]
    assert [r.table for r in drop_stale(warehouse, schemas=[dept])] == [crashed.table]
    assert hidden_tables(warehouse, "staged", [dept]) == []
    pd.testing.assert_frame_equal(warehouse.read(dept, "people"), old)


def test_privileges_survive_a_swap_exactly(
    warehouse: Warehouse, department: Make, role: Make
) -> None:
    dept, reader, other = department(), role(), role()
    warehouse.write(dept, "people", frame(3))
    warehouse.write(dept, "visits", frame(3))
    with warehouse.connection() as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA "{dept}" TO "{reader}"')
        conn.execute(f'GRANT SELECT ON "{dept}".people TO "{reader}"')
        conn.execute(f'GRANT UPDATE ON "{dept}".people TO "{reader}" WITH GRANT OPTION')
        conn.execute(f'GRANT SELECT (id, name) ON "{dept}".visits TO "{reader}"')
        # a default privilege the grants component has revoked on this table stays revoked
        conn.execute(
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{dept}" GRANT SELECT ON TABLES TO "{other}"'
        )
    warehouse.write(dept, "people", frame(4))
    warehouse.write(dept, "visits", frame(4))

    def has(check: str, *args: str) -> bool:
        with warehouse.connection() as conn:
            row = conn.execute(f"SELECT {check}(%s, %s{', %s' * (len(args) - 2)})", args).fetchone()
        return bool(row and row[0])

    people, visits = f'"{dept}".people', f'"{dept}".visits'
    assert has("has_table_privilege", reader, people, "SELECT")
    assert has("has_table_privilege", reader, people, "UPDATE WITH GRANT OPTION")
    assert not has("has_table_privilege", reader, people, "INSERT")
    assert not has("has_table_privilege", reader, visits, "SELECT")
    assert has("has_column_privilege", reader, visits, "id", "SELECT")
    assert has("has_column_privilege", reader, visits, "name", "SELECT")
    assert not has("has_column_privilege", reader, visits, "secret", "SELECT")
    assert not has("has_table_privilege", other, people, "SELECT")
    with psycopg.connect(warehouse.url.set(drivername="postgresql").render_as_string(False)) as c:
        c.execute(f'SET ROLE "{reader}"')
        assert c.execute(f"SELECT count(*) FROM {people}").fetchone() == (4,)
