"""Tag propagation: each rule, unions, multi-hop chains, the conservative default, never lost."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import lineage.rules as rules_module
from lineage.propagation import Computed, check_declared, input_refs, propagate
from lineage.rules import DECLARED, RULE_IDS, RULES, Method, apply, method_of, render_table
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.model import ColumnDerivation
from pipelines.taxonomy import GENERALISATION_LEVELS, TAGS

Golden = Callable[[str, Any], None]
TRANSFORM = "flows.passthrough:transform"
DEPARTMENTS = """departments:
  - {name: d1, title: One, steward: {name: A Steward, email: steward@example.org}}
  - {name: d2, title: Two, steward: {name: A Steward, email: steward@example.org}}
"""
AGREEMENTS = """agreements:
  - {id: DSA-TEST-01, title: Test, parties: [d1, d2], purposes: [testing],
     legal_basis: {article_6: 6(1)(e)}, data_items: {}, retention: {period: P1Y},
     start: 2026-01-01, end: 2027-01-01, review: 2026-06-01}
"""
SUITE = """{"name": "%s", "expectations": [
  {"type": "expect_column_to_exist", "kwargs": {"column": "row_id"}, "severity": "info"}]}"""


SUPPRESS = "suppress_small_cells"


def der(
    kind: str, *refs: str, masking: str | None = None, level: str | None = None
) -> dict[str, Any]:
    """A column derivation as a flow file declares it."""
    out: dict[str, Any] = {"from": list(refs), "derivation": kind}
    if masking:
        out["masking"] = masking
    if level:
        out["level"] = level
    return out


def write_estate(
    root: Path, sources: dict[str, dict[str, list[str]]], flows: list[dict[str, Any]]
) -> Estate:
    """Write and load a one-department estate.

    ``sources`` maps dataset -> column -> declared tags. Each flow is ``{"name", "inputs",
    "columns": {column: derivation or None (undeclared)}}`` and outputs a dataset named after it.
    Every dataset also gets an untagged ``row_id`` primary key.
    """
    suites = root / "suites"
    for sub in ("datasets", "flows", "suites"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "departments.yaml").write_text(DEPARTMENTS, encoding="utf-8")
    (root / "flows" / "passthrough.py").write_text(
        "def transform(ctx, **inputs):\n    return next(iter(inputs.values()))\n", encoding="utf-8"
    )
    manifest = {"name": "test", "suites": "suites"}
    manifest["sources"] = {name: {"file": f"d1/{name}.csv"} for name in sources}
    _dump(root / "estate.yaml", manifest)
    (root / "agreements.yaml").write_text(AGREEMENTS, encoding="utf-8")
    datasets: list[dict[str, Any]] = []
    for name, cols in sources.items():
        datasets.append(_dataset(name, cols, source=True))
    for flow in flows:
        columns: dict[str, Any] = {"row_id": der("identity", f"{flow['inputs'][0]}.row_id")}
        columns |= flow["columns"]
        datasets.append(_dataset(flow["name"], {c: [] for c in columns}, source=False))
        counted = [c for c, d in columns.items() if d and d.get("masking") == SUPPRESS]
        disclosure = (
            {
                "disclosure": {
                    "small_cells": {
                        "count": counted[0],
                        "dimensions": ["row_id"],
                        "suppressed": counted[0],
                    }
                }
            }
            if counted
            else {}
        )
        _dump(
            root / "flows" / f"{flow['name']}.yaml",
            {
                "name": flow["name"],
                "description": "test flow",
                "owner": "d1",
                "recipient": "d1",
                "agreement": "DSA-TEST-01",
                "purpose": "testing",
                "inputs": flow["inputs"],
                "output": flow["name"],
                "transform": TRANSFORM,
                "columns": {c: d for c, d in columns.items() if d is not None},
                "indirect": flow.get("indirect", []),
            }
            | disclosure,
        )
    _dump(root / "datasets" / "d1.yaml", {"department": "d1", "datasets": datasets})
    for ds in datasets:
        (suites / f"{ds['name']}.json").write_text(SUITE % ds["name"], encoding="utf-8")
    return load_estate(root, suites_dir=suites)


def _dataset(name: str, cols: dict[str, list[str]], *, source: bool) -> dict[str, Any]:
    columns: list[dict[str, Any]] = [{"name": "row_id", "type": "string"}]
    columns += [{"name": c, "type": "string", "tags": t} for c, t in cols.items() if c != "row_id"]
    out: dict[str, Any] = {
        "name": name,
        "description": f"dataset {name}",
        "primary_key": ["row_id"],
    }
    if source:
        out["source_system"] = "test system"
    return out | {"columns": columns}


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def outputs(estate: Estate, computed: Computed) -> dict[str, Any]:
    """Computed tags of every flow output column, for golden files."""
    return {
        f"{ds}.{col}": ct.to_dict()
        for (ds, col), ct in computed.items()
        if estate.producer(ds) is not None and col != "row_id"
    }


def tags_of(computed: Computed, ref: str) -> tuple[str, ...]:
    ds, col = ref.split(".")
    return computed[(ds, col)].tags


# --- the rule table ----------------------------------------------------------------------------


def test_docstring_shows_the_rule_table() -> None:
    doc = rules_module.__doc__ or ""
    for table in render_table().split("\n\n"):
        assert table in doc


@pytest.mark.parametrize("method", list(Method))
def test_every_rule_maps_every_tag_to_exactly_one_known_tag(method: Method) -> None:
    for tag in TAGS:
        out, step = apply(tag, method, level="year")
        assert out in TAGS, (tag, method, out)
        assert step.split(":")[0] in RULE_IDS


def test_rule_ids_are_the_documented_ones() -> None:
    assert {r.rule_id for r in RULES} == {
        "carry",
        "keyed_hash_pseudonymises",
        "unkeyed_hash_lowers_nothing",
        "generalise_coarsens_quasi",
        "aggregate_with_min_count",
        "aggregate_without_disclosure_control",
        "conservative_default",
    }
    assert method_of(None) is Method.UNDECLARED


def test_masking_other_than_suppression_decides_an_aggregation() -> None:
    def method(**kw: Any) -> Method:
        return method_of(ColumnDerivation.model_validate({"from": ["a.b"], **kw}))

    assert method(derivation="aggregation") is Method.AGGREGATE
    assert method(derivation="aggregation", masking="suppress_small_cells") is (
        Method.AGGREGATE_SUPPRESSED
    )
    assert method(derivation="aggregation", masking="keyed_hash") is Method.KEYED_HASH
    assert method(derivation="aggregation", masking="generalise", level="year") is (
        Method.GENERALISE
    )
    assert method(derivation="transformation") is Method.CARRY
    assert method(derivation="identity") is Method.CARRY


# --- each rule, golden ------------------------------------------------------------------------

SRC = {
    "src": {
        "nhs": ["person.id.direct"],
        "dob": ["person.quasi"],
        "postcode": ["person.quasi"],
        "diagnosis": ["person.special.health"],
        "mixed": ["person.id.direct", "person.special.health"],
        "key": ["person.id.pseudonymous"],
        "district": ["person.quasi.generalised"],
        "count": ["aggregate.social_care"],
        "plain": [],
    }
}


def _one_flow(tmp_path: Path, columns: dict[str, Any]) -> tuple[Estate, Computed]:
    estate = write_estate(tmp_path, SRC, [{"name": "out", "inputs": ["src"], "columns": columns}])
    return estate, propagate(estate)


def test_identity_and_transformation_carry(tmp_path: Path, lineage_golden: Golden) -> None:
    estate, computed = _one_flow(
        tmp_path,
        {
            "nhs": der("identity", "src.nhs"),
            "mixed": der("transformation", "src.mixed"),
            "plain": der("identity", "src.plain"),
        },
    )
    assert tags_of(computed, "out.nhs") == ("person.id.direct",)
    assert tags_of(computed, "out.mixed") == ("person.id.direct", "person.special.health")
    assert tags_of(computed, "out.plain") == ()
    assert computed[("out", "nhs")].attributions[0].rules == (DECLARED, "carry")
    lineage_golden("propagation_carry", outputs(estate, computed))


def test_keyed_hash_pseudonymises_only_direct_ids(tmp_path: Path, lineage_golden: Golden) -> None:
    estate, computed = _one_flow(
        tmp_path,
        {
            "nhs": der("transformation", "src.nhs", masking="keyed_hash"),
            "mixed": der("transformation", "src.mixed", masking="keyed_hash"),
            "dob": der("transformation", "src.dob", masking="keyed_hash"),
        },
    )
    assert tags_of(computed, "out.nhs") == ("person.id.pseudonymous",)
    assert tags_of(computed, "out.mixed") == ("person.id.pseudonymous", "person.special.health")
    assert tags_of(computed, "out.dob") == ("person.quasi",)
    rules = {a.tag: a.rules[-1] for a in computed[("out", "mixed")].attributions}
    assert rules == {
        "person.id.pseudonymous": "keyed_hash_pseudonymises",
        "person.special.health": "carry",
    }
    lineage_golden("propagation_keyed_hash", outputs(estate, computed))


def test_unkeyed_hash_lowers_nothing(tmp_path: Path, lineage_golden: Golden) -> None:
    estate, computed = _one_flow(
        tmp_path,
        {
            "nhs": der("transformation", "src.nhs", masking="unkeyed_hash"),
            "mixed": der("transformation", "src.mixed", masking="unkeyed_hash"),
        },
    )
    assert tags_of(computed, "out.nhs") == ("person.id.direct",)
    assert computed[("out", "nhs")].identifiability.value == "identified"
    assert {a.rules[-1] for a in computed[("out", "mixed")].attributions} == {
        "unkeyed_hash_lowers_nothing"
    }
    lineage_golden("propagation_unkeyed_hash", outputs(estate, computed))


def test_generalise_coarsens_quasi_and_records_level(
    tmp_path: Path, lineage_golden: Golden
) -> None:
    estate, computed = _one_flow(
        tmp_path,
        {
            "age": der("transformation", "src.dob", masking="generalise", level="age_band"),
            "district": der(
                "transformation", "src.postcode", masking="generalise", level="postcode_district"
            ),
            "chapter": der(
                "transformation", "src.diagnosis", masking="generalise", level="icd10_chapter"
            ),
            "again": der("transformation", "src.district", masking="generalise", level="band"),
        },
    )
    assert tags_of(computed, "out.age") == ("person.quasi.generalised",)
    assert (
        computed[("out", "age")].attributions[0].rules[-1] == "generalise_coarsens_quasi:age_band"
    )
    assert tags_of(computed, "out.chapter") == ("person.special.health",)
    assert tags_of(computed, "out.again") == ("person.quasi.generalised",)
    lineage_golden("propagation_generalise", outputs(estate, computed))


def test_aggregation_with_small_cell_suppression(tmp_path: Path, lineage_golden: Golden) -> None:
    agg = {"derivation": "aggregation", "masking": "suppress_small_cells"}
    estate, computed = _one_flow(
        tmp_path,
        {
            "people": {"from": ["src.key"], **agg},
            "district": {"from": ["src.district"], **agg},
            "count": {"from": ["src.count"], **agg},
            "mixed": {"from": ["src.mixed"], **agg},
        },
    )
    assert tags_of(computed, "out.people") == ("aggregate.id.pseudonymous",)
    assert tags_of(computed, "out.district") == ("aggregate.quasi.generalised",)
    assert tags_of(computed, "out.count") == ("aggregate.social_care",)
    assert tags_of(computed, "out.mixed") == ("aggregate.id.direct", "aggregate.special.health")
    assert computed[("out", "people")].identifiability.value == "aggregate"
    lineage_golden("propagation_aggregate_with_min_count", outputs(estate, computed))


def test_aggregation_without_disclosure_control(tmp_path: Path, lineage_golden: Golden) -> None:
    estate, computed = _one_flow(
        tmp_path,
        {
            "people": der("aggregation", "src.key"),
            "mixed": der("aggregation", "src.mixed", "src.count"),
        },
    )
    assert tags_of(computed, "out.people") == ("person.id.pseudonymous",)
    assert tags_of(computed, "out.mixed") == (
        "aggregate.social_care",
        "person.id.direct",
        "person.special.health",
    )
    assert {a.rules[-1] for a in computed[("out", "mixed")].attributions} == {
        "aggregate_without_disclosure_control"
    }
    lineage_golden("propagation_aggregate_without_disclosure_control", outputs(estate, computed))


def test_conservative_default_unions_every_input_column(
    tmp_path: Path, lineage_golden: Golden
) -> None:
    sources = {
        "a": {"nhs": ["person.id.direct"], "plain": []},
        "b": {"income": ["person.financial"], "dob": ["person.quasi"]},
    }
    flow = {"name": "out", "inputs": ["a", "b"], "columns": {"mystery": None}}
    estate = write_estate(tmp_path, sources, [flow])
    computed = propagate(estate)
    assert tags_of(computed, "out.mystery") == (
        "person.financial",
        "person.id.direct",
        "person.quasi",
    )
    atts = computed[("out", "mystery")].attributions
    assert {a.rules[-1] for a in atts} == {"conservative_default"}
    assert {a.path[0] for a in atts} == {"a.nhs", "b.income", "b.dob"}
    lineage_golden("propagation_conservative_default", outputs(estate, computed))


def test_union_of_several_inputs_keeps_every_attribution(
    tmp_path: Path, lineage_golden: Golden
) -> None:
    sources = {
        "a": {"arrears": ["person.housing", "person.financial"], "size": ["person.housing"]},
        "b": {"benefit": ["person.financial.benefits"], "nhs": ["person.id.direct"]},
    }
    columns = {
        "score": der("transformation", "a.arrears", "a.size", "b.benefit"),
        "key": der("transformation", "a.size", "b.nhs", masking="keyed_hash"),
    }
    estate = write_estate(
        tmp_path, sources, [{"name": "out", "inputs": ["a", "b"], "columns": columns}]
    )
    computed = propagate(estate)
    score = computed[("out", "score")]
    assert score.tags == ("person.financial", "person.financial.benefits", "person.housing")
    assert [a.path[0] for a in score.attributions_of("person.housing")] == ["a.arrears", "a.size"]
    assert tags_of(computed, "out.key") == ("person.housing", "person.id.pseudonymous")
    lineage_golden("propagation_union", outputs(estate, computed))


def test_multi_hop_chain(tmp_path: Path, lineage_golden: Golden) -> None:
    sources = {"src": {"nhs": ["person.id.direct"], "dob": ["person.quasi", "person.child"]}}
    flows = [
        {
            "name": "hop1",
            "inputs": ["src"],
            "columns": {
                "key": der("transformation", "src.nhs", masking="keyed_hash"),
                "dob": der("identity", "src.dob"),
            },
        },
        {
            "name": "hop2",
            "inputs": ["hop1"],
            "columns": {
                "key": der("identity", "hop1.key"),
                "age": der("transformation", "hop1.dob", masking="generalise", level="age_band"),
            },
        },
        {
            "name": "hop3",
            "inputs": ["hop2"],
            "columns": {
                "people": {
                    "from": ["hop2.key"],
                    "derivation": "aggregation",
                    "masking": "suppress_small_cells",
                },
                "age": {
                    "from": ["hop2.age"],
                    "derivation": "aggregation",
                    "masking": "suppress_small_cells",
                },
            },
        },
    ]
    estate = write_estate(tmp_path, sources, flows)
    computed = propagate(estate)
    (people,) = computed[("hop3", "people")].attributions
    assert people.tag == "aggregate.id.pseudonymous"
    assert (people.origin_dataset, people.origin_column, people.origin_tag) == (
        "src",
        "nhs",
        "person.id.direct",
    )
    assert people.path == ("src.nhs", "hop1.key", "hop2.key", "hop3.people")
    assert people.rules == (
        DECLARED,
        "keyed_hash_pseudonymises",
        "carry",
        "aggregate_with_min_count",
    )
    assert people.flows == ("hop1", "hop2", "hop3")
    assert tags_of(computed, "hop3.age") == ("aggregate.child", "aggregate.quasi.generalised")
    lineage_golden("propagation_multi_hop", outputs(estate, computed))


# --- the demo estate --------------------------------------------------------------------------


def test_demo_estate_declared_tags_equal_computed(lineage_golden: Golden) -> None:
    estate = load_estate(DEMO_ESTATE)
    computed = propagate(estate)
    assert check_declared(estate, computed) == []
    (a,) = computed[("care_statistics", "people")].attributions
    assert a.path == (
        "care_packages.nhs_number",
        "care_research_extract.person_key",
        "care_statistics.people",
    )
    assert a.rules == (DECLARED, "keyed_hash_pseudonymises", "aggregate_with_min_count")
    lineage_golden(
        "propagation_demo", {f"{d}.{c}": ct.to_dict() for (d, c), ct in computed.items()}
    )


def test_check_declared_explains_a_mismatch(estate_copy: Path) -> None:
    path = estate_copy / "datasets" / "public_reporting.yaml"
    text = path.read_text(encoding="utf-8")
    wrong = "{name: people, type: integer, description: Distinct people; empty where suppressed, tags: [aggregate.id.direct]}"
    text = re.sub(r"\{name: people, .*\}", wrong, text)
    path.write_text(text, encoding="utf-8")
    estate = load_estate(estate_copy)
    (problem,) = check_declared(estate, propagate(estate))
    assert str(path) in problem
    assert "line 11" in problem and "columns[people].tags" in problem
    assert "care_statistics.people declares tags [aggregate.id.direct]" in problem
    assert "computes tags [aggregate.id.pseudonymous]" in problem
    assert "from care_research_extract.person_key by rule aggregate_with_min_count" in problem
    assert str(estate_copy / "flows" / "care_statistics.yaml") in problem


# --- never lost: random small estates ---------------------------------------------------------

_MASKINGS = [None, "keyed_hash", "unkeyed_hash", "generalise"]


def _random_derivation(rng: random.Random, refs: list[str]) -> dict[str, Any] | None:
    kind = rng.choice(["identity", "transformation", "aggregation", "undeclared"])
    if kind == "undeclared":
        return None
    if kind == "identity":
        return der("identity", rng.choice(refs))
    picked = rng.sample(refs, rng.randint(1, min(3, len(refs))))
    masking = rng.choice(
        [*_MASKINGS, "suppress_small_cells"] if kind == "aggregation" else _MASKINGS
    )
    level = rng.choice(GENERALISATION_LEVELS) if masking == "generalise" else None
    return der(kind, *picked, masking=masking, level=level)


def _random_estate(rng: random.Random, root: Path) -> Estate:
    pool = sorted(TAGS)
    sources = {
        f"s{i}": {f"c{j}": rng.sample(pool, rng.randint(0, 2)) for j in range(rng.randint(1, 4))}
        for i in range(rng.randint(1, 2))
    }
    columns_of = {name: list(cols) for name, cols in sources.items()}
    flows = []
    for i in range(rng.randint(1, 3)):
        inputs = rng.sample(sorted(columns_of), rng.randint(1, min(2, len(columns_of))))
        refs = [f"{d}.{c}" for d in inputs for c in columns_of[d]]
        cols = {f"o{j}": _random_derivation(rng, refs) for j in range(rng.randint(1, 4))}
        flows.append({"name": f"f{i}", "inputs": inputs, "columns": cols})
        columns_of[f"f{i}"] = list(cols)
    return write_estate(root, sources, flows)


@pytest.mark.parametrize("seed", range(40))
def test_no_tag_is_ever_lost(tmp_path: Path, seed: int) -> None:
    estate = _random_estate(random.Random(seed), tmp_path)
    computed = propagate(estate)
    for (ds, col), ct in computed.items():
        assert ct.tags == tuple(sorted({a.tag for a in ct.attributions}))
        for a in ct.attributions:
            assert a.tag in TAGS and a.path[-1] == f"{ds}.{col}"
            assert len(a.rules) == len(a.path) == len(a.flows) + 1 and a.rules[0] == DECLARED
            assert {r.split(":")[0] for r in a.rules} <= RULE_IDS
        flow = estate.producer(ds)
        if flow is None:
            continue
        for ref in input_refs(estate, flow, col):
            d, c = ref.split(".")
            for before in computed[(d, c)].attributions:
                assert any(
                    a.path[:-1] == before.path and a.rules[:-1] == before.rules
                    for a in ct.attributions
                ), f"seed {seed}: {before.tag} of {ref} lost at {ds}.{col}"
