"""Runs whose steps execute on Celery workers: the job each worker rebuilds, and its launch.

A worker rebuilds the run's job from :func:`estate_job` with the same arguments the launcher
used (the estate's folder, the home, the reference date, ...), so a step there sees exactly the
assets, checks and resources it would see in-process. The launcher coordinates: it submits each
step when its inputs are ready and waits for the workers' results.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg
from celery.exceptions import DuplicateTaskNameWarning
from dagster_celery import celery_executor

from dagster_project.deployment import Deployment
from dagster_project.factory import ALL_FLOWS_JOB, build_definitions
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, TagtrailSettings
from dagster_project.warehouse_io import DATASETS_URL_ENV, WarehouseIOManager
from pipelines.estate import load_estate


def datasets_io_manager(home: Path) -> dg.ConfigurableIOManager:
    """Where datasets are published: PostgreSQL tables when ``TAGTRAIL_DATASETS_URL`` is set
    (its value read where each step runs), else Parquet files under ``home``."""
    if os.environ.get(DATASETS_URL_ENV):
        return WarehouseIOManager(url=dg.EnvVar(DATASETS_URL_ENV))
    return DatasetIOManager(home=str(home))


def run_resources(
    home: Path, settings: TagtrailSettings, lineage_url: str | None
) -> dict[str, object]:
    """The resources a run of an estate under ``home`` uses, in-process or on workers."""
    return {
        "settings": settings,
        "io_manager": datasets_io_manager(home),
        "lineage": LineageResource(home=str(home), url=lineage_url),
    }


def estate_job(
    estate: str,
    home: str,
    as_of: str,
    extracts: str | None = None,
    lineage_url: str | None = None,
) -> dg.JobDefinition:
    """The ``all_flows`` job of the estate in folder ``estate`` on the Celery executor."""
    settings = TagtrailSettings(home=home, as_of=as_of, extracts=extracts)
    defs = build_definitions(
        load_estate(Path(estate)),
        resources=run_resources(Path(home), settings, lineage_url),
        executor=celery_executor,
    )
    return defs.resolve_job_def(ALL_FLOWS_JOB)


def execute_on_workers(
    instance: dg.DagsterInstance,
    deployment: Deployment,
    *,
    estate: Path,
    settings: TagtrailSettings,
    lineage_url: str | None,
    asset_selection: Sequence[dg.AssetKey] | None,
    tags: Mapping[str, str],
) -> dg.JobExecutionResult:
    """Run the estate's job with its steps on the deployment's Celery workers; the result holds
    every event (the run is over when it returns)."""
    job = dg.build_reconstructable_job(
        __name__,
        estate_job.__name__,
        reconstructable_kwargs={
            "estate": str(estate),
            "home": str(settings.home),
            "as_of": str(settings.as_of),
            "extracts": settings.extracts,
            "lineage_url": lineage_url,
        },
    )
    run_config = {
        "execution": {"config": deployment.executor_config()},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    with warnings.catch_warnings():
        # dagster-celery registers its step task again for every step it submits
        warnings.simplefilter("ignore", DuplicateTaskNameWarning)
        with dg.execute_job(
            job,
            instance=instance,
            run_config=run_config,
            tags=tags,
            asset_selection=list(asset_selection) if asset_selection else None,
        ) as result:
            return result


def step_processes(instance: dg.DagsterInstance, run_id: str) -> dict[str, int]:
    """Each step of run ``run_id`` and the id of the process that started it."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.STEP_START, limit=10_000
    ).records
    return {
        r.event_log_entry.step_key: r.event_log_entry.dagster_event.pid
        for r in records
        if r.event_log_entry.step_key and r.event_log_entry.dagster_event
        if r.event_log_entry.dagster_event.pid is not None
    }


def unfinished_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """Steps of run ``run_id`` that started and never reported success or failure (their
    process died: a worker killed or lost)."""
    ended = {
        r.event_log_entry.step_key
        for kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
        for r in instance.get_records_for_run(run_id, of_type=kind, limit=10_000).records
    }
    return set(step_processes(instance, run_id)) - ended
