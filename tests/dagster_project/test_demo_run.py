"""The demo against real Dagster execution: every asset published with its provenance, and every
defect held back by the right gate with nothing bad written and nothing leaked."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dagster_project import controls
from dagster_project.agreements import AGREEMENT_CHECK
from dagster_project.demo import run_demo
from dagster_project.gate import GATE_CHECK, WARN_CHECK
from dagster_project.instance import dagster_home
from dagster_project.run import RunReport
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.defects import DEFECTS
from pipelines.estate import load_estate
from pipelines.store import dataset_path

from .conftest import AS_OF, PEOPLE
from .runs import asset_key as _key
from .runs import check_evaluations as _check_evaluations
from .runs import instance as _instance
from .runs import materialization as _materialization

ESTATE = load_estate(DEMO_ESTATE)
PROVENANCE = [
    "tagtrail/source_system",
    "tagtrail/supplying_department",
    "tagtrail/purpose",
    "tagtrail/retention",
    "tagtrail/dataset_declaration",
    "tagtrail/dataset_declaration_sha256",
    "dagster/code_references",
    "dagster/column_schema",
    "dagster/row_count",
]
FLOW_PROVENANCE = [
    "tagtrail/agreement",
    "tagtrail/legal_basis",
    "tagtrail/recipient_department",
    "tagtrail/flow_declaration",
    "tagtrail/flow_declaration_sha256",
    "dagster/column_lineage",
]


def test_clean_run_publishes_every_asset_with_provenance(
    clean_home: tuple[Path, RunReport],
) -> None:
    home, report = clean_home
    assert {o.status for o in report.outcomes} == {"published"}
    with _instance(home) as instance:
        for name, ds in ESTATE.datasets.items():
            meta = _materialization(instance, name, report.run_id)
            assert meta is not None, f"{name} not materialized"
            flow = ESTATE.producer(name)
            for label in PROVENANCE + (FLOW_PROVENANCE if flow else []):
                assert label in meta, f"{name}: {label} missing"
            schema = meta["dagster/column_schema"].value
            assert [c.name for c in schema.columns] == list(ds.column_names)
            for col in schema.columns:
                assert set(col.tags) == set(ds.column(col.name).tags)
            assert meta["dagster/row_count"].value == len(
                __import__("pandas").read_parquet(
                    dataset_path(home, ESTATE.dataset_owner[name], name)
                )
            )
            expected_sha = hashlib.sha256(
                ESTATE.declared_in[f"dataset:{name}"].path.read_bytes()
            ).hexdigest()
            assert meta["tagtrail/dataset_declaration_sha256"].value == expected_sha
            if flow:
                agreement = ESTATE.agreements[flow.agreement]
                assert meta["tagtrail/agreement"].value.startswith(agreement.id)
                assert meta["tagtrail/purpose"].value == flow.purpose
                assert "Art. 6(1)(e)" in meta["tagtrail/legal_basis"].value
                lineage = meta["dagster/column_lineage"].value.deps_by_column
                for col, der in flow.columns.items():
                    deps = {(d.asset_key.path[-1], d.column_name) for d in lineage[col]}
                    assert deps == {tuple(ref.split(".")) for ref in der.from_}
            evals = _check_evaluations(instance, report.run_id)
            assert evals[(name, GATE_CHECK)].passed and evals[(name, WARN_CHECK)].passed


def test_asset_definitions_carry_owners_groups_and_kinds() -> None:
    from dagster_project.definitions import defs

    graph = defs().resolve_asset_graph()
    for name in ESTATE.datasets:
        owner = ESTATE.dataset_owner[name]
        node = graph.get(_key(name))
        assert node.group_name == owner
        assert f"team:{owner}" in node.owners
        assert ESTATE.departments[owner].steward.email in node.owners
        assert {"pandas", "parquet"} <= set(node.kinds)
        assert node.description == ESTATE.datasets[name].description
        check_keys = {k.name for k in node.check_keys}
        review = {AGREEMENT_CHECK} if ESTATE.producer(name) else set()
        assert check_keys == {GATE_CHECK, WARN_CHECK, *controls.applicable(ESTATE, name), *review}


CRITICAL = [d for d in DEFECTS.values() if d.check == GATE_CHECK]


@pytest.mark.parametrize("defect", CRITICAL, ids=[d.name for d in CRITICAL])
def test_defect_is_held_back_by_its_gate(home_after_clean_run: Path, defect: Any) -> None:
    home = home_after_clean_run
    gated = dataset_path(home, defect.department, defect.dataset)
    downstream = ESTATE.downstream(defect.dataset)
    assert downstream, "each defect should have something downstream to protect"
    before = {
        n: dataset_path(home, ESTATE.dataset_owner[n], n).read_bytes()
        for n in {defect.dataset, *downstream}
    }

    report = run_demo(home, people=PEOPLE, as_of=AS_OF, defect=defect.name)

    assert not report.success
    status = {o.dataset: o.status for o in report.outcomes}
    assert status[defect.dataset] == "held back"
    assert all(status[d] == "not run" for d in downstream), status
    assert gated.read_bytes() == before[defect.dataset], "the previous good version was touched"
    for n in downstream:
        assert dataset_path(home, ESTATE.dataset_owner[n], n).read_bytes() == before[n]
    with _instance(home) as instance:
        run = instance.get_run_by_id(report.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS, "a halt is no crash"
        assert run.tags[f"tagtrail/held_back/{defect.department}/{defect.dataset}"] == GATE_CHECK
        assert _materialization(instance, defect.dataset, report.run_id) is None
        for n in downstream:
            assert _materialization(instance, n, report.run_id) is None
        gate = _check_evaluations(instance, report.run_id)[(defect.dataset, GATE_CHECK)]
    assert not gate.passed
    assert gate.severity == dg.AssetCheckSeverity.ERROR
    failures = gate.metadata["failing_row_keys"].value
    failing = [f for f in failures if f["expectation"] == defect.expectation]
    assert failing, f"{defect.expectation} not among {[f['expectation'] for f in failures]}"
    assert failing[0]["failing_rows"] > 0
    assert failing[0]["primary_keys"], "stewards need the keys of failing rows"
    assert defect.expectation in gate.metadata["failures"].value
    _assert_nothing_leaked(home, report.injected)


def test_warning_defect_warns_and_never_halts(home_after_clean_run: Path) -> None:
    defect = DEFECTS["negative-arrears"]
    report = run_demo(home_after_clean_run, people=PEOPLE, as_of=AS_OF, defect=defect.name)
    assert report.success
    assert {o.status for o in report.outcomes} == {"published"}
    with _instance(home_after_clean_run) as instance:
        evals = _check_evaluations(instance, report.run_id)
    warn = evals[(defect.dataset, WARN_CHECK)]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert evals[(defect.dataset, GATE_CHECK)].passed
    assert any(
        f["expectation"] == defect.expectation for f in warn.metadata["failing_row_keys"].value
    )
    _assert_nothing_leaked(home_after_clean_run, report.injected)


def _assert_nothing_leaked(home: Path, injected: Sequence[str]) -> None:
    """No injected raw value in the Dagster instance (event log, runs, compute logs) or lineage store."""
    values = [v for v in injected if v]
    if not values:
        return
    extracts = b"".join(p.read_bytes() for p in (home / "extracts").rglob("*.csv"))
    assert all(v.encode() in extracts for v in values), (
        "the search must be able to find what was injected"
    )
    records = [*dagster_home(home).rglob("*"), *home.glob("lineage.db*")]
    assert any(p.name == "lineage.db" for p in records), "the lineage store should be searched too"
    blobs = [p.read_bytes() for p in records if p.is_file()]
    for value in values:
        needle = value.encode()
        hits = [i for i, blob in enumerate(blobs) if needle in blob]
        assert not hits, f"raw value {value!r} leaked into the Dagster instance or lineage store"


def test_make_demo_default_size_passes_every_check(tmp_path: Path) -> None:
    """``make demo`` runs 10,000 people: every control must pass there too, not only at test size."""
    report = run_demo(tmp_path / "home", people=10_000, as_of=AS_OF)
    assert report.success, [
        (o.dataset, o.checks) for o in report.outcomes if o.status != "published"
    ]
