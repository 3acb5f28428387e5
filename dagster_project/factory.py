"""Build Dagster definitions from an estate of declarations."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import build_assets
from dagster_project.automation import automation_sensor
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, PseudonymKey, TagtrailSettings
from lineage.propagation import check_declared, propagate
from pipelines.estate import Estate
from pipelines.yamlfile import DeclarationError

ALL_FLOWS_JOB = "all_flows"


def build_definitions(
    estate: Estate, *, resources: dict[str, object] | None = None
) -> dg.Definitions:
    """Assets, checks, the ``all_flows`` job and default resources for ``estate``."""
    computed = propagate(estate)
    if problems := check_declared(estate, computed):
        raise DeclarationError(problems)
    assets = build_assets(estate, computed)
    job = dg.define_asset_job(
        ALL_FLOWS_JOB,
        selection=dg.AssetSelection.all(),
        description="Every source extract and every declared flow, each behind its quality gate.",
    )
    defaults: dict[str, object] = {
        "io_manager": DatasetIOManager(),
        "settings": TagtrailSettings(),
        "pseudonym_key": PseudonymKey(),
        "lineage": LineageResource(),
    }
    flows = dg.AssetSelection.assets(*[a.key for a in assets if estate.producer(a.key.path[-1])])
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        sensors=[automation_sensor(flows)],
        resources=defaults | (resources or {}),
    )
