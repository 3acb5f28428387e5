"""OpenLineage events: valid against the official schemas for every demo dataset, no raw values."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from expectations import ExpectationOutcome, GateResult
from lineage.events import build_event, extract_name, namespace, to_dict, to_json
from lineage.facets import FACET_KEY, SCHEMA_ID, SCHEMA_PATH, SCHEMA_URL
from lineage.propagation import ColumnTags, Computed, propagate
from lineage.validation import validate_event
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate

from ..openlineage_spec import SPEC_DIR, needs_spec

RUN_ID = "3f6c1b8e-6d0a-4c39-9d2b-6b1f0f3c2a11"
PARENT_ID = "9a1e2c4d-5b6f-4a7e-8c9d-0e1f2a3b4c5d"
WHEN = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
FORBIDDEN = (
    "PKG-SECRET-0042",
    "Jane Q Secret",
    "OBSERVED-SECRET-99",
    "RULE-SECRET-SET",
    "EXC-SECRET",
)
ESTATE = load_estate(DEMO_ESTATE)
COMPUTED = propagate(ESTATE)
DATASETS = sorted(ESTATE.datasets)


def outcome(**overrides: Any) -> ExpectationOutcome:
    """A passing expectation outcome, changed by ``overrides``."""
    base: dict[str, Any] = {
        "expectation_type": "expect_column_values_to_not_be_null",
        "column": "a",
        "severity": "critical",
        "success": True,
        "description": "a must not be empty",
        "element_count": 120,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
        "failing_keys": (),
        "observed_value": None,
        "rule": {"column": "a"},
        "exception": None,
    }
    return ExpectationOutcome(**(base | overrides))


def failing_gate(estate: Estate, dataset: str) -> GateResult:
    """A gate with a pass, a critical failure full of raw values, a warning and an error."""
    columns = estate.datasets[dataset].column_names
    return GateResult(
        suite=estate.suites[dataset],
        row_count=120,
        outcomes=(
            outcome(column=columns[0]),
            outcome(
                expectation_type="expect_column_values_to_be_in_set",
                column=columns[1],
                success=False,
                description=f"{columns[1]} values must be in the configured set",
                unexpected_count=3,
                unexpected_percent=2.5,
                failing_keys=({"id": "PKG-SECRET-0042"}, {"id": "Jane Q Secret"}),
                observed_value="OBSERVED-SECRET-99",
                rule={"column": columns[1], "value_set": ["RULE-SECRET-SET"]},
            ),
            outcome(
                expectation_type="expect_column_pair_values_a_to_be_greater_than_b",
                column=f"{columns[0]},{columns[-1]}",
                severity="warning",
                success=False,
                unexpected_count=1,
            ),
            outcome(
                expectation_type="expect_table_row_count_to_be_between",
                column=None,
                description="the table must have rows",
                severity="info",
                success=False,
                unexpected_count=None,
                element_count=None,
                exception="EXC-SECRET while computing",
                observed_value=17,
            ),
        ),
    )


def event(kind: str, dataset: str, **kw: Any) -> dict[str, Any]:
    """A serialised event for a demo dataset."""
    built = build_event(
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
    return to_dict(built)


def full_event(kind: str, dataset: str) -> dict[str, Any]:
    return event(
        kind,
        dataset,
        gate=failing_gate(ESTATE, dataset),
        row_count=120,
        error_message="gate failed" if kind == "FAIL" else None,
        lifecycle="OVERWRITE" if kind == "COMPLETE" else None,
    )


def facets_of(ev: dict[str, Any], side: str = "outputs", i: int = 0) -> dict[str, Any]:
    facets: dict[str, Any] = ev[side][i]["facets"]
    return facets


# --- schema validity --------------------------------------------------------------------------


@needs_spec
@pytest.mark.parametrize("kind", ["START", "COMPLETE", "FAIL"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_demo_event_is_valid(kind: str, dataset: str) -> None:
    assert validate_event(full_event(kind, dataset), SPEC_DIR) == []


@needs_spec
def test_validator_reports_what_is_wrong() -> None:
    good = full_event("COMPLETE", "care_statistics")
    broken = copy.deepcopy(good)
    del broken["run"]["runId"]
    assert any("'runId' is a required property" in e for e in validate_event(broken, SPEC_DIR))

    broken = copy.deepcopy(good)
    facets_of(broken)["tags"]["tags"][0]["value"] = 3
    assert any(e.startswith("outputs[0].facets.tags") for e in validate_event(broken, SPEC_DIR))

    broken = copy.deepcopy(good)
    facets_of(broken)[FACET_KEY]["columns"]["people"]["identifiability"] = "secret"
    errors = validate_event(broken, SPEC_DIR)
    assert any("outputs[0].facets.tagtrail_privacy" in e and "'secret'" in e for e in errors)

    broken = copy.deepcopy(good)
    privacy = facets_of(broken)[FACET_KEY]
    privacy["_schemaURL"], privacy["identifiability"] = SCHEMA_ID, "secret"
    assert any("'secret'" in e for e in validate_event(broken, SPEC_DIR))

    broken = copy.deepcopy(good)
    facets_of(broken)["tagz"] = facets_of(broken).pop("tags")
    assert any("not 'tagz'" in e for e in validate_event(broken, SPEC_DIR))

    broken = copy.deepcopy(good)
    facets_of(broken)["schema"]["_schemaURL"] = "https://example.org/Unknown.json#/$defs/X"
    assert any("no schema file" in e for e in validate_event(broken, SPEC_DIR))


def test_our_schema_follows_the_openlineage_facet_pattern() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID and SCHEMA_URL == SCHEMA_ID + "#/$defs/DatasetFacet"
    facet = schema["$defs"]["DatasetFacet"]
    dataset_facet = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetFacet"
    assert facet["allOf"][0] == {"$ref": dataset_facet}
    assert schema["properties"] == {FACET_KEY: {"$ref": "#/$defs/DatasetFacet"}}


# --- no raw values ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["COMPLETE", "FAIL"])
@pytest.mark.parametrize("dataset", ["care_packages", "care_statistics"])
def test_no_raw_values_leave_in_events(kind: str, dataset: str) -> None:
    built = build_event(
        kind,  # type: ignore[arg-type]
        estate=ESTATE,
        dataset=dataset,
        run_id=RUN_ID,
        parent_run_id=PARENT_ID,
        parent_job_name="job",
        event_time=WHEN,
        computed=COMPUTED,
        gate=failing_gate(ESTATE, dataset),
        row_count=120,
    )
    text = to_json(built)
    assert [s for s in FORBIDDEN if s in text] == []
    assertions = facets_of(json.loads(text))["dataQualityAssertions"]["assertions"]
    assert [a["success"] for a in assertions] == [True, False, False, False]
    assert assertions[1]["actual"] == "3 of 120 rows unexpected"
    assert assertions[1]["severity"] == "error" and assertions[2]["severity"] == "warn"
    assert "column" not in assertions[2] and len(assertions[2]["params"]["columns"]) == 2
    assert "could not run" in assertions[3]["description"]


# --- what the events say ----------------------------------------------------------------------


def test_flow_output_event(lineage_golden: Callable[[str, Any], None]) -> None:
    ev = full_event("COMPLETE", "care_statistics")
    assert ev["job"]["namespace"] == namespace("public_reporting") == "tagtrail.public_reporting"
    assert ev["job"]["name"] == "care_statistics"
    assert ev["job"]["facets"]["jobType"]["jobType"] == "ASSET"
    owners = [o["name"] for o in ev["job"]["facets"]["ownership"]["owners"]]
    assert owners == ["team:public_reporting", "user:transparency@northfield.example.org"]
    parent = ev["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == PARENT_ID and parent["job"]["namespace"] == "dagster"
    assert parent["root"]["job"]["name"] == "__ASSET_JOB"
    assert [(i["namespace"], i["name"]) for i in ev["inputs"]] == [
        ("tagtrail.research", "care_research_extract")
    ]
    out = facets_of(ev)
    people = out["columnLineage"]["fields"]["people"]["inputFields"]
    assert [(f["name"], f["field"]) for f in people] == [("care_research_extract", "person_key")]
    step = people[0]["transformations"][0]
    assert (step["type"], step["subtype"], step["masking"]) == ("DIRECT", "AGGREGATION", True)
    grouped = {f["field"]: f["transformations"] for f in out["columnLineage"]["dataset"]}
    assert set(grouped) == {"postcode_district", "age_band"}
    assert grouped["age_band"][0]["subtype"] == "GROUP_BY"
    tag = next(t for t in out["tags"]["tags"] if t["field"] == "people")
    assert tag == {
        "key": "aggregate.id.pseudonymous",
        "value": "aggregate",
        "source": "tagtrail",
        "field": "people",
    }
    privacy = out[FACET_KEY]
    assert privacy["agreement"]["id"] == "DSA-RES-PUB-04"
    assert privacy["retention"] == "P10Y, then archive as official statistics"
    assert privacy["identifiability"] == "aggregate"
    (attribution,) = privacy["columns"]["people"]["attributions"]
    assert attribution["path"][0] == "care_packages.nhs_number"
    assert ev["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 120
    assert out["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"
    engine = ev["run"]["facets"]["processing_engine"]
    assert engine["name"] == "dagster" and engine["version"]
    normalised = json.loads(
        json.dumps(ev)
        .replace(ev["producer"], "<producer>")
        .replace(json.dumps(engine["version"]), '"<dagster>"')
        .replace(json.dumps(engine["openlineageAdapterVersion"]), '"<tagtrail>"')
    )
    lineage_golden("event_care_statistics_complete", normalised)


def test_source_extract_event_reads_the_extract_file() -> None:
    ev = event("START", "care_packages")
    (source,) = ev["inputs"]
    assert source["namespace"] == "tagtrail.social_care"
    assert (
        source["name"]
        == extract_name(ESTATE, "care_packages")
        == ("extracts/social_care/care_packages.csv")
    )
    assert "Adult social care case management" in source["facets"]["documentation"]["description"]
    out = facets_of(ev)
    lineage = out["columnLineage"]["fields"]["nhs_number"]["inputFields"]
    assert lineage[0]["name"] == source["name"]
    assert lineage[0]["transformations"][0]["subtype"] == "IDENTITY"
    privacy = out[FACET_KEY]
    assert "agreement" not in privacy and "purpose" not in privacy
    assert privacy["sourceSystem"] and privacy["retention"] == "P8Y, then secure deletion"
    assert privacy["identifiability"] == "identified"


def test_start_event_has_no_outcomes() -> None:
    ev = event(
        "START", "care_statistics", gate=failing_gate(ESTATE, "care_statistics"), row_count=5
    )
    assert "dataQualityAssertions" not in facets_of(ev)
    assert "outputFacets" not in ev["outputs"][0] or not ev["outputs"][0]["outputFacets"]
    assert "errorMessage" not in ev["run"]["facets"]
    assert ev["eventType"] == "START" and ev["eventTime"] == "2026-03-01T09:30:00+00:00"


def test_fail_event_explains_the_failure() -> None:
    gate = failing_gate(ESTATE, "care_statistics")
    ev = event("FAIL", "care_statistics", gate=gate)
    error = ev["run"]["facets"]["errorMessage"]
    assert error["programmingLanguage"] == "python"
    assert error["message"] == (
        "publication gate failed: 1 critical expectation(s): "
        "expect_column_values_to_be_in_set on age_band"
    )
    assert "outputFacets" not in ev["outputs"][0] or not ev["outputs"][0]["outputFacets"]
    ev = event("FAIL", "care_statistics", error_message="transform raised KeyError")
    assert ev["run"]["facets"]["errorMessage"]["message"] == "transform raised KeyError"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_event(
            "START",
            estate=ESTATE,
            dataset="care_packages",
            run_id=RUN_ID,
            parent_run_id=PARENT_ID,
            parent_job_name="job",
            event_time=dt.datetime(2026, 3, 1),
            computed=COMPUTED,
        )
    with pytest.raises(ValueError, match="START, COMPLETE, FAIL or ABORT"):
        event("RUNNING", "care_packages")


def test_events_use_computed_tags() -> None:
    computed: Computed = dict(COMPUTED)
    computed[("care_research_extract", "person_key")] = ColumnTags(
        "care_research_extract", "person_key", (), ()
    )
    built = build_event(
        "START",
        estate=ESTATE,
        dataset="care_research_extract",
        run_id=RUN_ID,
        parent_run_id=PARENT_ID,
        parent_job_name="job",
        event_time=WHEN,
        computed=computed,
    )
    out = facets_of(to_dict(built))
    assert out[FACET_KEY]["columns"]["person_key"]["tags"] == []
    assert not [t for t in out["tags"]["tags"] if t["field"] == "person_key"]
