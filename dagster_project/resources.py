"""Resources: where files live, the reference date, the pseudonymisation key, dataset storage.

Components that read a published dataset directly get it from :func:`dataset_store`: the IO
manager in use decides where datasets are (Parquet files under the home, or PostgreSQL tables
with :class:`dagster_project.warehouse_io.WarehouseIOManager`).

Everything is resolved when a run starts, never when definitions load.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_project.partition_store import (
    partition_name,
    partitioning,
    read_partitions,
    stored_keys,
)
from pipelines.estate import Estate
from pipelines.home import tagtrail_home
from pipelines.policy.result import ControlResult
from pipelines.policy.volume import check_volume
from pipelines.sources import extracts_dir
from pipelines.store import (
    commit,
    dataset_path,
    read_dataset,
    sha256_of,
    stage_dataset,
    write_dataset,
)
from pipelines.warehouse.stores import DatasetStore, FileStore

EXTRACTS_ENV = "TAGTRAIL_EXTRACTS"
KEY_ENV = "TAGTRAIL_PSEUDONYM_KEY"
KEY_FILE_ENV = "TAGTRAIL_PSEUDONYM_KEY_FILE"


class TagtrailSettings(dg.ConfigurableResource["TagtrailSettings"]):
    """Run-wide settings, each resolved when a run starts.

    ``home`` defaults to ``TAGTRAIL_HOME``; ``as_of`` (ISO date) to today; ``extracts`` (the
    folder file sources are read from) to ``TAGTRAIL_EXTRACTS``, else the manifest's ``extracts``,
    else ``<home>/extracts``.
    """

    home: str | None = None
    as_of: str | None = None
    extracts: str | None = None

    def resolved_home(self) -> Path:
        return tagtrail_home(self.home)

    def extracts_folder(self, estate: Estate) -> Path:
        """Where this run reads file sources from."""
        configured = self.extracts or os.environ.get(EXTRACTS_ENV)
        return extracts_dir(estate, self.resolved_home(), configured)

    def reference_date(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of) if self.as_of else dt.date.today()


class PseudonymKey(dg.ConfigurableResource["PseudonymKey"]):
    """The keyed-hash key, read from an environment variable or a key file at run time.

    Only the *names* of the variable and the file are configuration, so the key itself never
    appears in code, run config, the UI or logs.
    """

    key_env: str = KEY_ENV
    key_file: str | None = None

    def load(self, home: Path) -> bytes | None:
        """The key, or None if neither the variable nor a key file is set."""
        if value := os.environ.get(self.key_env):
            return value.encode()
        path = self.key_file or os.environ.get(KEY_FILE_ENV)
        candidate = Path(path) if path else default_key_file(home)
        if candidate.is_file():
            return candidate.read_bytes().strip()
        if path:
            raise dg.Failure(
                description=f"pseudonymisation key file {candidate} does not exist; create it or "
                f"set {self.key_env}"
            )
        return None


ACKNOWLEDGE_TAG = "tagtrail/acknowledge"


def volume_of(
    context: dg.AssetExecutionContext, estate: Estate, dataset: str, rows: int
) -> ControlResult:
    """The volume guard on ``rows`` new rows of ``dataset``, against its published version.

    The run tag ``tagtrail/acknowledge`` (comma-separated datasets, set by ``tagtrail run
    --acknowledge``) turns a breach into a warning for this run, in the name of who launched it.
    """
    from dagster_project.lineage import launch_of

    store = dataset_store(context)
    stored = dataset
    if context.has_partition_key and partitioning(estate, dataset) is not None:
        stored = partition_name(store, dataset, context.partition_key)
    previous = store.rows(estate.dataset_owner[dataset], stored)
    acknowledged = context.run.tags.get(ACKNOWLEDGE_TAG, "").split(",")
    by = launch_of(context).by if dataset in acknowledged else None
    return check_volume(estate, dataset, rows, previous, by)


def dataset_store(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> DatasetStore:
    """Where the run's published datasets are: the IO manager's store if it has one (it needs
    ``io_manager`` among the step's resources), else Parquet files under the settings' home."""
    io_manager = getattr(context.resources, "io_manager", None)
    chooser = getattr(io_manager, "dataset_store", None)
    if callable(chooser):
        store: DatasetStore = chooser()
        return store
    settings: TagtrailSettings = context.resources.settings
    return FileStore(settings.resolved_home())


def default_key_file(home: Path) -> Path:
    return home / "keys" / "pseudonym.key"


def ensure_demo_key(home: Path) -> Path:
    """Create a random key file for the demo if there is none (readable by the owner only)."""
    path = default_key_file(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path


@dataclass(frozen=True)
class Publication:
    """A dataset to publish, and how to record it: ``record(path, staged, sha256)`` stores the
    publication's COMPLETE event and pending record (returning its id), ``finish(id)`` marks it
    done once the file is in place."""

    frame: pd.DataFrame
    record: Callable[[str, str, str], int]
    finish: Callable[[int], None]


class DatasetIOManager(dg.ConfigurableIOManager):
    """Stores each asset as ``<home>/datasets/<department>/<dataset>.parquet`` (each period of a
    partitioned one as ``<dataset>/<key>.parquet``; reading it gives every stored period).

    A :class:`Publication` is made write-ahead: the new version is staged beside the old one,
    its record is made durable in the lineage store, and only then is it renamed into place. If
    the record cannot be made, the staged file is removed and the previous version stays; if the
    rename happened but marking it done did not, recovery marks it (see ``tagtrail recover``).
    """

    home: str | None = None

    def _path(self, key: dg.AssetKey, partition: str | None = None) -> Path:
        department, name = key.path[-2:]
        name = f"{name}/{partition}" if partition else name
        return dataset_path(tagtrail_home(self.home), department, name)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | Publication) -> None:
        partition = context.asset_partition_key if context.has_asset_partitions else None
        path = self._path(context.asset_key, partition)
        if not isinstance(obj, Publication):
            write_dataset(path, obj)
        else:
            _publish(context, path, obj)
        context.add_output_metadata({"tagtrail/stored_at": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        """The whole dataset; of a partitioned one, every published period concatenated."""
        department, name = context.asset_key.path[-2:]
        store = FileStore(tagtrail_home(self.home))
        if stored_keys(store, department, name):
            return read_partitions(store, department, name)
        return read_dataset(self._path(context.asset_key))


def _publish(context: dg.OutputContext, path: Path, publication: Publication) -> None:
    """Stage, record, rename, mark done: a visible version always has its record."""
    from lineage.store import StoreError

    staged = stage_dataset(path, publication.frame)
    try:
        record = publication.record(str(path), str(staged), sha256_of(staged))
    except BaseException as exc:
        staged.unlink(missing_ok=True)
        if isinstance(exc, StoreError):
            raise dg.Failure(
                description=f"{path.stem} was not published: its record could not be stored "
                f"({exc}); the previous version stays. Run it again once the store is back."
            ) from None
        raise
    commit(staged, path)
    try:
        publication.finish(record)
    except StoreError as exc:
        context.log.warning(
            f"{path.stem} is published and recorded, but marking the record done failed "
            f"({exc}); `tagtrail recover` (or the next run) finishes it"
        )
