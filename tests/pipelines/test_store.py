"""Writes are atomic: a failure leaves the previous version and no temporary file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.extracts import extract_path, write_extract
from pipelines.store import atomic_write, read_dataset, write_dataset


def test_failed_write_keeps_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "datasets" / "health" / "x.parquet"
    write_dataset(path, pd.DataFrame({"a": [1, 2]}))

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert read_dataset(path)["a"].tolist() == [1, 2]
    assert [p.name for p in path.parent.iterdir()] == ["x.parquet"]


def test_extract_round_trip_replaces_whole_file(tmp_path: Path) -> None:
    write_extract(tmp_path, "housing", "t", pd.DataFrame({"id": ["a", "b", "c"]}))
    write_extract(tmp_path, "housing", "t", pd.DataFrame({"id": ["d"]}))
    path = extract_path(tmp_path, "housing", "t")
    assert path.read_text().splitlines() == ["id", "d"]
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]
