"""Automation the Dagster way, evaluated with Dagster's own APIs: the source sensor, the flows'
automation condition, and the daily agreement review."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_project.agreements import AGREEMENT_JOB
from dagster_project.factory import build_definitions
from dagster_project.instance import dagster_home
from dagster_project.lineage import LineageResource
from dagster_project.resources import DatasetIOManager, TagtrailSettings
from dagster_project.run import run_estate
from dagster_project.sensors import SOURCE_SENSOR
from lineage.store import default_url, open_store
from lineage.validation import validate_event
from pipelines.demo.defects import inject
from pipelines.estate import Estate, load_estate
from pipelines.extracts import extract_path
from pipelines.manifest import copy_estate
from pipelines.policy.result import keys_sha256
from pipelines.scaffold import init_estate
from pipelines.store import dataset_path

from ..openlineage_spec import HAVE_SPEC, SPEC_DIR
from .conftest import AS_OF
from .runs import ESTATE, instance

REFERRALS = dg.AssetKey(["health", "referrals"])
BY_AREA = dg.AssetKey(["public_reporting", "referrals_by_area"])


def _defs(estate: Estate, home: Path, as_of: dt.date = AS_OF) -> dg.Definitions:
    return build_definitions(
        estate,
        resources={
            "settings": TagtrailSettings(home=str(home), as_of=as_of.isoformat()),
            "io_manager": DatasetIOManager(home=str(home)),
            "lineage": LineageResource(home=str(home)),
        },
    )


@pytest.fixture
def published(tmp_path: Path) -> tuple[Estate, Path]:
    """A new estate, every dataset published once."""
    init_estate(tmp_path / "estate")
    estate = load_estate(tmp_path / "estate")
    home = tmp_path / "home"
    assert run_estate(estate, home, as_of=AS_OF).success
    return estate, home


def _tick(estate: Estate, home: Path, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    defs = _defs(estate, home)
    sensor = defs.resolve_sensor_def(SOURCE_SENSOR)
    with instance(home) as inst:
        context = dg.build_sensor_context(
            instance=inst,
            cursor=cursor,
            definitions=defs,
            resources={"settings": TagtrailSettings(home=str(home))},
        )
        return sensor(context)  # type: ignore[no-any-return]


def test_a_changed_extract_requests_its_source(published: tuple[Estate, Path]) -> None:
    estate, home = published
    first = _tick(estate, home, None)
    assert isinstance(first, dg.SkipReason), "data already published is not read again"
    extract = estate.root / "sample_data" / "health" / "referrals.csv"
    extract.write_text(extract.read_text().replace("REF10001", "REF99001"))
    changed = _tick(estate, home, None)
    assert isinstance(changed, dg.SensorResult)
    [request] = changed.run_requests or []
    assert request.asset_selection == [REFERRALS]
    assert changed.cursor is not None
    assert isinstance(_tick(estate, home, changed.cursor), dg.SkipReason)


def test_a_missing_extract_is_skipped_with_a_warning(published: tuple[Estate, Path]) -> None:
    estate, home = published
    (estate.root / "sample_data" / "health" / "referrals.csv").unlink()
    result = _tick(estate, home, json.dumps({"referrals": "before"}))
    assert isinstance(result, dg.SkipReason)
    assert "1 could not be read" in str(result.skip_message)


def test_a_flow_follows_its_updated_source(published: tuple[Estate, Path]) -> None:
    estate, home = published
    defs = _defs(estate, home)
    with instance(home) as inst:
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=inst)
        assert baseline.total_requested == 0
        assert run_estate(estate, home, select=["referrals"], as_of=AS_OF).success
        after = dg.evaluate_automation_conditions(defs=defs, instance=inst, cursor=baseline.cursor)
    assert after.get_num_requested(BY_AREA) == 1


def test_a_flow_is_not_requested_while_an_input_is_held_back(
    home_after_clean_run: Path,
) -> None:
    """households_at_risk reads tenancies and benefit_claims: with tenancies held back, a new
    benefit_claims does not start it; once tenancies passes again, it does."""
    home = home_after_clean_run
    flow = dg.AssetKey(["social_care", "households_at_risk"])
    defs = _defs(ESTATE, home)
    with instance(home) as inst:
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=inst)
        good = extract_path(home, "housing", "tenancies").read_bytes()
        inject(home, "duplicate-primary-keys")
        held = run_estate(ESTATE, home, select=["tenancies"], as_of=AS_OF)
        assert [o.status for o in held.outcomes] == ["held back"]
        assert run_estate(ESTATE, home, select=["benefit_claims"], as_of=AS_OF).success
        blocked = dg.evaluate_automation_conditions(
            defs=defs, instance=inst, cursor=baseline.cursor
        )
        assert blocked.get_num_requested(flow) == 0
        extract_path(home, "housing", "tenancies").write_bytes(good)
        assert run_estate(ESTATE, home, select=["tenancies"], as_of=AS_OF).success
        released = dg.evaluate_automation_conditions(
            defs=defs, instance=inst, cursor=blocked.cursor
        )
    assert released.get_num_requested(flow) == 1


def test_plain_eager_would_have_run_on_held_back_data(home_after_clean_run: Path) -> None:
    """Why the condition exists: eager() alone requests the flow although an input is held back."""
    home = home_after_clean_run
    flow = dg.AssetKey(["social_care", "households_at_risk"])
    eager = _defs(ESTATE, home).map_asset_specs(
        func=lambda spec: spec.replace_attributes(
            automation_condition=dg.AutomationCondition.eager() if spec.deps else None
        )
    )
    with instance(home) as inst:
        baseline = dg.evaluate_automation_conditions(defs=eager, instance=inst)
        inject(home, "duplicate-primary-keys")
        run_estate(ESTATE, home, select=["tenancies"], as_of=AS_OF)
        run_estate(ESTATE, home, select=["benefit_claims"], as_of=AS_OF)
        result = dg.evaluate_automation_conditions(
            defs=eager, instance=inst, cursor=baseline.cursor
        )
    assert result.get_num_requested(flow) == 1


def _review(
    estate: Estate, home: Path, as_of: dt.date, tags: dict[str, str] | None = None
) -> dict[str, dg.AssetCheckEvaluation]:
    defs = _defs(estate, home, as_of)
    with dg.DagsterInstance.from_config(str(dagster_home(home))) as inst:
        result = defs.resolve_job_def(AGREEMENT_JOB).execute_in_process(
            instance=inst, tags=tags or {"tagtrail/launched_by": "steward"}
        )
    assert result.success
    assert not result.get_asset_materialization_events(), "the review materializes nothing"
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def test_an_agreement_20_days_from_its_end_warns(home_after_clean_run: Path) -> None:
    agreement = ESTATE.agreements["DSA-HLT-ASC-01"]
    checks = _review(ESTATE, home_after_clean_run, agreement.end - dt.timedelta(days=20))
    warning = checks["discharge_notifications"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert "ends in 20 day(s)" in (warning.description or "")
    assert warning.metadata["days_to_end"].value == 20
    assert dataset_path(home_after_clean_run, "social_care", "discharge_notifications").is_file()
    other = checks["care_research_extract"].description or ""  # DSA-ASC-RES-03 ends in 2030
    assert "ends in" not in other and "was due for review on 2028-01-01" in other


def test_an_ended_agreement_disposes_of_what_was_received(home_after_clean_run: Path) -> None:
    home = home_after_clean_run
    agreement = ESTATE.agreements["DSA-HLT-ASC-01"]
    path = dataset_path(home, "social_care", "discharge_notifications")
    keys = pd.read_parquet(
        path, columns=list(ESTATE.datasets["discharge_notifications"].primary_key)
    )
    checks = _review(ESTATE, home, agreement.end + dt.timedelta(days=1))
    assert not path.exists() and not list(path.parent.glob(".discharge_notifications*"))
    ended = checks["discharge_notifications"]
    assert ended.metadata["disposal"].value == "destroyed"
    assert ended.metadata["count/rows"].value == len(keys)
    assert dataset_path(home, "research", "care_research_extract").is_file(), "others stay"
    with open_store(default_url(home)) as store:
        [record] = store.audit(dataset="discharge_notifications", kind="dataset_destroyed")
        drops = [
            json.loads(raw)
            for raw in store.events(record.dagster_run_id)
            if '"DROP"' in raw and "discharge_notifications" in raw
        ]
        dataset = store.dataset("discharge_notifications")
        columns = store.columns("discharge_notifications")
        hops = store.trace("discharge_notifications", "nhs_number", "upstream", None)
    assert {c.name for c in columns} == set(ESTATE.datasets["discharge_notifications"].column_names)
    assert hops, "where the dropped data came from is still on record"
    assert record.details["rows"] == len(keys)
    assert record.details["keysSha256"] == keys_sha256(keys)
    assert record.agreement == agreement.id and record.launched_by == "steward"
    [event] = drops
    assert event["outputs"][0]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"
    if HAVE_SPEC:  # the official-schema check; the rest of the test runs without the spec
        assert validate_event(event, SPEC_DIR) == []
    assert dataset is not None and dataset.lifecycle_state == "DROP"
    audit = subprocess.run(
        [
            *(sys.executable, "-m", "dagster_project.cli", "audit", "--home", str(home)),
            *("--kind", "dataset_destroyed"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"destroyed {len(keys):,} rows" in audit and agreement.id in audit
    again = _review(ESTATE, home, agreement.end + dt.timedelta(days=2))
    assert "nothing of it is held" in (again["discharge_notifications"].description or "")
    with open_store(default_url(home)) as store:
        assert len(store.audit(dataset="discharge_notifications", kind="dataset_destroyed")) == 1


def test_an_agreement_that_says_archive_moves_the_data_out_of_publication(
    home_after_clean_run: Path, tmp_path: Path
) -> None:
    home = home_after_clean_run
    root = copy_estate(ESTATE.root, tmp_path / "estate")
    text = (root / "agreements.yaml").read_text()
    (root / "agreements.yaml").write_text(
        text.replace("    review: 2027-12-31\n", "    review: 2027-12-31\n    on_end: archive\n", 1)
    )
    estate = load_estate(root)
    published = dataset_path(home, "social_care", "discharge_notifications").read_bytes()
    _review(
        estate,
        home,
        estate.agreements["DSA-HLT-ASC-01"].end + dt.timedelta(days=1),
        tags={"dagster/schedule_name": "agreement_review_daily"},
    )
    [archived] = (home / "archive" / "social_care" / "discharge_notifications").iterdir()
    assert archived.read_bytes() == published
    assert not dataset_path(home, "social_care", "discharge_notifications").exists()
    with open_store(default_url(home)) as store:
        [record] = store.audit(dataset="discharge_notifications", kind="dataset_archived")
    assert record.details["archivedTo"] == str(archived.relative_to(home))
    assert record.launched_by == "schedule:agreement_review_daily"
