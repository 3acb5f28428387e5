"""One asset per declared dataset: source extracts and flow outputs, each behind its quality gate.

No ``from __future__ import annotations`` here: Dagster inspects the real ``context`` annotation.
"""

import inspect
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any

import dagster as dg
import pandas as pd

from dagster_project import controls, gate, metadata
from dagster_project.automation import flow_condition
from dagster_project.enforce import run_flow
from dagster_project.halts import halt_message, halting_checks, report_halt
from dagster_project.indb_source import VALIDATED_IN, in_database
from dagster_project.lineage import AssetRun, launch_of
from dagster_project.partition_store import partitions_def, period_of
from dagster_project.resources import TagtrailSettings, volume_of
from dagster_project.sensors import FINGERPRINT
from expectations import GateResult
from lineage.control_facets import ControlsReport
from lineage.propagation import Computed
from pipelines.delivery import DeliveryError
from pipelines.estate import Estate
from pipelines.extracts import ContractError, conform
from pipelines.policy.result import VOLUME, not_evaluated
from pipelines.sources import SourceError, fingerprint, read_source
from pipelines.taxonomy import identifiability

RESOURCE_KEYS = {"settings", "pseudonym_key", "lineage"}


def build_assets(estate: Estate, computed: Computed) -> list[dg.AssetsDefinition]:
    """Every dataset of the estate as an asset, inputs before outputs.

    ``computed`` holds every column's privacy tags as derived by the propagation rules; they are
    what the lineage events carry.
    """
    condition = flow_condition()
    return [
        _dataset_asset(estate, name, computed, condition) for name in estate.topological_datasets()
    ]


def _dataset_asset(
    estate: Estate,
    name: str,
    computed: Computed,
    condition: dg.AutomationCondition,  # type: ignore[type-arg]
) -> dg.AssetsDefinition:
    ds = estate.datasets[name]
    owner = estate.dataset_owner[name]
    flow = estate.producer(name)
    key = metadata.asset_key(estate, name)
    tags = {
        "tagtrail/department": owner,
        "tagtrail/identifiability": identifiability(metadata.dataset_tags(ds)).value,
    }
    if flow:
        tags["tagtrail/agreement"] = flow.agreement
    provenance: dict[str, Any] = {
        "dagster/column_schema": metadata.column_schema(ds),
        "dagster/code_references": metadata.code_references(estate, name),
        **metadata.provenance(estate, name),
    }
    check_specs = [*controls.control_specs(estate, name, key), *gate.check_specs(key, ds)]
    inputs = flow.inputs if flow else ()
    spec = dg.AssetSpec(
        key,
        group_name=owner,
        owners=[f"team:{owner}", estate.departments[owner].steward.email],
        kinds={"pandas", "parquet"} | metadata.source_kinds(estate, name),
        description=ds.description,
        metadata=provenance,
        tags=tags,
        code_version=metadata.code_version(estate, name),
        automation_condition=condition if flow else None,
    )
    output = key.to_python_identifier()

    def _asset(context: dg.AssetExecutionContext, **frames: pd.DataFrame) -> Iterator[Any]:
        _require_whole(context, key, check_specs)
        run = AssetRun(
            estate,
            name,
            computed,
            context.run.run_id,
            context.job_name,
            context.resources.lineage.emitter,
            launch_of(context),
            period_of(context, flow),
        )
        run.emit("START")
        finished = False
        try:
            result: GateResult | None
            extra: dict[str, Any] = {}
            if flow is None:
                indb = in_database(context, estate, name)
                if indb is not None:
                    yield from indb.materialize(context, run, provenance, output)
                    finished = True  # its FAIL event, or the COMPLETE one with the publication
                    return
                frame, result, extra = _source(context, estate, name)
                report = _source_controls(context, estate, name, frame)
                yield from (controls.check_result(r) for r in report.results if r.evaluated)
            else:
                outcome = run_flow(context, estate, computed, flow, frames)
                frame, result, report = outcome.frame, outcome.gate, outcome.report
                yield from (controls.check_result(r) for r in report.results if r.evaluated)
            if result is not None:
                yield from gate.check_results(result)
            halting = list(report.halting) if report else []
            if result is None or not result.passed or halting or frame is None:
                message = halt_message(name, result, halting)
                run.emit("FAIL", gate=result, error_message=message, controls=report)
                finished = True
                context.log.error(f"{name}: held back. {message}")
                report_halt(context, estate, name, halting_checks(result, halting))
                return
            yield dg.Output(
                run.publication(frame, gate=result, controls=report),
                output_name=output,
                metadata={
                    **provenance,
                    **extra,
                    "dagster/row_count": len(frame),
                    "tagtrail/rows_in": sum(len(v) for v in frames.values())
                    if flow
                    else len(frame),
                },
            )
            finished = True  # the COMPLETE event was recorded with the publication
        except Exception as exc:
            if not finished:
                finished = True
                run.emit_if_possible("FAIL", error_message=_failure_text(exc))
            raise
        finally:
            if not finished:
                run.emit_if_possible(
                    "FAIL", error_message="the step stopped before its output was stored"
                )

    # Every asset's function has the same signature, which Dagster reads many times over.
    _asset.__signature__ = _signature(_asset)  # type: ignore[attr-defined]
    # One spec with optional checks: a control that was never reached stays unreported and
    # resolves to "skipped" instead of being reported as if it had run.
    return dg.multi_asset(
        name=output,
        outs={output: dg.AssetOut.from_spec(spec, is_required=False)},
        check_specs=check_specs,
        ins={d: dg.AssetIn(key=metadata.asset_key(estate, d)) for d in inputs},
        can_subset=True,
        required_resource_keys=RESOURCE_KEYS,
        partitions_def=partitions_def(flow.partitions) if flow and flow.partitions else None,
    )(_asset)


_SIGNATURES: dict[CodeType, inspect.Signature] = {}


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The signature every function made from ``fn``'s code has, computed once."""
    if fn.__code__ not in _SIGNATURES:
        _SIGNATURES[fn.__code__] = inspect.signature(fn)
    return _SIGNATURES[fn.__code__]


def _require_whole(
    context: dg.AssetExecutionContext, key: dg.AssetKey, specs: list[dg.AssetCheckSpec]
) -> None:
    """A dataset is only ever materialized together with every one of its checks."""
    missing = {s.key for s in specs} - set(context.selected_asset_check_keys)
    if key not in context.selected_asset_keys or missing:
        raise dg.Failure(
            description=f"{key.to_user_string()} is materialized together with all its checks "
            "(they decide whether it may be stored); select the asset with its checks"
        )


def _source(
    context: dg.AssetExecutionContext, estate: Estate, name: str
) -> tuple[pd.DataFrame | None, GateResult, dict[str, Any]]:
    """A source's data (None if it could not be read), its gate result and what to record of
    it; nothing is written here."""
    ds = estate.datasets[name]
    settings: TagtrailSettings = context.resources.settings
    extracts = settings.extracts_folder(estate)
    try:
        raw = read_source(estate, name, extracts)
        seen = {FINGERPRINT: fingerprint(estate, name, extracts, rows=raw)}
        frame, conformance = conform(raw, ds)
    except DeliveryError as exc:
        failure = gate.contract_failure(estate.suites[name], str(exc), "tagtrail_readable_delivery")
        return None, failure, {}
    except ContractError as exc:
        return None, gate.contract_failure(estate.suites[name], str(exc)), {}
    except (FileNotFoundError, SourceError) as exc:
        transient = isinstance(exc, SourceError) and exc.transient
        raise dg.Failure(
            description=str(exc.problem if isinstance(exc, SourceError) else exc),
            metadata={"tagtrail/source_error": "transient" if transient else "terminal"},
        ) from None
    seen[VALIDATED_IN] = "pandas"
    return frame, gate.evaluate(frame, conformance, ds, estate.suites[name]), seen


def _source_controls(
    context: dg.AssetExecutionContext, estate: Estate, name: str, frame: pd.DataFrame | None
) -> ControlsReport:
    """A source's controls: its volume guard, judged on a delivery that could be read."""
    settings: TagtrailSettings = context.resources.settings
    volume = (
        volume_of(context, estate, name, len(frame))
        if frame is not None
        else not_evaluated(VOLUME, controls.DESCRIPTIONS[VOLUME], "the delivery could not be read")
    )
    return ControlsReport(settings.reference_date(), (volume,))


def _failure_text(exc: Exception) -> str:
    """What the lineage record says about a failure; free-form library errors may quote data."""
    if isinstance(exc, dg.Failure) and exc.description:
        return exc.description
    return f"{type(exc).__name__}: the step failed; details are in the Dagster run log"
