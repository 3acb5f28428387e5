"""The daily agreement review: each agreement's term checked, and its end enforced.

Every dataset received under an agreement carries an ``agreement_term`` check, run by the
``agreement_review`` job (daily at 06:00 by its schedule) without materializing anything. It warns
stewards ``expiry_warning_days`` ahead of an agreement's end or review. Once the agreement has
ended it disposes of the dataset, destroyed or archived as the agreement says, recording a DROP
event and an audit record before the file or table goes (see :mod:`pipelines.disposal`); an
archived table is kept as a Parquet file under the home's ``archive/``, like an archived file.

No ``from __future__ import annotations``: Dagster inspects the real ``context`` annotation.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg

from dagster_project.metadata import asset_key
from dagster_project.partition_purge import disposal_recorder
from dagster_project.resources import TagtrailSettings, dataset_store
from lineage.propagation import Computed
from pipelines.disposal import Action, Disposal, archive_path
from pipelines.estate import Estate
from pipelines.policy.agreement import Term

AGREEMENT_CHECK = "agreement_term"
AGREEMENT_JOB = "agreement_review"
SCHEDULE = "0 6 * * *"

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

    from pipelines.model import Agreement


def received(estate: Estate) -> dict[dg.AssetKey, str]:
    """Every dataset received under an agreement (a flow's output), by asset key."""
    return {asset_key(estate, f.output): f.output for f in estate.flows.values()}


def agreement_checks(estate: Estate, computed: Computed) -> dg.AssetChecksDefinition:
    """One ``agreement_term`` check per dataset received under an agreement."""
    datasets = received(estate)
    specs = [
        dg.AssetCheckSpec(
            AGREEMENT_CHECK,
            asset=key,
            description="The agreement this dataset was received under is in force and not "
            "about to end or due for review; once it has ended, the dataset is disposed of.",
        )
        for key in datasets
    ]

    @dg.multi_asset_check(
        specs=specs,
        name="review_agreements",
        can_subset=True,
        required_resource_keys={"settings", "lineage", "io_manager"},
    )
    def _review(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        for check in sorted(context.selected_asset_check_keys, key=lambda k: k.to_user_string()):
            yield _review_one(context, estate, computed, datasets[check.asset_key])

    return _review


def agreement_job(estate: Estate) -> "UnresolvedAssetJobDefinition":
    """Runs every ``agreement_term`` check and nothing else."""
    keys = [dg.AssetCheckKey(k, AGREEMENT_CHECK) for k in received(estate)]
    return dg.define_asset_job(
        AGREEMENT_JOB,
        selection=dg.AssetSelection.checks(*keys),
        description="Reviews every data-sharing agreement: warns before an end or a review, "
        "disposes of what was received under an agreement that has ended.",
    )


def agreement_schedule(job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    """The review, every day at 06:00."""
    return dg.ScheduleDefinition(
        name=f"{AGREEMENT_JOB}_daily",
        job=job,
        cron_schedule=SCHEDULE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def _review_one(
    context: dg.AssetCheckExecutionContext, estate: Estate, computed: Computed, dataset: str
) -> dg.AssetCheckResult:
    flow = estate.producer(dataset)
    assert flow is not None
    key = asset_key(estate, dataset)
    agreement = estate.agreements.get(flow.agreement)
    if agreement is None:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=AGREEMENT_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"agreement '{flow.agreement}' is not declared; the flow halts on its "
            "next run and nothing received can be judged against it",
        )
    settings: TagtrailSettings = context.resources.settings
    assert estate.manifest is not None
    term = Term(agreement, settings.reference_date(), estate.manifest.policy.expiry_warning_days)
    metadata: dict[str, dg.RawMetadataValue] = {
        "agreement": f"{agreement.id}: {agreement.title}",
        "ends": agreement.end.isoformat(),
        "review": agreement.review.isoformat(),
        "days_to_end": term.days_to_end,
        "days_to_review": term.days_to_review,
        "on_end": agreement.on_end,
        "as_of": term.as_of.isoformat(),
    }
    description = term.summary()
    if term.ended:
        disposal = _dispose(context, estate, computed, dataset, term)
        if disposal is not None:
            metadata |= {
                "disposal": disposal.action,
                "count/rows": disposal.rows,
                "keys_sha256": disposal.keys_sha256,
            }
            description += f"; {disposal.rows} rows {disposal.action} on {disposal.at:%Y-%m-%d}"
        else:
            description += "; nothing of it is held"
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=AGREEMENT_CHECK,
        passed=not term.findings,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


def _dispose(
    context: dg.AssetCheckExecutionContext,
    estate: Estate,
    computed: Computed,
    dataset: str,
    term: Term,
) -> Disposal | None:
    """Dispose of the dataset as its agreement says, its DROP event recorded before it goes."""
    settings: TagtrailSettings = context.resources.settings
    home = settings.resolved_home()
    owner = estate.dataset_owner[dataset]
    agreement = term.agreement
    action: Action = "archived" if agreement.on_end == "archive" else "destroyed"

    record = disposal_recorder(
        context, estate, dataset, computed, f"agreement {agreement.id} ended on {agreement.end}"
    )

    disposal = dataset_store(context).dispose(
        owner,
        dataset,
        estate.datasets[dataset].primary_key,
        action,
        record,
        archive_to=lambda at: archive_path(home, owner, dataset, at),
    )
    periods = _dispose_periods(context, estate, computed, dataset, action, agreement)
    if periods:
        disposal = _total(disposal, periods)
    if disposal is not None:
        context.log.warning(
            f"{dataset}: {disposal.rows} rows {disposal.action}: agreement {agreement.id} ended "
            f"on {agreement.end}"
        )
    return disposal


def _dispose_periods(
    context: dg.AssetCheckExecutionContext,
    estate: Estate,
    computed: Computed,
    dataset: str,
    action: Action,
    agreement: "Agreement",
) -> list[Disposal]:
    """Every stored period of a partitioned dataset, disposed of as the agreement says."""
    from dagster_project.partition_purge import dispose_periods
    from dagster_project.partition_store import partitioning, stored_keys

    if partitioning(estate, dataset) is None:
        return []
    keys = stored_keys(dataset_store(context), estate.dataset_owner[dataset], dataset)
    reason = f"agreement {agreement.id} ended on {agreement.end}"
    return [d for _, d in dispose_periods(context, estate, computed, dataset, keys, action, reason)]


def _total(whole: Disposal | None, periods: list[Disposal]) -> Disposal:
    """One summary of a dataset's disposal: its rows in every period (the keys' hash and the
    archive of the first; each period has its own audit record)."""
    first = whole or periods[0]
    rows = sum(d.rows for d in periods) + (whole.rows if whole else 0)
    return Disposal(first.action, rows, first.keys_sha256, first.at, first.archived_to)
