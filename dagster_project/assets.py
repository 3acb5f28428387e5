"""One asset per declared dataset: source extracts and flow outputs, each behind its quality gate.

No ``from __future__ import annotations`` here: Dagster inspects the real ``context`` annotation.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from dagster_project import gate, metadata
from dagster_project.lineage import AssetRun
from dagster_project.resources import PseudonymKey, TagtrailSettings
from expectations import GateResult
from lineage.propagation import Computed
from pipelines.estate import Estate
from pipelines.extracts import ContractError, conform, extract_path, read_extract
from pipelines.model import Flow
from pipelines.taxonomy import Masking, identifiability
from pipelines.transform import MissingKeyError, TransformContext

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
        check_specs=gate.check_specs(key, ds),
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
        )
        run.emit("START")
        finished = False
        try:
            frame, result = _validated(context, estate, name, inputs)
            gate_result, warn_result = gate.check_results(result)
            yield gate_result
            yield warn_result
            if not gate_result.passed:
                run.emit("FAIL", gate=result, error_message=gate_result.description)
                finished = True
                context.log.error(
                    f"{name}: held back by its quality gate. {gate_result.description}"
                )
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
            run.emit("COMPLETE", gate=result, row_count=len(frame), lifecycle="OVERWRITE")
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


def _validated(
    context: dg.AssetExecutionContext, estate: Estate, name: str, inputs: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, GateResult]:
    """The dataset's data and its gate result; nothing is written here."""
    ds = estate.datasets[name]
    flow = estate.producer(name)
    settings: TagtrailSettings = context.resources.settings
    try:
        if flow is None:
            path = extract_path(settings.resolved_home(), estate.dataset_owner[name], name)
            frame, conformance = read_extract(path, ds)
        else:
            frame, conformance = conform(_run_transform(context, estate, flow, inputs), ds)
    except ContractError as exc:
        return pd.DataFrame(), gate.contract_failure(ds, estate.suites[name], str(exc))
    except FileNotFoundError as exc:
        raise dg.Failure(
            description=f"{exc}. Deliver the extract, or run `tagtrail demo` to generate it."
        ) from None
    return frame, gate.evaluate(frame, conformance, ds, estate.suites[name])


def _failure_text(exc: Exception) -> str:
    """What the lineage record says about a failure; free-form library errors may quote data."""
    if isinstance(exc, dg.Failure) and exc.description:
        return exc.description
    return f"{type(exc).__name__}: the step failed; details are in the Dagster run log"


def _run_transform(
    context: dg.AssetExecutionContext, estate: Estate, flow: Flow, inputs: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    settings: TagtrailSettings = context.resources.settings
    key_resource: PseudonymKey = context.resources.pseudonym_key
    needs_key = any(d.masking is Masking.KEYED_HASH for d in flow.columns.values())
    key = key_resource.load(settings.resolved_home()) if needs_key else None
    ctx = TransformContext(
        flow=flow.name,
        as_of=settings.reference_date(),
        min_cell_count=estate.agreements[flow.agreement].disclosure.min_cell_count,
        _key=key,
    )
    try:
        out = estate.transforms[flow.name](ctx, **inputs)
    except MissingKeyError as exc:
        raise dg.Failure(description=str(exc)) from None
    if not isinstance(out, pd.DataFrame):
        raise dg.Failure(
            description=f"transform {flow.transform} returned {type(out).__name__}, not a pandas DataFrame"
        )
    return out
