"""``tagtrail run``: materialize an estate (or part of it) in-process into the home's Dagster instance.

Before anything runs, every selected source is checked (the variable set, the server answering,
the table there) and every input a selected flow takes from outside the selection must already be
published, so a mistake stops the run with nothing written.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import PARTITION_NAME_TAG as PARTITION_TAG

from dagster_project.deployment import DAGSTER_URL_ENV, EXECUTOR_ENV, Deployment
from dagster_project.distributed import (
    execute_on_workers,
    run_resources,
    step_processes,
    unfinished_steps,
)
from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
from dagster_project.instance import (
    Recovery,
    dagster_home,
    launch_tags,
    open_instance,
    prepare,
)
from dagster_project.metadata import asset_key
from dagster_project.partition_store import published as is_published
from dagster_project.resources import ACKNOWLEDGE_TAG, TagtrailSettings
from dagster_project.run_partitions import (
    NO_PERIOD,
    Execute,
    PartitionRefused,
    Periods,
    Result,
    StagedRuns,
    partitioned,
    run_periods,
)
from dagster_project.summary import DatasetOutcome, summarise
from dagster_project.workers import BrokerUnavailable, ensure_workers
from lineage.delivery import DeliveryReport, deliver
from lineage.store import StoreError, configured_url, open_store
from pipelines.estate import Estate
from pipelines.model import _close
from pipelines.sources import SourceError, check_source
from pipelines.warehouse.stores import FileStore

# Delivery after a run takes at most this share of the run's time (a down backend costs <= 15%).
DELIVERY_SHARE = 0.15

log = logging.getLogger(__name__)


class RunRefused(Exception):
    """The run was not started: each problem names a dataset and what to do.

    ``transient`` is true when every problem is a source that did not answer (try again).
    """

    def __init__(self, problems: list[str], *, transient: bool = False) -> None:
        self.problems = problems
        self.transient = transient
        super().__init__("\n".join(problems))


@dataclass
class RunReport:
    """What one run did: its Dagster run id, whether everything passed, and each dataset's fate."""

    run_id: str
    success: bool
    outcomes: list[DatasetOutcome]
    dagster_home: Path
    injected: tuple[str, ...] = ()
    recovery: Recovery | None = None
    delivery: DeliveryReport | None = None
    step_pids: dict[str, int] = field(default_factory=dict)
    distributed: bool = False
    runs_stored: str | None = None
    run_ids: tuple[str, ...] = ()  # every Dagster run, when partitioned flows ran one a period

    @property
    def halted(self) -> list[DatasetOutcome]:
        """The datasets held back by a failed check."""
        return [o for o in self.outcomes if o.status == "held back"]


def selected(estate: Estate, names: Sequence[str] | None) -> list[str]:
    """The datasets to run, in order; unknown names raise :class:`RunRefused` with close matches."""
    if not names:
        return estate.topological_datasets()
    unknown = [n for n in names if n not in estate.datasets]
    if unknown:
        raise RunRefused(
            [
                f"estate '{estate.name}' has no dataset '{n}'{_close(n, estate.datasets)}"
                for n in unknown
            ]
            + [f"its datasets: {', '.join(sorted(estate.datasets))}"]
        )
    wanted = set(names)
    return [d for d in estate.topological_datasets() if d in wanted]


def preflight(
    estate: Estate,
    datasets: Sequence[str],
    home: Path,
    extracts: Path,
    io_manager: dg.ConfigurableIOManager | None = None,
) -> None:
    """Raise :class:`RunRefused` listing every reason the selected datasets cannot run.

    Inputs count as published where ``io_manager`` stores datasets if it says (its
    ``dataset_store()``), else as Parquet files under ``home``.
    """
    problems: list[tuple[str, bool]] = []
    chosen = set(datasets)
    chooser = getattr(io_manager, "dataset_store", None)
    try:
        store = chooser() if callable(chooser) else None
    except dg.Failure as exc:  # the datasets' store is not configured
        raise RunRefused([exc.description or str(exc)]) from None
    for name in datasets:
        flow = estate.producer(name)
        if flow is None:
            try:
                check_source(estate, name, extracts)
            except SourceError as exc:
                problems.append((str(exc), exc.transient))
            continue
        for needed in flow.inputs:
            owner = estate.dataset_owner[needed]
            if store is not None:
                if needed in chosen:
                    continue
                try:
                    place = f"as {store.location(owner, needed)}"
                    published = is_published(store, owner, needed)
                except Exception as exc:  # e.g. the server did not answer: nothing can run
                    problems.append(
                        (
                            f"could not check whether '{needed}' is published in the datasets' "
                            f"store ({type(exc).__name__}); try again once it answers",
                            True,
                        )
                    )
                    continue
            else:
                published = is_published(FileStore(home), owner, needed)
                place = f"under {home}"
            if needed not in chosen and not published:
                problems.append(
                    (
                        f"flow '{flow.name}' reads '{needed}', which is not selected and has "
                        f"never been published {place}; add --select {needed} or run it first",
                        False,
                    )
                )
    if problems:
        raise RunRefused([p for p, _ in problems], transient=all(t for _, t in problems))


def run_estate(
    estate: Estate,
    home: Path,
    *,
    select: Sequence[str] | None = None,
    as_of: dt.date | None = None,
    extracts: Path | None = None,
    lineage_url: str | None = None,
    launched_by: str | None = None,
    tags: dict[str, str] | None = None,
    acknowledge: Sequence[str] = (),
    workers: int = 0,
    partitions: Sequence[str] = (),
    partition_range: tuple[str, str] | None = None,
) -> RunReport:
    """Check, then materialize the selected datasets of ``estate`` (all by default) into ``home``.

    ``acknowledge`` names datasets whose volume change is expected this once: their volume
    guard warns instead of halting, in the name of ``launched_by``. Where the steps run is the
    environment's :class:`Deployment`; ``workers`` starts that many Celery workers if missing.
    ``partitions`` (keys) and ``partition_range`` (first and last key) choose the periods of
    the partitioned flows selected (see :mod:`dagster_project.run_partitions`).
    """
    home = home.resolve()
    as_of = as_of or dt.date.today()
    settings = TagtrailSettings(
        home=str(home),
        as_of=as_of.isoformat(),
        extracts=str(extracts) if extracts else None,
    )
    datasets = selected(estate, select)
    acknowledged = selected(estate, acknowledge) if acknowledge else []
    deployment = Deployment.from_env()
    deployment.export()
    resources = run_resources(home, settings, lineage_url)
    io_manager = resources["io_manager"]
    assert isinstance(io_manager, dg.ConfigurableIOManager)
    preflight(estate, datasets, home, settings.extracts_folder(estate), io_manager)
    recovery = prepare(home, lineage_url)
    instance_dir = dagster_home(home, deployment)
    keys = [asset_key(estate, d) for d in datasets]
    run_tags = {
        "tagtrail/launched_by": launched_by or getpass.getuser(),
        **launch_tags(),
        **({ACKNOWLEDGE_TAG: ",".join(acknowledged)} if acknowledged else {}),
        **(tags or {}),
    }
    started = time.monotonic()
    parted = partitioned(estate, datasets)
    if (partitions or partition_range) and not parted:
        raise RunRefused(["--partition/--partitions: no selected dataset is partitioned"])
    staged: StagedRuns | None = None
    result: dg.ExecuteInProcessResult | dg.JobExecutionResult
    with open_instance(instance_dir) as instance:
        if parted:
            chooser = getattr(io_manager, "dataset_store", None)
            store = chooser() if callable(chooser) else FileStore(home)
            execute = _period_runner(
                instance, deployment, estate, settings, lineage_url, resources, run_tags
            )
            try:
                with _workers_for(deployment, workers, home):
                    staged = run_periods(
                        execute,
                        estate,
                        datasets,
                        store,
                        Periods(as_of, partitions, partition_range),
                    )
            except PartitionRefused as exc:
                raise RunRefused(exc.problems) from None
            except BrokerUnavailable as exc:
                raise RunRefused([str(exc)], transient=True) from None
            result = staged.results[-1]
        elif deployment.distributed or workers:
            result = _on_workers(
                instance,
                deployment,
                estate,
                settings,
                lineage_url,
                keys if select else None,
                run_tags,
                workers,
                home,
            )
        else:
            defs = build_definitions(estate, resources=run_resources(home, settings, lineage_url))
            result = defs.resolve_job_def(ALL_FLOWS_JOB).execute_in_process(
                instance=instance,
                raise_on_error=False,
                asset_selection=keys if select else None,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                tags=run_tags,
            )
        processes = step_processes(instance, result.run_id)
        unfinished = unfinished_steps(instance, result.run_id)
    outcomes = staged.outcomes if staged else summarise(result, estate, datasets, unfinished)
    halted = any(o.status not in ("published", NO_PERIOD) for o in outcomes)
    runs = zip(staged.results, staged.selections, strict=True) if staged else [(result, datasets)]
    for done, names in runs:
        ran = summarise(done, estate, names) if staged else outcomes
        if staged:  # and what its halt kept out of the later stages
            ran = [*ran, *staged.skipped.get(done.run_id, [])]
        if any(o.status == "not run" for o in ran):
            _record_skipped(home, lineage_url, instance_dir, done.run_id, estate, ran)
    budget = DELIVERY_SHARE * (time.monotonic() - started)
    return RunReport(
        result.run_id,
        all(r.success for r in staged.results) and not halted
        if staged
        else result.success and not halted,
        outcomes,
        instance_dir,
        recovery=recovery,
        delivery=_deliver(home, lineage_url, budget),
        step_pids=processes,
        distributed=deployment.distributed or bool(workers),
        runs_stored=f"PostgreSQL ({DAGSTER_URL_ENV})" if deployment.dagster_url else None,
        run_ids=tuple(r.run_id for r in staged.results) if staged else (result.run_id,),
    )


def _period_runner(
    instance: dg.DagsterInstance,
    deployment: Deployment,
    estate: Estate,
    settings: TagtrailSettings,
    lineage_url: str | None,
    resources: dict[str, object],
    tags: dict[str, str],
) -> Execute:
    """How one stage of a partitioned run executes: on the workers when the deployment says so."""
    if deployment.distributed:

        def on_workers(selection: list[dg.AssetKey], period: str | None) -> Result:
            return execute_on_workers(
                instance,
                deployment,
                estate=estate.root,
                settings=settings,
                lineage_url=lineage_url,
                asset_selection=selection,
                tags={**tags, **({PARTITION_TAG: period} if period else {})},
            )

        return on_workers
    job = build_definitions(estate, resources=resources).resolve_job_def(ALL_FLOWS_JOB)

    def in_process(selection: list[dg.AssetKey], period: str | None) -> Result:
        return job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            asset_selection=selection,
            partition_key=period,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            tags=tags,
        )

    return in_process


@contextmanager
def _workers_for(deployment: Deployment, workers: int, home: Path) -> Iterator[None]:
    """Workers for a distributed run (see :func:`ensure_workers`); nothing otherwise."""
    if not deployment.distributed:
        if workers:
            raise RunRefused([f"--workers needs {EXECUTOR_ENV}=celery (and {DAGSTER_URL_ENV})"])
        yield
        return
    with ensure_workers(deployment, workers, home / "logs"):
        yield


def _on_workers(
    instance: dg.DagsterInstance,
    deployment: Deployment,
    estate: Estate,
    settings: TagtrailSettings,
    lineage_url: str | None,
    keys: list[dg.AssetKey] | None,
    tags: dict[str, str],
    workers: int,
    home: Path,
) -> dg.JobExecutionResult:
    """The run with its steps on Celery workers (``workers`` of them at least, started here if
    missing and stopped after)."""
    if not deployment.distributed:
        raise RunRefused(
            [f"--workers needs {EXECUTOR_ENV}=celery (and {DAGSTER_URL_ENV}); see the README"]
        )
    try:
        with ensure_workers(deployment, workers, home / "logs"):
            return execute_on_workers(
                instance,
                deployment,
                estate=estate.root,
                settings=settings,
                lineage_url=lineage_url,
                asset_selection=keys,
                tags=tags,
            )
    except BrokerUnavailable as exc:
        raise RunRefused([str(exc)], transient=True) from None


def _record_skipped(
    home: Path,
    lineage_url: str | None,
    instance_dir: Path,
    run_id: str,
    estate: Estate,
    outcomes: Sequence[DatasetOutcome],
) -> None:
    """ABORT events for the flows an upstream halt kept from running (their audit records);
    a store that cannot be written loses only these records, which the summary still shows."""
    from dagster_project.skips import record_skipped

    status = {o.dataset: o.status for o in outcomes}
    try:
        with (
            open_store(lineage_url or configured_url(home)) as store,
            dg.DagsterInstance.from_config(str(instance_dir)) as instance,
        ):
            record_skipped(store, instance, run_id, estate, status)
    except StoreError as exc:
        log.warning("the flows not run could not be recorded in the lineage store: %s", exc)


def _deliver(home: Path, lineage_url: str | None, budget_s: float) -> DeliveryReport | None:
    """Send the run's events to the configured backend, for a small share of the run's time;
    what does not go out waits in the store for ``tagtrail events send`` or the sensor."""
    try:
        with open_store(lineage_url or configured_url(home)) as store:
            return deliver(store, budget_s=budget_s, timeout_s=budget_s)
    except StoreError:
        return None
