"""The record of a dataset's disposal when its agreement ends: an OpenLineage DROP event.

One COMPLETE event of the ``agreement_review`` job in the owner's namespace, whose output is the
disposed dataset with ``lifecycleStateChange: DROP`` and the ``tagtrail_disposal`` facet (what was
done, under which agreement, how many rows, a SHA-256 of their keys, where an archive went). The
dataset keeps its schema and column tags, so the store still shows what was disposed of. The run
id (a UUIDv7 from OpenLineage's client, derived from the disposal) and time come from the disposal
itself, so recording the same disposal twice stores it once.
Schema: ``lineage/schemas/TagtrailDisposalDatasetFacet.json`` (1.0.1).
"""

from __future__ import annotations

from typing import Final

import attr
from openlineage.client.event_v2 import Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import lifecycle_state_change_dataset
from openlineage.client.generated.base import DatasetFacet
from openlineage.client.uuid import generate_static_uuid

from lineage.control_facets import AUDIT_KEY, Launch, audit_facet
from lineage.events import PRODUCER, Computed, column_facets, namespace, parent_facet
from pipelines.disposal import Disposal
from pipelines.estate import Estate

DISPOSAL_KEY: Final = "tagtrail_disposal"
DISPOSAL_JOB: Final = "agreement_review"
DISPOSAL_SCHEMA_URL: Final = (
    "https://tagtrail.dev/spec/facets/1-0-1/TagtrailDisposalDatasetFacet.json#/$defs/DatasetFacet"
)


@attr.define
class TagtrailDisposalDatasetFacet(DatasetFacet):
    """What was done to the dataset when its agreement ended; never a data value."""

    action: str
    agreement: str
    reason: str
    rows: int
    keysSha256: str
    archivedTo: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return DISPOSAL_SCHEMA_URL


def disposal_event(
    estate: Estate,
    dataset: str,
    computed: Computed,
    disposal: Disposal,
    *,
    reason: str,
    archived_to: str | None,
    launch: Launch,
    parent_job_name: str,
    producer: str = PRODUCER,
) -> RunEvent:
    """The DROP event recording ``disposal`` of ``dataset`` under its flow's agreement."""
    flow = estate.producer(dataset)
    assert flow is not None, f"{dataset} was not received under an agreement"
    owner = estate.dataset_owner[dataset]
    facets = column_facets(estate, dataset, computed, producer)
    facets["lifecycleStateChange"] = (
        lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange.DROP,
            producer=producer,
        )
    )
    facets[DISPOSAL_KEY] = TagtrailDisposalDatasetFacet(
        producer=producer,
        action=disposal.action,
        agreement=flow.agreement,
        reason=reason,
        rows=disposal.rows,
        keysSha256=disposal.keys_sha256,
        archivedTo=archived_to,
    )
    key = f"{owner}/{dataset}/{flow.agreement}/{disposal.keys_sha256}/{disposal.at.isoformat()}"
    run_facets = {
        "parent": parent_facet(launch.dagster_run_id, parent_job_name, producer),
        AUDIT_KEY: audit_facet(
            launch,
            department=owner,
            agreement=flow.agreement,
            purpose=flow.purpose,
            producer=producer,
        ),
    }
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=disposal.at.isoformat(),
        run=Run(runId=str(generate_static_uuid(disposal.at, key.encode())), facets=run_facets),
        job=Job(namespace=namespace(owner), name=DISPOSAL_JOB),
        inputs=[],
        outputs=[OutputDataset(namespace=namespace(owner), name=dataset, facets=facets)],
        producer=producer,
    )
