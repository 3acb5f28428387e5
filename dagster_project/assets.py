"""One asset per declared dataset: source extracts and flow outputs, each behind its quality gate.

No ``from __future__ import annotations`` here: Dagster inspects the real ``context`` annotation.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from dagster_project import controls, gate, metadata
from dagster_project.enforce import run_flow
from dagster_project.lineage import AssetRun, launch_of
from dagster_project.resources import TagtrailSettings
from expectations import GateResult
from lineage.propagation import Computed
from pipelines.estate import Estate
from pipelines.extracts import ContractError, extract_path, read_extract
from pipelines.policy.result import ControlResult
from pipelines.taxonomy import identifiability

RESOURCE_KEYS = {"settings", "pseudonym_key", "lineage"}


def build_assets(estate: Estate, computed: Computed) -> list[dg.AssetsDefinition]:
    """Every dataset of the estate as an asset, inputs before outputs.

    ``computed`` holds every column's privacy tags as derived by the propagation rules; they are
    what the lineage events carry.
    """
    return [_dataset_asset(estate, name, computed) for name in estate.topological_datasets()]


def _dataset_asset(estate: Estate, name: str, computed: Computed) -> dg.AssetsDefinition:
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

    @dg.asset(
        key=key,
        ins={d: dg.AssetIn(key=metadata.asset_key(estate, d)) for d in flow.inputs}
        if flow
        else None,
        group_name=owner,
        owners=[f"team:{owner}", estate.departments[owner].steward.email],
        kinds={"pandas", "parquet"} | ({"csv"} if flow is None else set()),
        description=ds.description,
        metadata=provenance,
        tags=tags,
        code_version=metadata.code_version(estate, name),
        check_specs=[*controls.control_specs(estate, name, key), *gate.check_specs(key, ds)],
        output_required=False,
        required_resource_keys=RESOURCE_KEYS,
    )
    def _asset(context: dg.AssetExecutionContext, **inputs: pd.DataFrame) -> Iterator[Any]:
        run = AssetRun(
            estate,
            name,
            computed,
            context.run_id,
            context.job_name,
            context.resources.lineage.emitter,
            launch_of(context),
        )
        run.emit("START")
        finished = False
        try:
            if flow is None:
                frame, result = _source(context, estate, name)
                report = None
            else:
                outcome = run_flow(context, estate, computed, flow, inputs)
                frame, result, report = outcome.frame, outcome.gate, outcome.report
                yield from (controls.check_result(r) for r in report.results)
            yield from gate.check_results(result) if result else gate.not_evaluated()
            halting = list(report.halting) if report else []
            if result is None or not result.passed or halting or frame is None:
                message = _halt_message(name, result, halting)
                run.emit("FAIL", gate=result, error_message=message, controls=report)
                finished = True
                context.log.error(f"{name}: held back. {message}")
                return
            yield dg.Output(
                frame,
                metadata={
                    **provenance,
                    "dagster/row_count": len(frame),
                    "tagtrail/rows_in": sum(len(v) for v in inputs.values())
                    if flow
                    else len(frame),
                },
            )
            run.emit(
                "COMPLETE",
                gate=result,
                row_count=len(frame),
                lifecycle="OVERWRITE",
                controls=report,
            )
            finished = True
        except Exception as exc:
            if not finished:
                finished = True
                run.emit("FAIL", error_message=_failure_text(exc))
            raise
        finally:
            if not finished:
                run.emit("FAIL", error_message="the step stopped before its output was stored")

    return _asset


def _source(
    context: dg.AssetExecutionContext, estate: Estate, name: str
) -> tuple[pd.DataFrame, GateResult]:
    """A source extract's data and its gate result; nothing is written here."""
    ds = estate.datasets[name]
    settings: TagtrailSettings = context.resources.settings
    path = extract_path(settings.resolved_home(), estate.dataset_owner[name], name)
    try:
        frame, conformance = read_extract(path, ds)
    except ContractError as exc:
        return pd.DataFrame(), gate.contract_failure(ds, estate.suites[name], str(exc))
    except FileNotFoundError as exc:
        raise dg.Failure(
            description=f"{exc}. Deliver the extract, or run `tagtrail demo` to generate it."
        ) from None
    return frame, gate.evaluate(frame, conformance, ds, estate.suites[name])


def _halt_message(name: str, result: GateResult | None, halting: list[ControlResult]) -> str:
    """Why the dataset was held back: the failed controls, then the failed gate."""
    parts = [f"{r.control} failed: {r.summary}" for r in halting]
    if result is not None and not result.passed:
        parts.append(gate.summary(result))
    return "; ".join(parts) or f"{name} was not produced"


def _failure_text(exc: Exception) -> str:
    """What the lineage record says about a failure; free-form library errors may quote data."""
    if isinstance(exc, dg.Failure) and exc.description:
        return exc.description
    return f"{type(exc).__name__}: the step failed; details are in the Dagster run log"
