"""OpenLineage run events for one tagtrail asset run: plain functions, no I/O.

One job per dataset, in the namespace of the department that owns it; the Dagster run is the
parent (and root) run. Decisions a reader needs to know:

- A source extract's input is what it is read from, in the owner's namespace: a file named after
  its place under the extracts folder (``extracts/<department>/<dataset>.csv``), so lineage does
  not depend on where a machine keeps its files, or a SQL table (``[schema.]table``).
- The publication gate checks the asset's own data before it is stored, so its outcomes go on the
  output dataset, as a dataset facet ``dataQualityAssertions`` (the facet's schema is an
  input-dataset facet; the core schema accepts any base facet under ``facets``), and on the run as
  the standard ``test`` facet (see :mod:`lineage.gate_facets`). Only the expectation type, column,
  success, severity, description and row counts are sent: never failing keys, observed values,
  rule values or exception text.
- Every input and output carries ``symlinks``, naming it as table ``<department>.<dataset>``
  (see :mod:`lineage.symlinks`), so catalogues that need ``schema.table`` names can place it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from importlib import metadata
from typing import Any, Final, Literal

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    dataset_version_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    tags_dataset,
)
from openlineage.client.serde import Serde

from expectations.results import GateResult
from lineage.control_facets import (
    AUDIT_KEY,
    CONTROLS_KEY,
    ControlsReport,
    Launch,
    audit_facet,
    controls_facet,
)
from lineage.facets import (
    FACET_KEY,
    column_lineage_facet,
    extract_name,
    namespace,
    privacy_facet,
)
from lineage.gate_facets import assertions_facet, gate_message, gate_test_facet
from lineage.propagation import ColumnTags
from lineage.symlinks import extract_table_name, symlinks_facet, table_name
from pipelines.estate import Estate

__all__ = [
    "PRODUCER",
    "build_event",
    "column_facets",
    "extract_name",
    "namespace",
    "parent_facet",
    "to_dict",
    "to_json",
]


@functools.cache
def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


TAGTRAIL_VERSION: Final = _version("tagtrail")
PRODUCER: Final = f"https://tagtrail.dev/tagtrail/{TAGTRAIL_VERSION}"
PARENT_NAMESPACE: Final = "dagster"
TAG_SOURCE: Final = "tagtrail"

EventTypeName = Literal["START", "COMPLETE", "FAIL", "ABORT"]
Computed = Mapping[tuple[str, str], ColumnTags]


def build_event(
    event_type: EventTypeName,
    *,
    estate: Estate,
    dataset: str,
    run_id: str,
    parent_run_id: str,
    parent_job_name: str,
    event_time: dt.datetime,
    computed: Computed,
    gate: GateResult | None = None,
    row_count: int | None = None,
    error_message: str | None = None,
    producer: str = PRODUCER,
    lifecycle: str | None = None,
    launch: Launch | None = None,
    controls: ControlsReport | None = None,
    version: str | None = None,
    skipped_because: list[dict[str, str]] | None = None,
) -> RunEvent:
    """The START, COMPLETE, FAIL or ABORT event of the run that materialises ``dataset``.

    ABORT is a flow that did not run because ``skipped_because`` (upstream datasets held back
    or failed; it needs ``launch``, whose audit facet carries them).
    ``gate`` adds ``dataQualityAssertions`` and the ``test`` run facet on COMPLETE and FAIL;
    ``row_count`` adds ``outputStatistics`` on COMPLETE; ``lifecycle`` (an OpenLineage lifecycle
    state such as ``OVERWRITE``) adds ``lifecycleStateChange``; FAIL always carries
    ``errorMessage``.
    ``event_time`` must be timezone-aware. ``error_message`` is sent as given: it must not quote
    data values. ``launch`` adds the ``tagtrail_audit`` run facet; ``controls`` (on COMPLETE and
    FAIL) the ``tagtrail_controls`` output facet; ``version`` (the SHA-256 of the published file)
    the output's ``version`` facet.
    """
    state = RunState(event_type)
    if state not in (RunState.START, RunState.COMPLETE, RunState.FAIL, RunState.ABORT):
        raise ValueError(f"event_type must be START, COMPLETE, FAIL or ABORT, not {event_type!r}")
    if event_time.tzinfo is None:
        raise ValueError("event_time must be timezone-aware (e.g. datetime.now(timezone.utc))")
    finished = state in (RunState.COMPLETE, RunState.FAIL)
    owner = estate.dataset_owner[dataset]
    flow = estate.producer(dataset)
    run_facets: dict[str, Any] = {
        "parent": parent_facet(parent_run_id, parent_job_name, producer),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=_version("dagster"),
            name="dagster",
            openlineageAdapterVersion=TAGTRAIL_VERSION,
            producer=producer,
        ),
    }
    if launch is not None:
        run_facets[AUDIT_KEY] = audit_facet(
            launch,
            department=owner,
            agreement=flow.agreement if flow else None,
            purpose=flow.purpose if flow else None,
            producer=producer,
            skipped_because=skipped_because,
        )
    if finished and gate is not None:
        run_facets["test"] = gate_test_facet(gate, producer=producer)
    if state is RunState.FAIL:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error_message or gate_message(gate),
            programmingLanguage="python",
            producer=producer,
        )
    inputs = (
        [_input(estate, d, computed, producer) for d in flow.inputs]
        if flow
        else [_extract_input(estate, dataset, computed, producer)]
    )
    output = _output(estate, dataset, computed, producer)
    extra: dict[str, Any] = {}
    if finished and gate is not None:
        extra["dataQualityAssertions"] = assertions_facet(gate, producer=producer)
    if finished and controls is not None:
        extra[CONTROLS_KEY] = controls_facet(controls, producer=producer)
    if lifecycle is not None:
        state_change = lifecycle_state_change_dataset.LifecycleStateChange(lifecycle)
        extra["lifecycleStateChange"] = (
            lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                lifecycleStateChange=state_change, producer=producer
            )
        )
    if version is not None:
        extra["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=version, producer=producer
        )
    output.facets = {**(output.facets or {}), **extra}
    if state is RunState.COMPLETE and row_count is not None:
        output.outputFacets = {
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=row_count, producer=producer
            )
        }
    return RunEvent(
        eventType=state,
        eventTime=event_time.isoformat(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(
            namespace=namespace(owner), name=dataset, facets=_job_facets(estate, dataset, producer)
        ),
        inputs=inputs,
        outputs=[output],
        producer=producer,
    )


def to_dict(event: RunEvent) -> dict[str, Any]:
    """The event as JSON-safe data (nulls dropped), as OpenLineage's serde gives it."""
    return Serde.to_dict(event)


def to_json(event: RunEvent) -> str:
    """The event as JSON text, keys sorted."""
    return Serde.to_json(event)


def parent_facet(run_id: str, job_name: str, producer: str) -> parent_run.ParentRunFacet:
    """The Dagster run as parent and root of a tagtrail run."""
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=PARENT_NAMESPACE, name=job_name),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=run_id),
            job=parent_run.RootJob(namespace=PARENT_NAMESPACE, name=job_name),
        ),
        producer=producer,
    )


def _job_facets(estate: Estate, dataset: str, producer: str) -> dict[str, Any]:
    flow = estate.producer(dataset)
    ds = estate.datasets[dataset]
    owner = estate.dataset_owner[dataset]
    steward = estate.departments[owner].steward
    text = flow.description if flow else f"Reads the source extract: {ds.description}"
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="TAGTRAIL", jobType="ASSET", producer=producer
        ),
        "documentation": documentation_job.DocumentationJobFacet(
            description=" ".join(text.split()), producer=producer
        ),
        "ownership": ownership_job.OwnershipJobFacet(
            owners=[
                ownership_job.Owner(name=f"team:{owner}", type="OWNER"),
                ownership_job.Owner(name=f"user:{steward.email}", type="STEWARD"),
            ],
            producer=producer,
        ),
    }


def column_facets(
    estate: Estate, dataset: str, computed: Computed, producer: str
) -> dict[str, Any]:
    """``schema``, column-level ``tags``, ``tagtrail_privacy`` and ``symlinks`` of a dataset."""
    ds = estate.datasets[dataset]
    owner = estate.dataset_owner[dataset]
    tags = [
        tags_dataset.TagsDatasetFacetFields(
            key=tag, value=ct.identifiability.value, source=TAG_SOURCE, field=c.name
        )
        for c in ds.columns
        for ct in [computed[(dataset, c.name)]]
        for tag in ct.tags
    ]
    return {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=c.name,
                    type=c.type.value,
                    description=c.description or None,
                    ordinal_position=i,
                )
                for i, c in enumerate(ds.columns, start=1)
            ],
            producer=producer,
        ),
        "tags": tags_dataset.TagsDatasetFacet(tags=tags, producer=producer),
        FACET_KEY: privacy_facet(estate, dataset, computed, producer=producer),
        "symlinks": symlinks_facet(table_name(owner, dataset), producer=producer),
    }


def _input(estate: Estate, dataset: str, computed: Computed, producer: str) -> InputDataset:
    owner = estate.dataset_owner[dataset]
    facets = column_facets(estate, dataset, computed, producer)
    return InputDataset(namespace=namespace(owner), name=dataset, facets=facets)


def _extract_input(estate: Estate, dataset: str, computed: Computed, producer: str) -> InputDataset:
    owner = estate.dataset_owner[dataset]
    ds = estate.datasets[dataset]
    facets = column_facets(estate, dataset, computed, producer)
    facets["symlinks"] = symlinks_facet(extract_table_name(owner, dataset), producer=producer)
    facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
        description=f"Extract from {ds.source_system} ({estate.sources[dataset].describe()}), "
        f"as delivered: {ds.description}",
        producer=producer,
    )
    return InputDataset(
        namespace=namespace(owner), name=extract_name(estate, dataset), facets=facets
    )


def _output(estate: Estate, dataset: str, computed: Computed, producer: str) -> OutputDataset:
    owner = estate.dataset_owner[dataset]
    steward = estate.departments[owner].steward
    facets = column_facets(estate, dataset, computed, producer)
    facets["columnLineage"] = column_lineage_facet(estate, dataset, producer=producer)
    facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
        owners=[
            ownership_dataset.Owner(name=f"team:{owner}", type="OWNER"),
            ownership_dataset.Owner(name=f"user:{steward.email}", type="STEWARD"),
        ],
        producer=producer,
    )
    facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
        description=estate.datasets[dataset].description, producer=producer
    )
    return OutputDataset(namespace=namespace(owner), name=dataset, facets=facets)
