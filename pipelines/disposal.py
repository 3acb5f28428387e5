"""Taking a published dataset out of existence, or into the archive, with its record made first.

The order survives a crash at any point:

1. the dataset file is renamed to a tombstone beside it, named with the moment of disposal, so no
   reader finds it published any more;
2. the caller records the disposal (rows, a hash of the keys, when): if that fails, the tombstone
   stays and the next attempt finishes the same disposal, with the same moment, so the record
   it makes is identical and stored once;
3. the tombstone is deleted, or moved into the archive.

A dataset in the PostgreSQL warehouse (:func:`dispose_table`) goes the same way: its table is
renamed to a hidden tombstone table, with every grant to other roles taken off, in one
transaction; archiving writes the tombstone's rows to the same archive file a Parquet dataset
would go to, then drops it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipelines.policy.result import keys_sha256
from pipelines.store import read_dataset, write_dataset

if TYPE_CHECKING:
    from pipelines.warehouse.tables import Warehouse

Action = Literal["destroyed", "archived"]
_STAMP = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class Disposal:
    """What was disposed of: never a value, only how many rows and a hash of their keys."""

    action: Action
    rows: int
    keys_sha256: str
    at: dt.datetime
    archived_to: Path | None = None


def archive_path(home: Path, department: str, dataset: str, at: dt.datetime) -> Path:
    """Where an archived dataset is kept: ``<home>/archive/<department>/<dataset>/<moment>``."""
    return home / "archive" / department / dataset / f"{at.strftime(_STAMP)}.parquet"


def dispose(
    path: Path,
    primary_key: Sequence[str],
    action: Action,
    record: Callable[[Disposal], None],
    *,
    archive_to: Callable[[dt.datetime], Path] | None = None,
    now: dt.datetime | None = None,
) -> Disposal | None:
    """Dispose of the dataset at ``path`` (None if there is nothing to dispose of).

    An unfinished disposal of the same dataset is finished first, with its own moment.
    ``archive_to`` (required to archive) names the archive file for a moment.
    """
    if action == "archived" and archive_to is None:
        raise ValueError("archiving needs archive_to: where the archived file goes")
    tombstone = _pending(path)
    if tombstone is None:
        if not path.is_file():
            return None
        at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        tombstone = path.with_name(f".{path.stem}.disposal-{at.strftime(_STAMP)}{path.suffix}")
        os.replace(path, tombstone)
    at = dt.datetime.strptime(tombstone.stem.rsplit("-", 1)[1], _STAMP).replace(tzinfo=dt.UTC)
    keys = read_dataset(tombstone, columns=primary_key)
    target = archive_to(at) if action == "archived" and archive_to else None
    disposal = Disposal(action, len(keys), keys_sha256(keys), at, target)
    record(disposal)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(tombstone, target)
    else:
        tombstone.unlink()
    return disposal


def _pending(path: Path) -> Path | None:
    """A tombstone left by a disposal of ``path`` that did not finish, if any."""
    found = sorted(path.parent.glob(f".{path.stem}.disposal-*{path.suffix}"))
    return found[0] if found else None


def dispose_table(
    warehouse: Warehouse,
    department: str,
    dataset: str,
    primary_key: Sequence[str],
    action: Action,
    record: Callable[[Disposal], None],
    *,
    archive_to: Callable[[dt.datetime], Path] | None = None,
    now: dt.datetime | None = None,
) -> Disposal | None:
    """Dispose of a dataset held in ``warehouse``, as :func:`dispose` does a file."""
    from pipelines.warehouse.hidden import bury, pending_tombstone
    from pipelines.warehouse.names import TOMBSTONE

    if action == "archived" and archive_to is None:
        raise ValueError("archiving needs archive_to: where the archived file goes")
    schema = warehouse.ref(department, dataset).schema
    tombstone = pending_tombstone(warehouse, department, dataset)
    if tombstone is None:
        at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        tombstone = bury(warehouse, department, dataset, at.strftime(_STAMP))
        if tombstone is None:
            return None
    match = TOMBSTONE.match(tombstone)
    assert match is not None
    at = dt.datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=dt.UTC)
    keys = warehouse.read_table(schema, tombstone, columns=primary_key)
    target = archive_to(at) if action == "archived" and archive_to else None
    disposal = Disposal(action, len(keys), keys_sha256(keys), at, target)
    record(disposal)
    if target is not None:
        write_dataset(target, warehouse.read_table(schema, tombstone))
    warehouse.drop_table(schema, tombstone)
    return disposal
