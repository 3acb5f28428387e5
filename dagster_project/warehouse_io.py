"""Datasets stored in PostgreSQL: one schema a department, one table a dataset.

:class:`WarehouseIOManager` behaves as :class:`~dagster_project.resources.DatasetIOManager` does
with files: a plain frame replaces the table atomically; a
:class:`~dagster_project.resources.Publication` is staged in a hidden table, recorded in the
lineage store, swapped in with the old table's privileges, then marked done. If the record
cannot be made, the staging table is dropped and the previous version stays; if the swap
happened but marking it done did not, recovery marks it (see :mod:`lineage.recovery`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import dagster as dg
import pandas as pd
import psycopg

from dagster_project.partition_store import partition_name, read_partitions, stored_keys
from dagster_project.resources import Publication
from pipelines.warehouse import TableStore, UnsupportedColumn, Warehouse, WarehouseNameError
from pipelines.warehouse.tables import Staged, StageError

DATASETS_URL_ENV = "TAGTRAIL_DATASETS_URL"


@lru_cache(maxsize=8)
def warehouse_at(url: str) -> Warehouse:
    """The warehouse at ``url`` (one engine a URL per process)."""
    return Warehouse(url)


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores each asset as the table ``"<department>"."<dataset>"`` of a PostgreSQL database.

    ``url`` is a SQLAlchemy URL (``postgresql+psycopg://user:password@host/database``); set it
    with ``dg.EnvVar("TAGTRAIL_DATASETS_URL")`` so the password stays out of code and run config.
    """

    url: str

    def warehouse(self) -> Warehouse:
        """The warehouse this IO manager writes to."""
        url: str | None = self.url
        if isinstance(url, dg.EnvVar):  # read outside a run: not resolved by Dagster
            url = url.get_value()
            if not url:
                raise dg.Failure(
                    description=f"{DATASETS_URL_ENV} is not set; set it to the datasets' "
                    "PostgreSQL URL, postgresql+psycopg://user@host/database"
                )
        try:
            return warehouse_at(url)
        except Exception as exc:
            raise dg.Failure(
                description=f"{DATASETS_URL_ENV} is not a usable PostgreSQL URL "
                f"({type(exc).__name__}); set it to postgresql+psycopg://user@host/database"
            ) from None

    def dataset_store(self) -> TableStore:
        """The published datasets, for the components that read them directly."""
        return TableStore(self.warehouse())

    def handle_output(
        self, context: dg.OutputContext, obj: pd.DataFrame | Publication | StagedPublication
    ) -> None:
        department, name = context.asset_key.path[-2:]
        if context.has_asset_partitions:  # each period its own table, swapped in alone
            name = partition_name(self.dataset_store(), name, context.asset_partition_key)
        warehouse = self.warehouse()
        if isinstance(obj, StagedPublication):
            _publish_staged(context, warehouse, department, name, obj)
        elif not isinstance(obj, Publication):
            with _loading(name, warehouse, department):
                warehouse.write(department, name, obj)
        else:
            _publish(context, warehouse, department, name, obj)
        ref = warehouse.ref(department, name)
        context.add_output_metadata({"tagtrail/stored_at": dg.MetadataValue.text(str(ref))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        """The whole dataset; of a partitioned one, every published period concatenated."""
        department, name = context.asset_key.path[-2:]
        store = self.dataset_store()
        if stored_keys(store, department, name):
            return read_partitions(store, department, name)
        return self.warehouse().read(department, name)


class _loading:
    """Turns a failure to load a version into a :class:`dg.Failure` that quotes no value."""

    def __init__(self, name: str, warehouse: Warehouse, department: str) -> None:
        self.name, self.warehouse, self.department = name, warehouse, department

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, (UnsupportedColumn, WarehouseNameError, StageError)):
            raise dg.Failure(
                description=f"{self.name} was not published: {exc}; the previous version stays."
            ) from None
        if isinstance(exc, psycopg.Error):
            # server messages can quote the values that failed: only the code is shown
            raise dg.Failure(
                description=f"{self.name} was not published: the warehouse "
                f"({self.warehouse.server}) refused or did not answer ({type(exc).__name__}, "
                f"SQLSTATE {exc.sqlstate or 'none'}); the previous version stays. Run it "
                "again once the warehouse is back."
            ) from None


@dataclass(frozen=True)
class StagedPublication:
    """A version already staged in this warehouse (validated where it lies), and how to record
    it, as :class:`~dagster_project.resources.Publication` records a frame."""

    staged: Staged
    record: Callable[[str, str, str], int]
    finish: Callable[[int], None]


def _publish_staged(
    context: dg.OutputContext,
    warehouse: Warehouse,
    department: str,
    name: str,
    publication: StagedPublication,
) -> None:
    """As :func:`_publish`, from the staging step on: record, swap, mark done."""
    staged = publication.staged
    if (staged.warehouse.server, staged.schema, staged.dataset) != (
        warehouse.server,
        department,
        name,
    ):
        staged.close()
        raise dg.Failure(
            description=f"{name} was not published: it was staged for {staged.schema}."
            f"{staged.dataset} on {staged.warehouse.server}, not for this warehouse's "
            f"{department}.{name}; the previous version stays."
        )
    _record_swap_finish(context, warehouse, department, name, staged, publication)


def _publish(
    context: dg.OutputContext,
    warehouse: Warehouse,
    department: str,
    name: str,
    publication: Publication,
) -> None:
    """Stage, record, swap, mark done: a visible version always has its record."""
    with _loading(name, warehouse, department):
        staged = warehouse.stage(department, name, publication.frame)
    _record_swap_finish(context, warehouse, department, name, staged, publication)


def _record_swap_finish(
    context: dg.OutputContext,
    warehouse: Warehouse,
    department: str,
    name: str,
    staged: Staged,
    publication: Publication | StagedPublication,
) -> None:
    """Record, swap, mark done; the staging table is dropped unless it was swapped in."""
    from lineage.store import StoreError

    with staged:
        try:
            record = publication.record(
                str(warehouse.ref(department, name)), str(staged.ref), staged.sha256
            )
        except BaseException as exc:
            if isinstance(exc, StoreError):
                raise dg.Failure(
                    description=f"{name} was not published: its record could not be stored "
                    f"({exc}); the previous version stays. Run it again once the store is back."
                ) from None
            raise
        with _loading(name, warehouse, department):
            lost = staged.swap()
    if lost:
        context.log.warning(
            f"{name}: column grants on columns it no longer has were not kept: "
            + ", ".join(sorted({f"{g.column} to {g.grantee or 'PUBLIC'}" for g in lost}))
        )
    try:
        publication.finish(record)
    except StoreError as exc:
        context.log.warning(
            f"{name} is published and recorded, but marking the record done failed "
            f"({exc}); `tagtrail recover` (or the next run) finishes it"
        )
