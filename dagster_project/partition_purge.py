"""Periods of a partitioned dataset disposed of whole: expired under retention, or at an
agreement's end.

Each period goes the way a whole dataset does (:mod:`pipelines.disposal`): out of sight first,
its DROP event recorded in the lineage store (the audit trail) before it is destroyed or
archived. The event names the dataset; its reason names the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import dagster as dg

from dagster_project.lineage import launch_of
from dagster_project.partition_store import partition_name, stored_keys
from dagster_project.resources import TagtrailSettings, dataset_store
from lineage.disposal import disposal_event
from lineage.propagation import Computed
from pipelines.disposal import Action, Disposal, archive_path
from pipelines.estate import Estate
from pipelines.model import Flow
from pipelines.partitions import expired

Context = dg.AssetExecutionContext | dg.AssetCheckExecutionContext


def purge_expired_periods(
    context: dg.AssetExecutionContext,
    estate: Estate,
    computed: Computed,
    flow: Flow,
    as_of: dt.date,
) -> list[tuple[str, Disposal]]:
    """Destroy the stored periods of ``flow``'s output that ended more than the agreement's
    retention period before ``as_of``; what was disposed of, by period."""
    agreement = estate.agreements.get(flow.agreement)
    if flow.partitions is None or agreement is None:
        return []
    owner = estate.dataset_owner[flow.output]
    keys = stored_keys(dataset_store(context), owner, flow.output)
    gone = expired(flow.partitions.period, keys, agreement.retention.period, as_of)
    reason = (
        f"past the retention period {agreement.retention.period} of agreement {agreement.id} "
        f"on {as_of}"
    )
    return dispose_periods(context, estate, computed, flow.output, gone, "destroyed", reason)


def dispose_periods(
    context: Context,
    estate: Estate,
    computed: Computed,
    dataset: str,
    keys: Sequence[str],
    action: Action,
    reason: str,
) -> list[tuple[str, Disposal]]:
    """Dispose of the periods ``keys`` of ``dataset``, each recorded before it goes."""
    settings: TagtrailSettings = context.resources.settings
    home = settings.resolved_home()
    owner = estate.dataset_owner[dataset]
    store = dataset_store(context)
    done: list[tuple[str, Disposal]] = []
    for key in keys:
        record = disposal_recorder(context, estate, dataset, computed, f"period {key}: {reason}")

        disposal = store.dispose(
            owner,
            partition_name(store, dataset, key),
            estate.datasets[dataset].primary_key,
            action,
            record,
            archive_to=lambda at, key=key: archive_path(home, owner, f"{dataset}/{key}", at),  # type: ignore[misc]
        )
        if disposal is not None:
            done.append((key, disposal))
            context.log.warning(
                f"{dataset}: period {key}: {disposal.rows} rows {disposal.action} ({reason})"
            )
    return done


def disposal_recorder(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    estate: Estate,
    dataset: str,
    computed: Computed,
    reason: str,
) -> Callable[[Disposal], None]:
    """What records a disposal of ``dataset`` before its data goes: its DROP event, with
    ``reason`` and where an archive went (relative to the home)."""
    home = context.resources.settings.resolved_home()
    launch = launch_of(context)

    def record(disposal: Disposal) -> None:
        archived = disposal.archived_to.relative_to(home) if disposal.archived_to else None
        event = disposal_event(
            estate,
            dataset,
            computed,
            disposal,
            reason=reason,
            archived_to=str(archived) if archived else None,
            launch=launch,
            parent_job_name=context.run.job_name,
        )
        context.resources.lineage.emitter.emit(event)

    return record
