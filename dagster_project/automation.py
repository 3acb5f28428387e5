"""Declarative automation that never runs a flow on held-back data.

A flow runs when its inputs are updated (``eager``), but only while none of its inputs is held
back: the latest evaluation of every check of every input either passed or failed at WARN. Dagster's
own ``all_deps_blocking_checks_passed`` cannot say this for tagtrail's checks: they halt by not
storing the data rather than by failing the step (so the run of a halt succeeds and what did not run
shows as skipped, not failed), which makes them non-blocking in Dagster's terms, and it would also
stop on warnings. The condition is plain Python, so its sensor evaluates it in the code server.
"""

from __future__ import annotations

import warnings

import dagster as dg

AUTOMATION_SENSOR = "tagtrail_automation"
_FAILED = "FAILED"


class NotHeldBack(dg.AutomationCondition):  # type: ignore[type-arg]
    """True for a dataset unless one of its checks' latest evaluations failed at ERROR severity."""

    @property
    def name(self) -> str:
        return "not_held_back"

    @property
    def description(self) -> str:
        return "no check of this dataset last failed at ERROR severity (it is not held back)"

    @property
    def requires_cursor(self) -> bool:
        return False

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:  # type: ignore[type-arg]
        node = context.asset_graph.get(context.key)
        storage = context.asset_graph_view.instance.event_log_storage
        records = storage.get_latest_asset_check_execution_by_key(list(node.check_keys))
        held = [
            key
            for key, record in records.items()
            if record.status.value == _FAILED
            and record.evaluation is not None
            and record.evaluation.severity == dg.AssetCheckSeverity.ERROR
        ]
        if held:
            names = ", ".join(sorted(k.name for k in held))
            context.log.info(f"{context.key.to_user_string()} is held back by {names}")
        subset = context.get_empty_subset() if held else context.candidate_subset
        return dg.AutomationResult(context=context, true_subset=subset)


def flow_condition() -> dg.AutomationCondition:  # type: ignore[type-arg]
    """Run when inputs update, never while an input is held back."""
    ready = dg.AutomationCondition.all_deps_match(
        NotHeldBack() | dg.AutomationCondition.will_be_requested()
    ).with_label("no input held back")
    return dg.AutomationCondition.eager() & ready


def automation_sensor(selection: dg.AssetSelection) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the flows' conditions in the code server, where the Python condition lives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.AutomationConditionSensorDefinition(
            AUTOMATION_SENSOR,
            target=selection,
            use_user_code_server=True,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description="Materializes a flow when its inputs are updated and none is held back.",
        )
