"""Disposing of a dataset: its record comes first, and a crash at any point is finished later."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pipelines.disposal import Disposal, archive_path, dispose
from pipelines.policy.result import keys_sha256
from pipelines.store import write_dataset

NOW = dt.datetime(2029, 1, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    path = tmp_path / "datasets" / "social_care" / "notes.parquet"
    write_dataset(path, pd.DataFrame({"note_id": ["n1", "n2", "n3"], "text": ["a", "b", "c"]}))
    return path


def test_destroy_records_rows_and_key_hash_then_deletes(stored: Path) -> None:
    seen: list[Disposal] = []
    disposal = dispose(stored, ["note_id"], "destroyed", seen.append, now=NOW)
    assert disposal is not None and seen == [disposal]
    assert (disposal.rows, disposal.at) == (3, NOW)
    assert disposal.keys_sha256 == keys_sha256(pd.DataFrame({"note_id": ["n3", "n1", "n2"]}))
    assert list(stored.parent.iterdir()) == []
    assert dispose(stored, ["note_id"], "destroyed", seen.append) is None


def test_a_failed_record_leaves_the_data_unpublished_and_is_finished_later(stored: Path) -> None:
    def down(_: Disposal) -> None:
        raise ConnectionError("lineage store refused the connection")

    with pytest.raises(ConnectionError):
        dispose(stored, ["note_id"], "destroyed", down, now=NOW)
    assert not stored.exists(), "no reader finds it published once disposal began"
    [tombstone] = stored.parent.iterdir()
    seen: list[Disposal] = []
    later = NOW + dt.timedelta(days=1)
    finished = dispose(stored, ["note_id"], "destroyed", seen.append, now=later)
    assert finished is not None and finished.at == NOW, "the same disposal, at its own moment"
    assert not tombstone.exists() and list(stored.parent.iterdir()) == []


def test_archive_moves_the_file(stored: Path, tmp_path: Path) -> None:
    content = stored.read_bytes()
    disposal = dispose(
        stored,
        ["note_id"],
        "archived",
        lambda _: None,
        archive_to=lambda at: archive_path(tmp_path, "social_care", "notes", at),
        now=NOW,
    )
    assert disposal is not None and disposal.archived_to is not None
    assert disposal.archived_to.read_bytes() == content
    assert disposal.archived_to.parent == tmp_path / "archive" / "social_care" / "notes"
    assert not stored.exists()


def test_archiving_without_a_place_is_refused(stored: Path) -> None:
    with pytest.raises(ValueError, match="archive_to"):
        dispose(stored, ["note_id"], "archived", lambda _: None)
    assert stored.exists()
