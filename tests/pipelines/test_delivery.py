"""Deliveries that cannot be read are named: the file and what is wrong, with the exact byte."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines import delivery
from pipelines.delivery import DeliveryError, read_csv, read_parquet

GOOD = "id,name\n1,Zoë\n2,Łukasz\n"


def _write(tmp_path: Path, data: bytes, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_good_utf8_is_read_as_text(tmp_path: Path) -> None:
    frame = read_csv(_write(tmp_path, GOOD.encode()))
    assert frame["name"].tolist() == ["Zoë", "Łukasz"]
    assert str(frame["id"].dtype) == "string"


def test_a_header_only_file_is_zero_rows_not_an_error(tmp_path: Path) -> None:
    assert len(read_csv(_write(tmp_path, b"id,name\n"))) == 0


@pytest.mark.parametrize("block", [1 << 20, 7, 16, 17])
def test_an_encoding_error_names_the_byte_and_its_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(delivery, "_BLOCK", block)
    good = GOOD.encode()
    path = _write(tmp_path, good + b"3,Caf\xe9\n")
    with pytest.raises(DeliveryError) as info:
        read_csv(path)
    offset = len(good) + len(b"3,Caf")
    assert f"{path} is not utf-8 text: byte 0xE9 at offset {offset} (line 4)" in str(info.value)


def test_a_declared_encoding_is_honoured(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,name\n3,Café\n".encode("cp1252"))
    assert read_csv(path, "cp1252")["name"].tolist() == ["Café"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is empty (0 bytes)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file (a NUL byte at offset 8)"),
        (b"id,name\n1,a\n2,b,c,d\n", "is not well-formed CSV: Error tokenizing data"),
        (b"\n\n", "holds no header row"),
    ],
    ids=["empty", "binary", "ragged", "blank-lines"],
)
def test_unreadable_csv_deliveries(tmp_path: Path, data: bytes, expected: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(DeliveryError, match=str(path)) as info:
        read_csv(path)
    assert expected in str(info.value)


def test_a_corrupt_parquet_file(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pd.DataFrame({"id": [1, 2]}).to_parquet(good)
    bad = _write(tmp_path, good.read_bytes()[:40], "bad.parquet")
    with pytest.raises(DeliveryError, match="is not a readable Parquet file"):
        read_parquet(bad)
    assert read_parquet(good)["id"].tolist() == [1, 2]
