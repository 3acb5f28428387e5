"""Published datasets: one Parquet file a dataset under ``<home>/datasets/<department>/``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def dataset_path(home: Path, department: str, dataset: str) -> Path:
    """Where a published dataset lives."""
    return Path(home) / "datasets" / department / f"{dataset}.parquet"


def write_dataset(path: Path, frame: pd.DataFrame) -> None:
    """Replace the file at ``path`` atomically: a failed write leaves the previous version intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".parquet.tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_dataset(path: Path) -> pd.DataFrame:
    """Read a published dataset; a clear error if it has never been published."""
    if not path.is_file():
        raise FileNotFoundError(f"dataset not published yet: {path} (materialize it first)")
    return pd.read_parquet(path)
