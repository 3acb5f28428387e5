"""What building the Dagster definitions of a 1,000-flow estate costs, beside plain Dagster.

Writes a synthetic estate shaped like the demo's: ten departments, one agreement per pair of
departments that share, N/10 source datasets with suites and an opt-out register, and N flows in
chains of ten (each flow pseudonymises and generalises its input; every other one applies the
opt-out register and a k-anonymity rule), one transform module a flow. Then times, interleaved:

- tagtrail: ``load_estate``, ``build_definitions`` and ``resolve_all_asset_specs`` (what
  ``tagtrail validate`` does before its previews);
- plain Dagster: ``@dg.asset`` definitions with the same keys, deps and number of asset checks,
  trivial bodies, and ``resolve_all_asset_specs``;
- ``tagtrail validate`` on the estate, as a subprocess.

    python benchmarks/definitions.py [--flows N] [--repeat R]

The last line prints the median of each and the tagtrail ÷ plain ratio.
"""

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from lineage.rules import apply, method_of
from pipelines.model import ColumnDerivation

DEPARTMENTS = 10
CHAIN = 10
REGISTER = "opt_out_register"
AS_OF = "2026-06-01"
SOURCE_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "record_id": ("string", ()),
    "nhs_number": ("string", ("person.id.direct",)),
    "date_of_birth": ("date", ("person.quasi",)),
    "sex": ("string", ("person.quasi",)),
    "postcode": ("string", ("person.quasi",)),
    "diagnosis": ("string", ("person.special.health",)),
    "cost_gbp": ("float", ()),
}
# output column: (type, input column in a source, input column in a flow output, derivation)
FLOW_COLUMNS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "record_id": ("string", "record_id", "record_id", {"masking": "keyed_hash"}),
    "person_key": ("string", "nhs_number", "person_key", {"masking": "keyed_hash"}),
    "age_band": ("string", "date_of_birth", "age_band", {"masking": "generalise", "level": "age_band"}),
    "sex": ("string", "sex", "sex", {}),
    "district": ("string", "postcode", "district", {"masking": "generalise", "level": "postcode_district"}),
    "diagnosis": ("string", "diagnosis", "diagnosis", {}),
    "cost_band": ("string", "cost_gbp", "cost_band", {}),
}  # fmt: skip


@dataclass
class Shape:
    """Every dataset's asset key path, its inputs and how many asset checks it carries."""

    owner: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)


def write_estate(root: Path, flows: int) -> Shape:
    """Write the synthetic estate of ``flows`` flows into ``root`` and return its shape."""
    for sub in ("datasets", "flows", "suites"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "flows" / "__init__.py").write_text("", encoding="utf-8")
    shape = Shape()
    owned: dict[str, list[dict[str, Any]]] = {f"d{d}": [] for d in range(DEPARTMENTS)}
    columns: dict[str, dict[str, tuple[str, ...]]] = {}
    sources = max(flows // CHAIN, 1)
    register = [_column("opt_out_id", "string", ()), _column("recorded_on", "date", ())]
    register.insert(1, _column("nhs_number", "string", ("person.id.direct",)) | _NHS)
    owned["d0"].append(_dataset(REGISTER, register, "Opt-out register", source=True))
    shape.owner[REGISTER], shape.inputs[REGISTER], shape.checks[REGISTER] = "d0", [], 3
    for s in range(sources):
        name, owner = f"source_{s:04d}", f"d{s % DEPARTMENTS}"
        cols = [_column(c, t, tags) for c, (t, tags) in SOURCE_COLUMNS.items()]
        cols[1] |= _NHS
        owned[owner].append(_dataset(name, cols, f"Source extract {s}", source=True))
        columns[name] = {c: tags for c, (_, tags) in SOURCE_COLUMNS.items()}
        shape.owner[name], shape.inputs[name], shape.checks[name] = owner, [], 3
    items: dict[tuple[str, str], dict[str, list[str]]] = {}
    for i in range(flows):
        primary = f"source_{i:04d}" if i < sources else f"flow_{i - sources:04d}"
        owner = shape.owner[primary]
        recipient = f"d{(int(owner[1:]) + 1) % DEPARTMENTS}"
        name, side = f"flow_{i:04d}", f"source_{i % sources:04d}"
        guarded = i % 2 == 0
        inputs = [primary] + ([side] if side != primary else []) + ([REGISTER] if guarded else [])
        decl, out_tags = _flow(name, primary, inputs, columns, guarded)
        columns[name] = out_tags
        items.setdefault((owner, recipient), {})[name] = list(out_tags)
        flow = decl | {"owner": owner, "recipient": recipient}
        flow["agreement"] = f"DSA-{owner.upper()}-{recipient.upper()}"
        _dump(root / "flows" / f"{name}.yaml", flow)
        (root / "flows" / f"{name}.py").write_text(_TRANSFORM % name, encoding="utf-8")
        cols = [_column(c, FLOW_COLUMNS[c][0], tags) for c, tags in out_tags.items()]
        owned[recipient].append(_dataset(name, cols, f"Output of flow {i}", source=False))
        shape.owner[name], shape.inputs[name] = recipient, inputs
        shape.checks[name] = 2 + 4 + 1 + (2 if guarded else 0)
    _dump(root / "departments.yaml", {"departments": [_department(d) for d in owned]})
    _dump(root / "agreements.yaml", {"agreements": [_agreement(p, i) for p, i in items.items()]})
    for dept, datasets in owned.items():
        _dump(root / "datasets" / f"{dept}.yaml", {"department": dept, "datasets": datasets})
        for ds in datasets:
            _suite(root / "suites" / f"{ds['name']}.json", ds)
    _dump(root / "estate.yaml", _manifest([n for n, i in shape.inputs.items() if not i]))
    return shape


_NHS = {"identifier": "nhs_number"}
_TRANSFORM = (
    '"""Flow %s."""\n\n\ndef transform(ctx, **inputs):\n    return next(iter(inputs.values()))\n'
)


def _column(name: str, type_: str, tags: tuple[str, ...]) -> dict[str, Any]:
    return {"name": name, "type": type_, "description": f"The {name}", "tags": list(tags)}


def _dataset(name: str, cols: list[dict[str, Any]], text: str, *, source: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "description": text}
    if source:
        out |= {"source_system": "Synthetic nightly extract"}
        out |= {"retention": {"period": "P8Y", "disposal": "secure deletion"}}
    return out | {"primary_key": [cols[0]["name"]], "columns": cols}


def _flow(
    name: str, primary: str, inputs: list[str], columns: dict[str, dict[str, tuple[str, ...]]], guarded: bool
) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:  # fmt: skip
    """A flow declaration and the tags its output columns compute to."""
    derived: dict[str, Any] = {}
    tags: dict[str, tuple[str, ...]] = {}
    for col, (_, from_source, from_flow, extra) in FLOW_COLUMNS.items():
        ref = from_source if primary.startswith("source_") else from_flow
        kind = "identity" if not extra and col == ref else "transformation"
        der = {"from": [f"{primary}.{ref}"], "derivation": kind} | extra
        method = method_of(ColumnDerivation.model_validate(der))
        tags[col] = tuple(sorted({apply(t, method)[0] for t in columns[primary][ref]}))
        derived[col] = der
    side = [d for d in inputs if d not in (primary, REGISTER)]
    indirect = [
        {"kind": "join", "columns": [f"{primary}.record_id", f"{d}.record_id"]} for d in side
    ]
    decl: dict[str, Any] = {
        "name": name, "description": f"Synthetic flow {name}", "purpose": "service_evaluation",
        "inputs": inputs, "output": name, "transform": f"flows.{name}:transform",
        "columns": derived, "indirect": indirect,
    }  # fmt: skip
    if guarded:
        match = f"{side[0] if side else primary}.nhs_number"
        decl["opt_out"] = {"register": REGISTER, "register_column": "nhs_number", "match": match}
        rule = {"quasi_identifiers": ["age_band", "sex", "district"], "unit": "person_key"}
        decl["disclosure"] = {"k_anonymity": rule}
    return decl, tags


def _department(name: str) -> dict[str, Any]:
    steward = {"name": f"Steward {name}", "email": f"steward.{name}@example.org"}
    return {"name": name, "title": f"Department {name}", "steward": steward}


def _agreement(parties: tuple[str, str], items: dict[str, list[str]]) -> dict[str, Any]:
    owner, recipient = parties
    return {
        "id": f"DSA-{owner.upper()}-{recipient.upper()}", "title": f"{owner} to {recipient}",
        "parties": list(parties), "purposes": ["service_evaluation"],
        "legal_basis": {"article_6": "6(1)(e)", "article_9": "9(2)(j)", "statute": "Synthetic Act"},
        "data_items": items, "retention": {"period": "P5Y", "disposal": "secure deletion"},
        "start": "2026-01-01", "end": "2030-12-31", "review": "2028-01-01",
    }  # fmt: skip


def _manifest(sources: list[str]) -> dict[str, Any]:
    floors = {"k_anonymity": 5, "min_cell_count": 10, "retention_longest": "P10Y"}
    return {
        "name": "synthetic", "title": "Synthetic benchmark estate", "suites": "suites",
        "sources": {s: {"file": f"extracts/{s}.csv"} for s in sources},
        "policy": {"expiry_warning_days": 30, "floors": floors},
    }  # fmt: skip


def _suite(path: Path, ds: dict[str, Any]) -> None:
    rules: list[dict[str, Any]] = [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": ds["primary_key"][0]}},
    ]
    if any(c["name"] == "sex" for c in ds["columns"]):
        rules.append(
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M", "U"]}}
        )  # fmt: skip
    suite = {"name": ds["name"], "expectations": [r | {"severity": "critical"} for r in rules]}
    path.write_text(json.dumps(suite, indent=2), encoding="utf-8")


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def tagtrail_definitions(root: Path) -> dg.Definitions:
    """What ``tagtrail validate`` builds: the estate loaded, its definitions, their specs."""
    from dagster_project.factory import build_definitions
    from pipelines.estate import load_estate
    from pipelines.heap import young_collections_only

    with young_collections_only():  # as tagtrail validate builds them
        defs = build_definitions(load_estate(root))
        defs.resolve_all_asset_specs()
    return defs


def plain_definitions(shape: Shape) -> dg.Definitions:
    """Plain Dagster assets of the same shape: keys, deps and check counts, trivial bodies."""

    def key(name: str) -> dg.AssetKey:
        return dg.AssetKey([shape.owner[name], name])

    def asset(name: str) -> dg.AssetsDefinition:
        checks = [
            dg.AssetCheckSpec(f"check_{n}", asset=key(name)) for n in range(shape.checks[name])
        ]

        @dg.asset(key=key(name), deps=[key(d) for d in shape.inputs[name]], check_specs=checks)
        def _body() -> dg.MaterializeResult:  # type: ignore[type-arg]
            return dg.MaterializeResult()  # never run: only the definitions are timed

        return _body

    defs = dg.Definitions(assets=[asset(name) for name in shape.owner])
    defs.resolve_all_asset_specs()
    return defs


def validate(root: Path) -> None:
    """``tagtrail validate`` on the estate in a fresh process."""
    tagtrail = Path(sys.executable).with_name("tagtrail")
    subprocess.run(
        [str(tagtrail), "validate", str(root), "--as-of", AS_OF], check=True, capture_output=True
    )


def check_shape(root: Path, shape: Shape) -> None:
    """Both definitions have the same assets and as many asset checks (and warm up imports)."""
    ours, plain = tagtrail_definitions(root), plain_definitions(shape)
    assert len(ours.resolve_all_asset_specs()) == len(plain.resolve_all_asset_specs())
    checks = len(ours.resolve_asset_graph().asset_check_keys)
    assert checks == len(plain.resolve_asset_graph().asset_check_keys) == sum(shape.checks.values())


def timed(run: Callable[[], object]) -> float:
    """Seconds ``run`` takes, starting with no garbage left by the run before it."""
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    """Write the estate, warm up, then time the three interleaved and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--validate-repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "estate"
        shape = write_estate(root, args.flows)
        check_shape(root, shape)
        times: dict[str, list[float]] = {"tagtrail": [], "plain": [], "validate": []}
        for rep in range(args.repeat):
            times["tagtrail"].append(timed(lambda: tagtrail_definitions(root)))
            times["plain"].append(timed(lambda: plain_definitions(shape)))
            if rep < args.validate_repeat:
                times["validate"].append(timed(lambda: validate(root)))
            print(", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    ours_s, plain_s = statistics.median(times["tagtrail"]), statistics.median(times["plain"])
    print(
        f"definitions for {args.flows:,} flows: tagtrail {ours_s:.2f} s, plain Dagster "
        f"{plain_s:.2f} s, ratio {ours_s / plain_s:.2f}; validate "
        f"{statistics.median(times['validate']):.1f} s"
    )


if __name__ == "__main__":
    main()
