"""Where each reference period of a partitioned dataset is published, in either store.

A period is published as its own dataset: the file ``<dataset>/<key>.parquet`` under the
department's folder, or the warehouse table ``<dataset>__<key>`` (``-`` as ``_``). Each is
staged, recorded and swapped in alone, so publishing one period never touches another, and a
reader of the whole dataset sees every period's last published version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import pandas as pd

from pipelines.estate import Estate
from pipelines.model import Flow, FlowPartitions
from pipelines.partitions import (
    PERIODS,
    PartitionKeyError,
    bounds,
    first_day,
    key_of,
    period_table,
)
from pipelines.warehouse.stores import DatasetStore, FileStore, TableStore


def partitioning(estate: Estate, dataset: str) -> FlowPartitions | None:
    """How ``dataset`` is partitioned (None if it is published whole)."""
    flow = estate.producer(dataset)
    return flow.partitions if flow is not None else None


def partitions_def(part: FlowPartitions) -> dg.TimeWindowPartitionsDefinition:
    """Dagster's periods of a partitioned flow, in UTC, from the period holding ``start`` up to
    and including the current one (published as it fills, and again once it is complete)."""
    day = first_day(part.period, key_of(part.period, part.start))
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    if part.period == "monthly":
        return dg.MonthlyPartitionsDefinition(
            start_date=start, timezone="UTC", end_offset=1, fmt="%Y-%m"
        )
    return dg.DailyPartitionsDefinition(
        start_date=start, timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
    )


def period_of(
    context: dg.AssetExecutionContext, flow: Flow | None
) -> tuple[str, dt.date, dt.date] | None:
    """The period this step publishes of a partitioned flow: key, first day, day after last."""
    if flow is None or flow.partitions is None or not context.has_partition_key:
        return None
    key = context.partition_key
    return (key, *bounds(flow.partitions.period, key))


def partition_name(store: DatasetStore, dataset: str, key: str) -> str:
    """The name ``store`` holds the period ``key`` of ``dataset`` under."""
    if isinstance(store, FileStore):
        return f"{dataset}/{key}"
    return period_table(dataset, key)


def stored_keys(store: DatasetStore, department: str, dataset: str) -> list[str]:
    """The periods of ``dataset`` that are published, in order."""
    if isinstance(store, FileStore):
        folder = store.path(department, dataset).with_suffix("")
        found = [p.stem for p in folder.glob("*.parquet") if not p.name.startswith(".")]
    elif isinstance(store, TableStore):
        found = _tables(store, department, dataset)
    else:
        return []
    return sorted(k for k in found if _is_key(k))


def _is_key(key: str) -> bool:
    for period in PERIODS:
        try:
            first_day(period, key)
            return True
        except PartitionKeyError:
            continue
    return False


def _tables(store: TableStore, department: str, dataset: str) -> list[str]:
    prefix = f"{dataset}__"
    schema = store.warehouse.ref(department, dataset).schema
    with store.warehouse.connection() as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND left(c.relname, %s) = %s",
            (schema, len(prefix), prefix),
        ).fetchall()
    keys = [str(r[0])[len(prefix) :] for r in rows]
    return [k.replace("_", "-") for k in keys if k.replace("_", "").isdigit()]


def read_partitions(
    store: DatasetStore, department: str, dataset: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every published period of ``dataset``, concatenated in period order."""
    keys = stored_keys(store, department, dataset)
    if not keys:
        raise FileNotFoundError(
            f"dataset not published yet: no period of {dataset} is stored at "
            f"{store.location(department, dataset)} (materialize it first)"
        )
    frames = [store.read(department, partition_name(store, dataset, k), columns) for k in keys]
    return pd.concat(frames, ignore_index=True)


def published(store: DatasetStore, department: str, dataset: str) -> bool:
    """Whether the dataset, or at least one of its periods, is published."""
    return store.exists(department, dataset) or bool(stored_keys(store, department, dataset))
