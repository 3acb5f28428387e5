"""Published datasets: one Parquet file a dataset under ``<home>/datasets/<department>/``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd


def dataset_path(home: Path, department: str, dataset: str) -> Path:
    """Where a published dataset lives."""
    return Path(home) / "datasets" / department / f"{dataset}.parquet"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary file beside it, then rename it into place.

    Readers see the old file or the new one, never half of one; a failed write leaves the
    previous version intact and no temporary file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_dataset(path: Path, frame: pd.DataFrame) -> None:
    """Replace the published dataset at ``path`` atomically."""
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_dataset(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a published dataset (or some of its columns); a clear error if never published."""
    if not path.is_file():
        raise FileNotFoundError(f"dataset not published yet: {path} (materialize it first)")
    return pd.read_parquet(path, columns=list(columns) if columns is not None else None)
