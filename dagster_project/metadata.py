"""What an asset tells the Dagster UI: provenance, column schema with privacy tags, column lineage."""

from __future__ import annotations

import functools
import hashlib
import inspect
import warnings
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.estate import Estate
from pipelines.model import Dataset, Flow
from pipelines.taxonomy import identifiability
from pipelines.yamlfile import SourceFile


def asset_key(estate: Estate, dataset: str) -> dg.AssetKey:
    """``<owner department>/<dataset>``."""
    return _key(estate.dataset_owner[dataset], dataset)


@functools.lru_cache(maxsize=1 << 16)
def _key(owner: str, dataset: str) -> dg.AssetKey:
    return dg.AssetKey([owner, dataset])


def column_schema(dataset: Dataset) -> dg.TableSchema:
    """Declared columns with their types, descriptions and privacy tags (as column tags)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type.value,
                description=c.description or None,
                tags={t: "" for t in c.tags},
            )
            for c in dataset.columns
        ]
    )


def column_lineage(estate: Estate, flow: Flow) -> dg.TableColumnLineage:
    """Each output column's declared inputs (undeclared columns depend on every input column)."""
    deps: dict[str, list[dg.TableColumnDep]] = {}
    out = estate.datasets[flow.output]
    for col in out.column_names:
        der = flow.columns.get(col)
        refs = (
            der.from_
            if der
            else [f"{d}.{c}" for d in flow.inputs for c in estate.datasets[d].column_names]
        )
        deps[col] = [
            dg.TableColumnDep(asset_key=asset_key(estate, ds), column_name=c)
            for ds, c in (ref.split(".", 1) for ref in refs)
        ]
    return dg.TableColumnLineage(deps_by_column=deps)


def source_kinds(estate: Estate, dataset_name: str) -> set[str]:
    """What a source dataset is read from (``csv``, ``parquet`` or ``sql``); nothing for a flow."""
    source = estate.sources.get(dataset_name)
    if source is None:
        return set()
    return {"sql"} if source.sql is not None else {source.file_format}


def dataset_tags(dataset: Dataset) -> set[str]:
    """Every privacy tag on any column of the dataset."""
    return {t for c in dataset.columns for t in c.tags}


def provenance(estate: Estate, dataset_name: str) -> dict[str, Any]:
    """Where the data came from and under what terms it may be held: on every materialization."""
    ds = estate.datasets[dataset_name]
    owner = estate.dataset_owner[dataset_name]
    decl = estate.declared_in[f"dataset:{dataset_name}"]
    flow = estate.producer(dataset_name)
    meta: dict[str, Any] = {
        "tagtrail/dataset_declaration": _relative(decl.file, estate),
        "tagtrail/dataset_declaration_sha256": decl.sha256,
        "tagtrail/identifiability": identifiability(dataset_tags(ds)).value,
        "tagtrail/privacy_tags": ", ".join(sorted(dataset_tags(ds))) or "none",
    }
    if flow is None:
        meta |= {
            "tagtrail/source_system": ds.source_system,
            "tagtrail/source": estate.sources[dataset_name].describe(),
            "tagtrail/supplying_department": owner,
            "tagtrail/purpose": "source extract held by its owner department",
            "tagtrail/retention": _retention(ds.retention) if ds.retention else "not declared",
        }
        return meta
    agr = estate.agreements.get(flow.agreement)
    missing = f"{flow.agreement}: NOT DECLARED (the agreement_in_force check halts this flow)"
    flow_decl = estate.declared_in[f"flow:{flow.name}"]
    meta |= {
        "tagtrail/flow": flow.name,
        "tagtrail/source_system": ", ".join(f"{estate.dataset_owner[d]}/{d}" for d in flow.inputs),
        "tagtrail/supplying_department": ", ".join(
            sorted({estate.dataset_owner[d] for d in flow.inputs})
        ),
        "tagtrail/recipient_department": flow.recipient,
        "tagtrail/agreement": f"{agr.id}: {agr.title}" if agr else missing,
        "tagtrail/purpose": flow.purpose,
        "tagtrail/legal_basis": agr.legal_basis.summary() if agr else "none: no agreement",
        "tagtrail/retention": _retention(agr.retention) if agr else "none: no agreement",
        "tagtrail/flow_declaration": _relative(flow_decl.file, estate),
        "tagtrail/flow_declaration_sha256": flow_decl.sha256,
        "tagtrail/transform": flow.transform,
        "dagster/column_lineage": column_lineage(estate, flow),
    }
    return meta


def code_references(estate: Estate, dataset_name: str) -> dg.CodeReferencesMetadataValue:
    """Links from the asset to its declaration and, for flows, to its transform function."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _code_references(estate, dataset_name)


def _code_references(estate: Estate, dataset_name: str) -> dg.CodeReferencesMetadataValue:
    decl = estate.declared_in[f"dataset:{dataset_name}"]
    refs: list[dg.LocalFileCodeReference | dg.UrlCodeReference] = [
        dg.LocalFileCodeReference(file_path=str(decl.file.resolved), label="dataset declaration")
    ]
    if flow := estate.producer(dataset_name):
        fn = estate.transforms[flow.name]
        refs.append(
            dg.LocalFileCodeReference(
                file_path=str(estate.declared_in[f"flow:{flow.name}"].file.resolved),
                label="flow declaration",
            )
        )
        src = inspect.getsourcefile(fn)
        if src:
            refs.append(
                dg.LocalFileCodeReference(
                    file_path=src, line_number=_first_line(fn), label="transform"
                )
            )
    return dg.CodeReferencesMetadataValue(code_references=refs)


def code_version(estate: Estate, dataset_name: str) -> str:
    """Changes whenever the declaration, the suite or the transform's source changes."""
    h = hashlib.sha256(estate.declared_in[f"dataset:{dataset_name}"].sha256.encode())
    h.update(estate.suites[dataset_name].sha256.encode())
    if flow := estate.producer(dataset_name):
        h.update(estate.declared_in[f"flow:{flow.name}"].sha256.encode())
        src = inspect.getsourcefile(estate.transforms[flow.name])
        if src:
            h.update(Path(src).read_bytes())
    return h.hexdigest()[:16]


def _first_line(fn: Any) -> int:
    """``inspect.getsourcelines(fn)[1]`` without tokenizing the function's body."""
    return inspect.findsource(inspect.unwrap(fn))[1] + 1


def _retention(r: Any) -> str:
    return f"{r.period}, then {r.disposal}"


def _relative(file: SourceFile, estate: Estate) -> str:
    try:
        return str(file.resolved.relative_to(estate.resolved_root.parent))
    except ValueError:
        return str(file.path)
