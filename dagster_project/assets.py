"""One asset per declared dataset: source extracts and flow outputs, each behind its quality gate.

No ``from __future__ import annotations`` here: Dagster inspects the real ``context`` annotation.
"""


from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from dagster_project import gate, metadata
from dagster_project.resources import PseudonymKey, TagtrailSettings
from pipelines.estate import Estate
from pipelines.extracts import Conformance, ContractError, conform, extract_path, read_extract
from pipelines.model import Flow
from pipelines.taxonomy import Masking, identifiability
from pipelines.transform import MissingKeyError, TransformContext

RESOURCE_KEYS = {"settings", "pseudonym_key"}


def build_assets(estate: Estate) -> list[dg.AssetsDefinition]:
    """Every dataset of the estate as an asset, inputs before outputs."""
    return [_dataset_asset(estate, name) for name in estate.topological_datasets()]


def _dataset_asset(estate: Estate, name: str) -> dg.AssetsDefinition:
    ds = estate.datasets[name]
    owner = estate.dataset_owner[name]
    flow = estate.producer(name)
    key = metadata.asset_key(estate, name)
    tags = {"tagtrail/department": owner, "tagtrail/identifiability": identifiability(metadata.dataset_tags(ds)).value}
    if flow:
        tags["tagtrail/agreement"] = flow.agreement
    definition_metadata: dict[str, Any] = {
        "dagster/column_schema": metadata.column_schema(ds),
        "dagster/code_references": metadata.code_references(estate, name),
        **metadata.provenance(estate, name),
    }

    @dg.asset(
        key=key,
        ins={d: dg.AssetIn(key=metadata.asset_key(estate, d)) for d in flow.inputs} if flow else None,
        group_name=owner,
        owners=[f"team:{owner}", estate.departments[owner].steward.email],
        kinds={"pandas", "parquet"} | ({"csv"} if flow is None else set()),
        description=ds.description,
        metadata=definition_metadata,
        tags=tags,
        code_version=metadata.code_version(estate, name),
        check_specs=gate.check_specs(key, ds),
        output_required=False,
        required_resource_keys=RESOURCE_KEYS,
    )
    def _asset(context: dg.AssetExecutionContext, **inputs: pd.DataFrame) -> Iterator[Any]:
        settings: TagtrailSettings = context.resources.settings
        try:
            if flow is None:
                path = extract_path(settings.resolved_home(), owner, name)
                frame, conformance = read_extract(path, ds)
            else:
                frame, conformance = conform(_run_transform(context, estate, flow, inputs), ds)
            result = gate.evaluate(frame, conformance, ds, estate.suites[name])
        except ContractError as exc:
            result = gate.contract_failure(ds, estate.suites[name], str(exc))
        except FileNotFoundError as exc:
            raise dg.Failure(description=f"{exc}. Deliver the extract, or run `tagtrail demo` to generate it.") from None
        gate_result, warn_result = gate.check_results(result)
        yield gate_result
        yield warn_result
        if not gate_result.passed:
            context.log.error(f"{name}: held back by its quality gate. {gate_result.description}")
            return
        yield dg.Output(
            frame,
            metadata={
                **metadata.provenance(estate, name),
                "dagster/column_schema": metadata.column_schema(ds),
                "dagster/row_count": len(frame),
                "dagster/code_references": metadata.code_references(estate, name),
                "tagtrail/rows_in": sum(len(v) for v in inputs.values()) if flow else len(frame),
            },
        )

    return _asset


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
        raise dg.Failure(description=f"transform {flow.transform} returned {type(out).__name__}, not a pandas DataFrame")
    return out
