"""Published datasets: one Parquet file a dataset under ``<home>/datasets/<department>/``.

Every file is written beside its final place under a hidden name that carries the writing
process's id, made durable (fsync), then renamed into place: readers see the old version or the
new one, whole, never part of one. A publication takes two steps, :func:`stage` then
:func:`commit`, so that its record can be made in between (see
:class:`dagster_project.resources.DatasetIOManager`). Files are owner-only. A hidden file whose
process has died is a leftover :func:`stale_files` finds.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

_HIDDEN = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})\.(?:tmp|staged)$")


def dataset_path(home: Path, department: str, dataset: str) -> Path:
    """Where a published dataset lives."""
    return Path(home) / "datasets" / department / f"{dataset}.parquet"


def _hidden(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}")


def _durable(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` owner-only with ``write`` and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    write(path)
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a hidden file beside it, then rename it into place.

    Readers see the old file or the new one, never half of one; a failed write leaves the
    previous version intact and no hidden file behind.
    """
    staged = stage(path, write)
    commit(staged, path)


def stage(path: Path, write: Callable[[Path], None]) -> Path:
    """Write the next version of ``path`` beside it, durably, without making it visible."""
    staged = _hidden(path, "staged")
    try:
        _durable(staged, write)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def commit(staged: Path, path: Path) -> None:
    """Make a staged version the visible one, atomically and durably."""
    os.replace(staged, path)
    _sync_dir(path.parent)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes (a dataset version's identity)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_dataset(path: Path, frame: pd.DataFrame) -> None:
    """Replace the published dataset at ``path`` atomically."""
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def stage_dataset(path: Path, frame: pd.DataFrame) -> Path:
    """The next version of the dataset at ``path``, staged beside it."""
    return stage(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_dataset(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a published dataset (or some of its columns); a clear error if never published."""
    if not path.is_file():
        raise FileNotFoundError(f"dataset not published yet: {path} (materialize it first)")
    return pd.read_parquet(path, columns=list(columns) if columns is not None else None)


def stale_files(root: Path, keep: set[Path] | None = None) -> Iterator[Path]:
    """Hidden write files under ``root`` whose writing process is gone (except ``keep``)."""
    if not root.is_dir():
        return
    skip = keep or set()
    for path in root.rglob(".*"):
        hidden = _HIDDEN.match(path.name) is not None and path.is_file()
        if hidden and path not in skip and not writer_alive(path):
            yield path


def writer_alive(path: Path) -> bool:
    """Whether the process writing the hidden file ``path`` is still running (on this host)."""
    match = _HIDDEN.match(path.name)
    if match is None:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
