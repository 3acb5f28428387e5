"""Disposing of a dataset held as a warehouse table: record first, finished after a crash.

Needs TAGTRAIL_TEST_PG_URL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pipelines.disposal import Disposal, archive_path, dispose_table
from pipelines.policy.result import keys_sha256
from pipelines.warehouse import TableStore, Warehouse
from pipelines.warehouse.hidden import hidden_tables

NOW = dt.datetime(2029, 1, 1, 6, 0, tzinfo=dt.UTC)
NOTES = pd.DataFrame(
    {"note_id": pd.Series(["n1", "n2", "n3"], dtype="string"), "text": ["a", "b", "c"]}
)


@pytest.fixture
def stored(warehouse: Warehouse, department: Callable[[], str], role: Callable[[], str]) -> str:
    dept = department()
    warehouse.write(dept, "notes", NOTES)
    with warehouse.connection() as conn:
        conn.execute(f'GRANT SELECT ON "{dept}".notes TO "{role()}"')
    return dept


def test_destroy_records_rows_and_key_hash_then_drops(warehouse: Warehouse, stored: str) -> None:
    seen: list[Disposal] = []
    disposal = dispose_table(
        warehouse, stored, "notes", ["note_id"], "destroyed", seen.append, now=NOW
    )
    assert disposal is not None and seen == [disposal]
    assert (disposal.rows, disposal.at) == (3, NOW)
    assert disposal.keys_sha256 == keys_sha256(pd.DataFrame({"note_id": ["n3", "n1", "n2"]}))
    assert not warehouse.exists(stored, "notes")
    assert hidden_tables(warehouse, "tombstone", [stored]) == []
    assert (
        TableStore(warehouse).dispose(stored, "notes", ["note_id"], "destroyed", seen.append)
        is None
    )


def test_a_failed_record_leaves_nothing_readable_and_is_finished_later(
    warehouse: Warehouse, stored: str
) -> None:
    def down(_: Disposal) -> None:
        raise ConnectionError("lineage store refused the connection")

    with pytest.raises(ConnectionError):
        dispose_table(warehouse, stored, "notes", ["note_id"], "destroyed", down, now=NOW)
    assert not warehouse.exists(stored, "notes")
    [(_, tombstone)] = hidden_tables(warehouse, "tombstone", [stored])
    with warehouse.connection() as conn:
        grants = conn.execute(
            "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
            (f'"{stored}"."{tombstone}"',),
        ).fetchone()
    assert grants == (0,), "a tombstone is readable by nobody but its owner"
    seen: list[Disposal] = []
    later = NOW + dt.timedelta(days=1)
    finished = dispose_table(
        warehouse, stored, "notes", ["note_id"], "destroyed", seen.append, now=later
    )
    assert finished is not None and finished.at == NOW and finished.rows == 3
    assert hidden_tables(warehouse, "tombstone", [stored]) == []


def test_archive_keeps_the_rows_as_parquet(
    warehouse: Warehouse, stored: str, tmp_path: Path
) -> None:
    disposal = TableStore(warehouse).dispose(
        stored,
        "notes",
        ["note_id"],
        "archived",
        lambda _: None,
        archive_to=lambda at: archive_path(tmp_path, stored, "notes", at),
    )
    assert disposal is not None and disposal.archived_to is not None
    pd.testing.assert_frame_equal(pd.read_parquet(disposal.archived_to), NOTES)
    assert not warehouse.exists(stored, "notes")
    assert hidden_tables(warehouse, "tombstone", [stored]) == []
