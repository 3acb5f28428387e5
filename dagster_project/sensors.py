"""A sensor that materializes a source dataset when what it is read from changes.

Each tick takes every source's fingerprint (a file's content hash; a table's row count and latest
``updated_column`` value, or a hash of its rows) and compares it with the one in the cursor; the
changed sources are requested in one run. The flows downstream follow through their automation
condition. On its first tick the sensor starts from the fingerprints recorded with each source's
latest materialization, so data already published is not read again.

No ``from __future__ import annotations``: Dagster inspects the real annotations.
"""

import json

import dagster as dg

from dagster_project.lineage import LineageResource
from dagster_project.metadata import asset_key
from dagster_project.resources import TagtrailSettings
from lineage.delivery import deliver
from pipelines.estate import Estate
from pipelines.sources import SourceError, fingerprint

SOURCE_SENSOR = "tagtrail_sources"
DELIVERY_SENSOR = "tagtrail_delivery"
SKIPPED_SENSOR = "tagtrail_skipped_flows"
FINGERPRINT = "tagtrail/source_fingerprint"
DELIVERY_BUDGET_S = 20.0


def source_sensor(estate: Estate) -> dg.SensorDefinition:
    """The sensor watching every source of ``estate``."""
    names = sorted(estate.sources)
    keys = {name: asset_key(estate, name) for name in names}

    @dg.sensor(
        name=SOURCE_SENSOR,
        asset_selection=dg.AssetSelection.assets(*keys.values()),
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a source dataset when its file's content or its table changes.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext, settings: TagtrailSettings
    ) -> dg.SensorResult | dg.SkipReason:
        seen = _cursor(context, keys)
        extracts = settings.extracts_folder(estate)
        changed: dict[str, str] = {}
        problems: list[str] = []
        for name in names:
            try:
                now = fingerprint(estate, name, extracts)
            except (SourceError, FileNotFoundError) as exc:
                problems.append(str(exc))
                continue
            if seen.get(name) != now:
                changed[name] = now
        for problem in problems:
            context.log.warning(problem)
        if not changed:
            return dg.SkipReason(
                "no source changed" + (f"; {len(problems)} could not be read" if problems else "")
            )
        cursor = json.dumps(seen | changed, sort_keys=True)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=cursor,
                    asset_selection=[keys[n] for n in changed],
                    tags={"tagtrail/trigger": "source_changed"},
                )
            ],
            cursor=cursor,
        )

    return _sensor


def _cursor(context: dg.SensorEvaluationContext, keys: dict[str, dg.AssetKey]) -> dict[str, str]:
    """The fingerprints last seen: the cursor, else those of the latest materializations."""
    if context.cursor:
        return dict(json.loads(context.cursor))
    seen: dict[str, str] = {}
    for name, key in keys.items():
        event = context.instance.get_latest_materialization_event(key)
        materialization = event.asset_materialization if event else None
        value = materialization.metadata.get(FINGERPRINT) if materialization else None
        if value is not None:
            seen[name] = str(value.value)
    return seen


def delivery_sensor() -> dg.SensorDefinition:
    """Sends the events waiting in the store to the configured OpenLineage transport."""

    @dg.sensor(
        name=DELIVERY_SENSOR,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Delivers stored OpenLineage events to the backend OpenLineage's own "
        "configuration names (OPENLINEAGE_URL, openlineage.yml); whatever a down backend "
        "missed goes out on a later tick.",
    )
    def _sensor(context: dg.SensorEvaluationContext, lineage: LineageResource) -> dg.SkipReason:
        report = deliver(lineage.store, budget_s=DELIVERY_BUDGET_S)
        if report is None:
            return dg.SkipReason("no OpenLineage transport is configured: events are only stored")
        if report.pending:
            context.log.warning(report.summary())
        return dg.SkipReason(report.summary())

    return _sensor


def skipped_flows_sensor(estate: Estate) -> dg.SensorDefinition:
    """After a failed run, an ABORT event (a ``flow_skipped`` audit record) for each flow an
    upstream halt kept from running, whoever launched the run."""

    @dg.run_failure_sensor(
        name=SKIPPED_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records the flows a halt upstream kept from running, with the reason, in "
        "the lineage store's audit trail.",
    )
    def _sensor(context: dg.RunFailureSensorContext, lineage: LineageResource) -> None:
        from dagster_project.skips import record_skipped, run_status

        run_id = context.dagster_run.run_id
        status = run_status(context.instance, run_id, estate)
        recorded = record_skipped(lineage.store, context.instance, run_id, estate, status)
        if recorded:
            context.log.info(f"recorded as not run: {', '.join(recorded)}")

    return _sensor
