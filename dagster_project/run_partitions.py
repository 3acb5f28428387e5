"""``tagtrail run`` on an estate with partitioned flows: one Dagster run per reference period.

The selection runs in stages: the datasets published whole that no partitioned dataset feeds
(one run); then each partitioned dataset's periods (one run a period, every partitioned dataset
of the same period kind together); then the datasets published whole downstream of them (one
run, reading every stored period). A dataset downstream of one held back or failed in an
earlier stage is not run.

Which periods: those given (``--partition``/``--partitions``), else every period from the
flow's ``start`` to the reference date's that its input has rows dated in (read from the input
column the partition column is derived from; every period if it is derived from none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import dagster as dg

from dagster_project.metadata import asset_key
from dagster_project.partition_store import partitioning, read_partitions, stored_keys
from dagster_project.summary import DatasetOutcome, summarise
from pipelines.estate import Estate
from pipelines.model import FlowPartitions
from pipelines.partitions import (
    PartitionKeyError,
    covered,
    expired,
    first_day,
    key_of,
    keys_between,
)
from pipelines.warehouse.stores import DatasetStore

NO_PERIOD = "no period"  # a partitioned dataset whose inputs have no rows in any period to run
Result: TypeAlias = dg.ExecuteInProcessResult | dg.JobExecutionResult
# Runs a selection for one period (None: unpartitioned), in-process or on Celery workers.
Execute: TypeAlias = Callable[[list[dg.AssetKey], str | None], Result]


class PartitionRefused(ValueError):
    """Periods that cannot be run, each problem naming the dataset and what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class StagedRuns:
    """Every Dagster run of a partitioned ``tagtrail run`` and what each dataset/period became."""

    results: list[Result] = field(default_factory=list)
    selections: list[list[str]] = field(default_factory=list)
    outcomes: list[DatasetOutcome] = field(default_factory=list)
    # datasets an earlier stage's halt kept out of a later stage, by the run that halted
    skipped: dict[str, list[DatasetOutcome]] = field(default_factory=dict)


def partitioned(estate: Estate, datasets: Sequence[str]) -> list[str]:
    """The selected datasets published one period at a time."""
    return [d for d in datasets if partitioning(estate, d) is not None]


def requested_keys(
    part: FlowPartitions,
    dataset: str,
    keys: Sequence[str],
    span: tuple[str, str] | None,
    as_of: dt.date,
    retention: str | None = None,
) -> list[str]:
    """The periods asked for, checked against the dataset's period kind, start and ``as_of``."""
    lo, hi = key_of(part.period, part.start), key_of(part.period, as_of)
    try:
        wanted = list(keys)
        if span is not None:
            first_day(part.period, span[1])
            wanted += keys_between(part.period, *span)
        for k in wanted:
            first_day(part.period, k)
    except PartitionKeyError as exc:
        raise PartitionRefused(
            [f"dataset '{dataset}' is partitioned {part.period}: {exc}"]
        ) from None
    outside = [k for k in wanted if not lo <= k <= hi]
    if retention is not None and (gone := expired(part.period, wanted, retention, as_of)):
        raise PartitionRefused(
            [
                f"dataset '{dataset}': periods {', '.join(gone)} ended more than the retention "
                f"period {retention} before {as_of}; they are disposed of, not published again"
            ]
        )
    if outside:
        raise PartitionRefused(
            [
                f"dataset '{dataset}' has periods from {lo} (its start) to {hi} (the reference "
                f"date's); not {', '.join(outside)}"
            ]
        )
    return sorted(set(wanted))


def default_keys(estate: Estate, store: DatasetStore, dataset: str, as_of: dt.date) -> list[str]:
    """The periods the flow's input has rows dated in, from its start to ``as_of``."""
    flow = estate.producer(dataset)
    assert flow is not None and flow.partitions is not None
    part = flow.partitions
    refs = flow.columns[part.column].from_ if part.column in flow.columns else ()
    if not refs:
        every = keys_between(
            part.period, key_of(part.period, part.start), key_of(part.period, as_of)
        )
        return _live(estate, dataset, every, as_of)
    source, column = refs[0].split(".", 1)
    owner = estate.dataset_owner[source]
    if stored_keys(store, owner, source):
        dates = read_partitions(store, owner, source, [column])[column]
    elif store.exists(owner, source):
        dates = store.read(owner, source, [column])[column]
    else:
        return []
    return _live(estate, dataset, covered(part.period, dates, part.start, as_of), as_of)


def _live(estate: Estate, dataset: str, keys: list[str], as_of: dt.date) -> list[str]:
    """``keys`` without the periods already past the agreement's retention."""
    flow = estate.producer(dataset)
    agreement = estate.agreements.get(flow.agreement) if flow else None
    if flow is None or flow.partitions is None or agreement is None:
        return keys
    gone = set(expired(flow.partitions.period, keys, agreement.retention.period, as_of))
    return [k for k in keys if k not in gone]


def run_staged(
    estate: Estate,
    datasets: Sequence[str],
    execute: Execute,
    keys_for: Callable[[str], list[str]],
) -> StagedRuns:
    """Run ``datasets`` in stages (see the module); ``keys_for(dataset)`` gives its periods,
    asked once its inputs are published."""
    parted = partitioned(estate, datasets)
    fed = set().union(*(estate.downstream(d) for d in parted)) if parted else set()
    before = [d for d in datasets if d not in parted and d not in fed]
    after = [d for d in datasets if d not in parted and d in fed]
    staged = StagedRuns()
    stopped: set[str] = set()  # downstream of a dataset (or any period of one) that did not publish
    stopped_by: dict[str, str] = {}  # each of those: the run whose halt stopped it first

    def not_run(names: list[str], period: str | None) -> None:
        for d in names:
            outcome = _not_run(estate, d, period)
            staged.outcomes.append(outcome)
            if d in stopped_by:
                staged.skipped.setdefault(stopped_by[d], []).append(outcome)

    def run(names: list[str], period: str | None, skip: set[str]) -> None:
        runnable = [d for d in names if d not in skip]
        if runnable:
            result = execute([asset_key(estate, d) for d in runnable], period)
            staged.results.append(result)
            staged.selections.append(runnable)
            for o in summarise(result, estate, runnable):
                o.period = period
                staged.outcomes.append(o)
                if o.status != "published":
                    downstream = estate.downstream(o.dataset)
                    skip.update(downstream)
                    stopped.update(downstream)
                    for d in downstream:
                        stopped_by.setdefault(d, result.run_id)
        not_run([d for d in names if d not in runnable], period)

    run(before, None, stopped)
    groups: dict[tuple[str, dt.date], list[str]] = {}
    for d in parted:
        part = partitioning(estate, d)
        assert part is not None
        groups.setdefault((part.period, part.start), []).append(d)
    for names in groups.values():
        live = [d for d in names if d not in stopped]
        keys = sorted({k for d in live for k in keys_for(d)})
        before_group = set(stopped)
        for k in keys:  # a period held back stops only that period of the datasets it feeds
            run(names, k, set(before_group))
        if not keys:
            staged.outcomes += [
                _not_run(estate, d, None, "no period to run", NO_PERIOD) for d in live
            ]
            not_run([d for d in names if d not in live], None)
    run(after, None, stopped)
    return staged


def _not_run(
    estate: Estate,
    name: str,
    period: str | None,
    reason: str | None = None,
    status: str = "not run",
) -> DatasetOutcome:
    flow = estate.producer(name)
    return DatasetOutcome(
        dataset=name,
        department=estate.dataset_owner[name],
        flow=flow.name if flow else None,
        status=status,
        reason=reason or "an upstream dataset was held back or failed in an earlier stage",
        period=period,
    )


@dataclass(frozen=True)
class Periods:
    """Which periods a run asks for: ``keys`` and a ``span`` (first, last), else the default."""

    as_of: dt.date
    keys: Sequence[str] = ()
    span: tuple[str, str] | None = None


def run_periods(
    execute: Execute,
    estate: Estate,
    datasets: Sequence[str],
    store: DatasetStore,
    periods: Periods,
) -> StagedRuns:
    """The selection run in stages, one Dagster run a period, each by ``execute``
    (:class:`PartitionRefused` before anything runs if a period asked for cannot be)."""
    keys, span, as_of = periods.keys, periods.span, periods.as_of

    def keys_for(dataset: str) -> list[str]:
        flow = estate.producer(dataset)
        assert flow is not None and flow.partitions is not None
        if keys or span:
            agreement = estate.agreements.get(flow.agreement)
            retention = agreement.retention.period if agreement else None
            return requested_keys(flow.partitions, dataset, keys, span, as_of, retention)
        return default_keys(estate, store, dataset, as_of)

    for d in partitioned(estate, datasets):  # refuse bad keys before anything runs
        if keys or span:
            keys_for(d)
    staged = run_staged(estate, datasets, execute, keys_for)
    if not staged.results:
        raise PartitionRefused(
            [
                f"'{o.dataset}' has no period to run: its input has no rows dated from its "
                "start to the reference date; name one with --partition"
                for o in staged.outcomes
            ]
        )
    return staged
