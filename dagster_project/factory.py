"""Build Dagster definitions from an estate of declarations."""

from __future__ import annotations

import dagster as dg

from dagster_project.agreements import (
    AGREEMENT_CHECK,
    agreement_checks,
    agreement_job,
    agreement_schedule,
    received,
)
from dagster_project.assets import build_assets
from dagster_project.automation import automation_sensor
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, PseudonymKey, TagtrailSettings
from dagster_project.sensors import delivery_sensor, skipped_flows_sensor, source_sensor
from lineage.propagation import check_declared, propagate
from pipelines.estate import Estate
from pipelines.heap import young_collections_only
from pipelines.yamlfile import DeclarationError

ALL_FLOWS_JOB = "all_flows"


def build_definitions(
    estate: Estate,
    *,
    resources: dict[str, object] | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    """Everything Dagster needs to run ``estate``.

    One asset per dataset with its gate and controls; the ``all_flows`` job; the source sensor and
    the flows' automation; the daily ``agreement_review`` job and its schedule; default resources.
    ``executor`` (default: Dagster's) runs the jobs' steps, e.g. on Celery workers.
    """
    with young_collections_only():
        return _definitions(estate, resources or {}, executor)


def _definitions(
    estate: Estate, resources: dict[str, object], executor: dg.ExecutorDefinition | None
) -> dg.Definitions:
    computed = propagate(estate)
    if problems := check_declared(estate, computed):
        raise DeclarationError(problems)
    assets = build_assets(estate, computed)
    review = [dg.AssetCheckKey(k, AGREEMENT_CHECK) for k in received(estate)]
    job = dg.define_asset_job(
        ALL_FLOWS_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*review),
        description="Every source extract and every declared flow, each behind its quality gate.",
    )
    review_job = agreement_job(estate)
    defaults: dict[str, object] = {
        "io_manager": DatasetIOManager(),
        "settings": TagtrailSettings(),
        "pseudonym_key": PseudonymKey(),
        "lineage": LineageResource(),
    }
    flows = dg.AssetSelection.assets(*received(estate))
    return dg.Definitions(
        assets=assets,
        asset_checks=[agreement_checks(estate, computed)],
        jobs=[job, review_job],
        schedules=[agreement_schedule(review_job)],
        sensors=[
            automation_sensor(flows),
            source_sensor(estate),
            delivery_sensor(),
            skipped_flows_sensor(estate),
        ],
        resources=defaults | resources,
        executor=executor,
    )
