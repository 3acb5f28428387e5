"""Where published datasets are read from: Parquet files under a home, or warehouse tables.

Every component that reads a published dataset directly (the volume guard, the opt-out and
retention controls, disposal at an agreement's end, the run's preflight) goes through a
:class:`DatasetStore`, so it works the same whichever store the run publishes to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow.parquet as pq

from pipelines.disposal import Action, Disposal, dispose, dispose_table
from pipelines.store import dataset_path, read_dataset, sha256_of
from pipelines.warehouse.tables import Warehouse


class DatasetStore(Protocol):
    """The published datasets of an estate, by department and dataset name."""

    def location(self, department: str, dataset: str) -> str:
        """Where the dataset is (a path or a table), for messages and metadata."""
        ...

    def exists(self, department: str, dataset: str) -> bool:
        """Whether the dataset is published."""
        ...

    def rows(self, department: str, dataset: str) -> int | None:
        """The published version's row count (None if never published)."""
        ...

    def read(
        self, department: str, dataset: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The published dataset, or some of its columns (KeyError for an unknown column)."""
        ...

    def version(self, department: str, dataset: str) -> str:
        """The published version's content identity, as its publication recorded it."""
        ...

    def drop(self, department: str, dataset: str) -> bool:
        """Remove the published dataset; whether there was one."""
        ...

    def dispose(
        self,
        department: str,
        dataset: str,
        primary_key: Sequence[str],
        action: Action,
        record: Callable[[Disposal], None],
        *,
        archive_to: Callable[[dt.datetime], Path] | None = None,
    ) -> Disposal | None:
        """Dispose of the dataset, its record made first (see :mod:`pipelines.disposal`)."""
        ...


@dataclass(frozen=True)
class FileStore:
    """Parquet files under ``<home>/datasets`` (see :mod:`pipelines.store`)."""

    home: Path

    def path(self, department: str, dataset: str) -> Path:
        """The dataset's file."""
        return dataset_path(self.home, department, dataset)

    def location(self, department: str, dataset: str) -> str:
        return str(self.path(department, dataset))

    def exists(self, department: str, dataset: str) -> bool:
        return self.path(department, dataset).is_file()

    def rows(self, department: str, dataset: str) -> int | None:
        path = self.path(department, dataset)
        return pq.read_metadata(path).num_rows if path.is_file() else None

    def read(
        self, department: str, dataset: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        return read_dataset(self.path(department, dataset), columns=columns)

    def version(self, department: str, dataset: str) -> str:
        return sha256_of(self.path(department, dataset))

    def drop(self, department: str, dataset: str) -> bool:
        path = self.path(department, dataset)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return existed

    def dispose(
        self,
        department: str,
        dataset: str,
        primary_key: Sequence[str],
        action: Action,
        record: Callable[[Disposal], None],
        *,
        archive_to: Callable[[dt.datetime], Path] | None = None,
    ) -> Disposal | None:
        return dispose(
            self.path(department, dataset), primary_key, action, record, archive_to=archive_to
        )


@dataclass(frozen=True)
class TableStore:
    """Tables of the PostgreSQL warehouse (see :mod:`pipelines.warehouse.tables`)."""

    warehouse: Warehouse

    def location(self, department: str, dataset: str) -> str:
        return str(self.warehouse.ref(department, dataset))

    def exists(self, department: str, dataset: str) -> bool:
        return self.warehouse.exists(department, dataset)

    def rows(self, department: str, dataset: str) -> int | None:
        return self.warehouse.rows(department, dataset)

    def read(
        self, department: str, dataset: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        return self.warehouse.read(department, dataset, columns)

    def version(self, department: str, dataset: str) -> str:
        return self.warehouse.version(department, dataset)

    def drop(self, department: str, dataset: str) -> bool:
        return self.warehouse.drop(department, dataset)

    def dispose(
        self,
        department: str,
        dataset: str,
        primary_key: Sequence[str],
        action: Action,
        record: Callable[[Disposal], None],
        *,
        archive_to: Callable[[dt.datetime], Path] | None = None,
    ) -> Disposal | None:
        return dispose_table(
            self.warehouse,
            department,
            dataset,
            primary_key,
            action,
            record,
            archive_to=archive_to,
        )
