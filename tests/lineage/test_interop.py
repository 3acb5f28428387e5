"""OpenLineage interop: symlinks, custom facet schema URLs, the ``test`` facet, UUIDv7 run ids, and
every demo event read back through openlineage-python's typed classes and checked by the schemas."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated.base import BaseFacet, DatasetFacet, RunFacet
from openlineage.client.serde import Serde

from expectations import ExpectationOutcome, GateResult
from lineage.control_facets import (
    AUDIT_KEY,
    CONTROLS_KEY,
    ControlsReport,
    Launch,
    TagtrailAuditRunFacet,
    TagtrailControlsDatasetFacet,
)
from lineage.disposal import DISPOSAL_KEY, TagtrailDisposalDatasetFacet, disposal_event
from lineage.events import build_event, to_dict
from lineage.facets import FACET_KEY, SCHEMAS_DIR, TagtrailPrivacyDatasetFacet
from lineage.propagation import propagate
from lineage.typed import facet_class, run_event
from lineage.validation import validate_event
from pipelines.demo import DEMO_ESTATE
from pipelines.disposal import Disposal
from pipelines.estate import load_estate
from pipelines.policy.optout import Exclusion, Route
from pipelines.policy.result import ControlResult
from pipelines.policy.retention import Purge

from ..openlineage_spec import SPEC_DIR, needs_spec

ESTATE = load_estate(DEMO_ESTATE)
COMPUTED = propagate(ESTATE)
WHEN = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
RUN_ID = "3f6c1b8e-6d0a-4c39-9d2b-6b1f0f3c2a11"
PARENT_ID = "9a1e2c4d-5b6f-4a7e-8c9d-0e1f2a3b4c5d"
LAUNCH = Launch("alice", "run_tag", WHEN, PARENT_ID, "svc-dataflows")
OL_CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
OL_FACETS = "https://openlineage.io/spec/facets/"
# OpenLineage/compatibility-tests scripts/validate_ol_events.py: a facet with no schema loaded is
# accepted as custom only when its _schemaURL contains one of these.
CUSTOM_MARKERS = tuple(
    f"defs/{t}Facet" for t in ("Run", "Job", "Dataset", "InputDataset", "OutputDataset")
)
CUSTOM: dict[str, type[BaseFacet]] = {
    AUDIT_KEY: TagtrailAuditRunFacet,
    CONTROLS_KEY: TagtrailControlsDatasetFacet,
    DISPOSAL_KEY: TagtrailDisposalDatasetFacet,
    FACET_KEY: TagtrailPrivacyDatasetFacet,
}


def _outcome(column: str | None, success: bool, severity: str = "critical") -> ExpectationOutcome:
    return ExpectationOutcome(
        expectation_type="expect_column_values_to_not_be_null",
        column=column,
        severity=severity,  # type: ignore[arg-type]
        success=success,
        description="must not be empty",
        element_count=120,
        unexpected_count=0 if success else 4,
        unexpected_percent=0.0,
        failing_keys=({"id": "PKG-SECRET-0042"},),
        observed_value="OBSERVED-SECRET-99",
        rule={"value_set": ["RULE-SECRET-SET"]},
        exception=None,
    )


def _gate(dataset: str) -> GateResult:
    columns = ESTATE.datasets[dataset].column_names
    return GateResult(
        suite=ESTATE.suites[dataset],
        row_count=120,
        outcomes=(
            _outcome(columns[0], True),
            _outcome(f"{columns[0]},{columns[-1]}", False, "warning"),
            _outcome(None, False, "info"),
        ),
    )


CONTROLS = ControlsReport(
    as_of=WHEN.date(),
    results=(
        ControlResult("agreement_in_force", True, "DSA in force", "in force", counts={"n": 1}),
    ),
    purge=Purge("retention", "start_date", "P2Y", WHEN.date(), 3, 1, 0, "a" * 64),
    exclusion=Exclusion(
        "ndoo", "v1", 10, "nhs_number", 2, 2, (Route("care_packages", ("nhs_number",), 2),)
    ),
)


def _build(kind: str, dataset: str, **kw: Any) -> dict[str, Any]:
    event = build_event(
        kind,  # type: ignore[arg-type]
        estate=ESTATE,
        dataset=dataset,
        run_id=RUN_ID,
        parent_run_id=PARENT_ID,
        parent_job_name="__ASSET_JOB",
        event_time=WHEN,
        computed=COMPUTED,
        **kw,
    )
    return to_dict(event)


def demo_events() -> list[dict[str, Any]]:
    """START and COMPLETE of every demo dataset, as ``benchmarks/ingest.py`` builds them."""
    return [
        _build(
            kind,
            dataset,
            row_count=10_000 if kind == "COMPLETE" else None,
            lifecycle="OVERWRITE" if kind == "COMPLETE" else None,
        )
        for dataset in ESTATE.datasets
        for kind in ("START", "COMPLETE")
    ]


def full_events() -> list[dict[str, Any]]:
    """Every facet tagtrail emits: audit, gate, controls and version on COMPLETE and FAIL, and the
    disposal event of every dataset received under an agreement."""
    built = [
        _build(
            kind, dataset, gate=_gate(dataset), launch=LAUNCH, controls=CONTROLS, version="b" * 64
        )
        for dataset in ESTATE.datasets
        for kind in ("COMPLETE", "FAIL")
    ]
    disposal = Disposal("destroyed", 3, "c" * 64, WHEN)
    built += [
        to_dict(
            disposal_event(
                ESTATE,
                d,
                COMPUTED,
                disposal,
                reason="ended",
                archived_to=None,
                launch=LAUNCH,
                parent_job_name="review",
            )
        )
        for d in ESTATE.datasets
        if ESTATE.producer(d) is not None
    ]
    return built


EVENTS = demo_events() + full_events()
IDS = [f"{e['job']['name']}-{e['eventType']}-{i}" for i, e in enumerate(EVENTS)]


def _datasets(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [*event["inputs"], *event["outputs"]]


def test_every_dataset_is_also_a_department_schema_table() -> None:
    for event in EVENTS:
        tables = []
        for ds in _datasets(event):
            [link] = ds["facets"]["symlinks"]["identifiers"]
            assert link["namespace"] == "tagtrail" and link["type"] == "TABLE"
            schema, table = link["name"].split(".")
            assert schema == ds["namespace"].removeprefix("tagtrail.")
            if ds["name"] in ESTATE.datasets:
                assert table == ds["name"]
            else:  # the extract a source dataset's run reads
                assert ESTATE.producer(event["job"]["name"]) is None
                assert table == f"{event['job']['name']}-extract"
            tables.append(link["name"])
        assert len(tables) == len(set(tables)), "an input is never named as its output's table"


def test_every_column_lineage_input_resolves_to_a_table() -> None:
    """As OpenMetadata's connector resolves them: an input field's dataset, by namespace and name,
    among the event's datasets, to its symlink's schema.table."""
    fields = 0
    for event in EVENTS:
        tables = {
            (d["namespace"], d["name"]): d["facets"]["symlinks"]["identifiers"][0]["name"]
            for d in _datasets(event)
        }
        for out in event["outputs"]:
            lineage = out["facets"].get("columnLineage", {})
            refs = [f for spec in lineage.get("fields", {}).values() for f in spec["inputFields"]]
            for ref in [*refs, *lineage.get("dataset", [])]:
                assert len(tables[(ref["namespace"], ref["name"])].split(".")) == 2
                fields += 1
    assert fields > 0


@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_every_event_round_trips_through_the_client_classes(event: dict[str, Any]) -> None:
    typed = run_event(event)
    assert isinstance(typed, RunEvent)
    assert Serde.to_dict(typed) == event, "nothing lost or added"
    assert (typed.job.namespace, typed.job.name, typed.run.runId) == (
        event["job"]["namespace"],
        event["job"]["name"],
        event["run"]["runId"],
    )
    assert typed.eventType is not None and typed.eventType.value == event["eventType"]
    assert [(d.namespace, d.name) for d in typed.inputs or []] == [
        (d["namespace"], d["name"]) for d in event["inputs"]
    ]
    assert [(d.namespace, d.name) for d in typed.outputs or []] == [
        (d["namespace"], d["name"]) for d in event["outputs"]
    ]
    facets = _typed_facets(typed)
    assert len(facets) == len(json.dumps(event).split('"_schemaURL"')) - 1
    for key, facet in facets:
        cls = facet_class(facet._schemaURL)
        assert cls is not None and type(facet) is cls, key
        standard = facet._schemaURL.startswith(OL_FACETS)
        assert standard == cls.__module__.startswith("openlineage.client.generated."), key
        assert standard or CUSTOM[key] is cls, key


def _typed_facets(typed: RunEvent) -> list[tuple[str, BaseFacet]]:
    datasets = [*(typed.inputs or []), *(typed.outputs or [])]
    return [
        *(typed.run.facets or {}).items(),
        *(typed.job.facets or {}).items(),
        *((k, v) for d in datasets for k, v in (d.facets or {}).items()),
        *((k, v) for d in typed.outputs or [] for k, v in (d.outputFacets or {}).items()),
    ]


def test_foreign_and_earlier_facets_survive_as_data() -> None:
    event = copy.deepcopy(next(e for e in EVENTS if AUDIT_KEY in e["run"]["facets"]))
    foreign = {
        "_producer": "https://acme.example/etl/2.1",
        "_schemaURL": "https://acme.example/spec/1-0-0/AcmeCostRunFacet.json#/$defs/RunFacet",
        "cents": 12,
        "split": {"teams": ["a", "b"]},
    }
    audit = dict(event["run"]["facets"]["tagtrail_audit"])
    del audit["observedBy"], audit["observedVia"]
    audit["_schemaURL"] = (
        "https://tagtrail.dev/spec/facets/1-0-0/TagtrailAuditRunFacet.json#/$defs/TagtrailAuditRunFacet"
    )
    event["run"]["facets"].update(acme_cost=foreign, tagtrail_audit=audit)
    event["outputs"][0]["facets"]["schema"]["acmeNote"] = "kept"
    typed = run_event(event)
    assert Serde.to_dict(typed) == event
    facets = typed.run.facets or {}
    assert isinstance(facets["acme_cost"], RunFacet) and facets["acme_cost"].cents == 12  # type: ignore[attr-defined]
    assert isinstance(facets["tagtrail_audit"], RunFacet)
    assert not isinstance(facets["tagtrail_audit"], TagtrailAuditRunFacet), "not forced to fit"


def test_custom_facet_schema_urls_are_recognised_as_custom() -> None:
    for key, cls in CUSTOM.items():
        url = cls._get_schema()
        base = "RunFacet" if issubclass(cls, RunFacet) else "DatasetFacet"
        assert issubclass(cls, RunFacet | DatasetFacet)
        file_id, fragment = url.split("#")
        assert file_id.startswith("https://tagtrail.dev/spec/facets/") and file_id.endswith(
            f"/{cls.__name__}.json"
        )
        assert fragment == f"/$defs/{base}" and any(m in url for m in CUSTOM_MARKERS)
        schema = json.loads((SCHEMAS_DIR / f"{cls.__name__}.json").read_text(encoding="utf-8"))
        assert schema["$id"] == file_id
        assert schema["$defs"][base]["allOf"][0] == {"$ref": f"{OL_CORE}#/$defs/{base}"}
        assert schema["properties"] == {key: {"$ref": f"#/$defs/{base}"}}


def test_openlineage_loads_the_current_schema_of_each_facet() -> None:
    """OpenLineage's validator loads every ``*Facet.json`` in a folder, one per facet key: only the
    current version may be named so; earlier ones stay (by ``$id``) for events already stored."""
    schemas = {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS_DIR.glob("*.json")
    }
    current = {
        next(iter(s["properties"])): s["$id"] for name, s in schemas.items() if "Facet.json" in name
    }
    assert current == {key: cls._get_schema().split("#")[0] for key, cls in CUSTOM.items()}
    ids = {s["$id"] for s in schemas.values()}
    for name in (
        "TagtrailAuditRunFacet",
        "TagtrailControlsDatasetFacet",
        "TagtrailPrivacyDatasetFacet",
    ):
        assert {
            f"https://tagtrail.dev/spec/facets/{v}/{name}.json" for v in ("1-0-0", "1-1-0", "1-1-1")
        } <= ids


def test_the_gate_results_are_also_the_test_run_facet() -> None:
    for event in (e for e in EVENTS if "dataQualityAssertions" in e["outputs"][0]["facets"]):
        tests = event["run"]["facets"]["test"]["tests"]
        assertions = event["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
        assert [t["status"] for t in tests] == [
            "pass" if a["success"] else "fail" for a in assertions
        ]
        assert (
            [t["severity"] for t in tests]
            == [a["severity"] for a in assertions]
            == ["error", "warn", "info"]
        )
        assert [t["type"] for t in tests] == [a["assertion"] for a in assertions]
        assert [t.get("actual") for t in tests] == [a.get("actual") for a in assertions]
        assert len(tests[1]["params"]["columns"]) == 2 and "columns" not in tests[2]["params"]
        assert "SECRET" not in json.dumps(tests)
    assert all("test" not in e["run"]["facets"] for e in EVENTS if e["eventType"] == "START")


def test_disposal_run_ids_are_uuidv7_derived_from_the_disposal() -> None:
    drops = [e for e in EVENTS if e["job"]["name"] == "agreement_review"]
    ids = [uuid.UUID(e["run"]["runId"]) for e in drops]
    assert drops and all(i.version == 7 for i in ids) and len(set(ids)) == len(ids)
    assert {int(i.hex[:12], 16) for i in ids} == {int(WHEN.timestamp() * 1000)}
    assert [e["run"]["runId"] for e in full_events() if e["job"]["name"] == "agreement_review"] == [
        str(i) for i in ids
    ]


@needs_spec
@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_every_event_passes_the_official_schemas(event: dict[str, Any]) -> None:
    assert validate_event(event, SPEC_DIR) == []


@needs_spec
def test_events_with_earlier_facet_versions_still_validate() -> None:
    event = copy.deepcopy(
        next(e for e in EVENTS if "tagtrail_controls" in e["outputs"][0]["facets"])
    )
    earlier = "https://tagtrail.dev/spec/facets/1-1-0/{0}.json#/$defs/{0}"
    event["run"]["facets"]["tagtrail_audit"]["_schemaURL"] = earlier.format("TagtrailAuditRunFacet")
    for name, key in (
        ("TagtrailPrivacyDatasetFacet", "tagtrail_privacy"),
        ("TagtrailControlsDatasetFacet", "tagtrail_controls"),
    ):
        event["outputs"][0]["facets"][key]["_schemaURL"] = earlier.format(name)
    assert validate_event(event, SPEC_DIR) == []
