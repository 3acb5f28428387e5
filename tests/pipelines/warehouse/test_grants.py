"""The warehouse grants computed from the declarations, and planned against a catalog: no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.warehouse.grants import GrantsError, desired_grants, role_name
from pipelines.warehouse.grants_catalog import Catalog, DefaultPrivilege, Privilege, RoleState
from pipelines.warehouse.grants_plan import MANAGED, plan_grants

from ..edits import edit

AS_OF = dt.date(2026, 11, 1)
STATISTICS = "care_statistics: [postcode_district, age_band, people, suppressed, suppression]"
WITHOUT_SUPPRESSION = "care_statistics: [postcode_district, age_band, people, suppressed]"


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


def test_every_department_gets_one_prefixed_role(estate: Estate) -> None:
    desired = desired_grants(estate, AS_OF, "t1_")
    assert desired.roles == {d: f"t1_{d}" for d in estate.departments}
    assert desired.department_of("t1_research") == "research"
    assert desired.department_of("t1_nobody") is None
    assert desired.department_of("tagtrail_research") is None


@pytest.mark.parametrize("prefix", ["", "Tagtrail_", "1x_", "a-b_", "x" * 63])
def test_a_prefix_that_cannot_start_a_role_name_is_refused(estate: Estate, prefix: str) -> None:
    with pytest.raises(GrantsError):
        desired_grants(estate, AS_OF, prefix)


def test_a_role_name_longer_than_postgresql_allows_is_refused() -> None:
    with pytest.raises(GrantsError, match="research"):
        role_name("research", "p" * 56)


def test_each_role_reads_its_own_datasets_and_what_agreements_in_force_share(
    estate: Estate,
) -> None:
    desired = desired_grants(estate, AS_OF)
    assert desired.readable("research") == {
        "research.admissions_research_extract": None,
        "research.care_research_extract": None,
        "public_reporting.care_statistics": None,
    }
    assert desired.readable("public_reporting") == {"public_reporting.care_statistics": None}
    assert desired.readable("health") == {
        "health.inpatient_episodes": None,
        "health.national_data_opt_out": None,
        "research.admissions_research_extract": None,
        "social_care.discharge_notifications": None,
    }
    assert set(desired.readable("housing")) == {
        "housing.tenancies",
        "social_care.households_at_risk",
    }
    shared = desired.granted("research", "public_reporting", "care_statistics")
    assert shared is not None and shared.agreements == ("DSA-RES-PUB-04",) and not shared.own


def test_an_agreement_listing_some_columns_grants_exactly_those(estate_copy: Path) -> None:
    edit(estate_copy / "agreements.yaml", STATISTICS, WITHOUT_SUPPRESSION)
    desired = desired_grants(load_estate(estate_copy), AS_OF)
    assert desired.readable("research")["public_reporting.care_statistics"] == (
        "postcode_district",
        "age_band",
        "people",
        "suppressed",
    )
    assert desired.readable("public_reporting")["public_reporting.care_statistics"] is None


def test_an_agreement_ended_by_the_date_grants_nothing(estate_copy: Path) -> None:
    edit(
        estate_copy / "agreements.yaml",
        "    end: 2030-12-31\n    review: 2028-01-01\n\n  - id: DSA-HLT-RES-05",
        "    end: 2026-06-30\n    review: 2026-05-01\n\n  - id: DSA-HLT-RES-05",
    )
    desired = desired_grants(load_estate(estate_copy), AS_OF)
    assert "public_reporting.care_statistics" not in desired.readable("research")
    [lapsed] = desired.lapsed[("research", "care_statistics")]
    assert lapsed.agreement == "DSA-RES-PUB-04"
    assert "research.care_research_extract" in desired.readable("research")


def test_agreements_not_yet_started_or_long_ended_grant_nothing(estate: Estate) -> None:
    before = desired_grants(estate, dt.date(2025, 12, 31))
    assert set(before.readable("research")) == {
        "research.admissions_research_extract",
        "research.care_research_extract",
    }
    assert "social_care.households_at_risk" in before.readable("housing")  # from 2025-04-01
    after = desired_grants(estate, dt.date(2031, 1, 1))
    assert all(a.own for a in after.access)
    assert {a for lapsed in after.lapsed.values() for a in (x.agreement for x in lapsed)} == set(
        estate.agreements
    )


def _catalog(estate: Estate, prefix: str, **kw: object) -> Catalog:
    """Every department schema and dataset table, with their declared columns, and nothing granted."""
    tables = {(estate.dataset_owner[n], n): ds.column_names for n, ds in estate.datasets.items()}
    values: dict[str, object] = {
        "user": "loader",
        "roles": {},
        "schemas": frozenset(estate.departments),
        "tables": tables,
        "privileges": (),
        "defaults": (),
    }
    return Catalog(**{**values, **kw})  # type: ignore[arg-type]


def _granted(estate: Estate, prefix: str, as_of: dt.date) -> Catalog:
    """A catalog already granting exactly what the plan on an empty one would give."""
    desired = desired_grants(estate, as_of, prefix)
    plan = plan_grants(desired, _catalog(estate, prefix))
    privileges = [
        Privilege(c.role, str(c.schema), c.dataset, column, str(c.privilege))
        for c in plan.changes
        if c.action == "grant" and c.scope != "default"
        for column in (c.columns or (None,))
    ]
    defaults = [
        DefaultPrivilege("loader", str(c.schema), c.role, "SELECT")
        for c in plan.changes
        if c.scope == "default"
    ]
    roles = {role: RoleState(False, MANAGED) for role in desired.roles.values()}
    return _catalog(
        estate, prefix, roles=roles, privileges=tuple(privileges), defaults=tuple(defaults)
    )


def test_an_empty_database_gets_roles_then_grants_with_reasons(estate: Estate) -> None:
    plan = plan_grants(desired_grants(estate, AS_OF, "p_"), _catalog(estate, "p_"))
    actions = [c.action for c in plan.changes]
    assert actions == sorted(actions, key=["create_role", "alter_role", "revoke", "grant"].index)
    assert actions.count("create_role") == len(estate.departments)
    assert "revoke" not in actions and all(c.reason for c in plan.changes)
    shared = [c for c in plan.changes if c.role == "p_research" and c.scope == "table"]
    assert {(c.schema, c.dataset, c.agreement) for c in shared} == {
        ("research", "admissions_research_extract", None),
        ("research", "care_research_extract", None),
        ("public_reporting", "care_statistics", "DSA-RES-PUB-04"),
    }
    usage = {c.schema for c in plan.changes if c.role == "p_research" and c.scope == "schema"}
    assert usage == {"research", "public_reporting"}
    [default] = [c for c in plan.changes if c.role == "p_research" and c.scope == "default"]
    assert default.sql == (
        'ALTER DEFAULT PRIVILEGES FOR ROLE "loader" IN SCHEMA "research" '
        'GRANT SELECT ON TABLES TO "p_research"'
    )


def test_a_database_granting_exactly_that_needs_nothing(estate: Estate) -> None:
    plan = plan_grants(desired_grants(estate, AS_OF, "p_"), _granted(estate, "p_", AS_OF))
    assert plan.up_to_date and plan.changes == ()


def test_a_table_grant_narrowed_to_columns_is_revoked_before_the_columns_are_granted(
    estate_copy: Path,
) -> None:
    granted = _granted(load_estate(DEMO_ESTATE), "p_", AS_OF)
    edit(estate_copy / "agreements.yaml", STATISTICS, WITHOUT_SUPPRESSION)
    plan = plan_grants(desired_grants(load_estate(estate_copy), AS_OF, "p_"), granted)
    assert [(c.action, c.scope, c.role, c.dataset, c.columns) for c in plan.changes] == [
        ("revoke", "table", "p_research", "care_statistics", ()),
        (
            "grant",
            "columns",
            "p_research",
            "care_statistics",
            ("postcode_district", "age_band", "people", "suppressed"),
        ),
    ]
    assert plan.changes[1].sql == (
        'GRANT SELECT ("postcode_district", "age_band", "people", "suppressed") '
        'ON TABLE "public_reporting"."care_statistics" TO "p_research"'
    )


def test_public_access_and_other_privileges_of_tagtrail_roles_are_revoked(
    estate: Estate,
) -> None:
    granted = _granted(estate, "p_", AS_OF)
    extra = (
        Privilege(None, "health", None, None, "USAGE"),
        Privilege(None, "health", "inpatient_episodes", None, "SELECT"),
        Privilege("p_research", "health", "inpatient_episodes", "nhs_number", "SELECT"),
        Privilege("p_research", "research", "care_research_extract", None, "INSERT"),
        Privilege("someone_else", "health", "inpatient_episodes", None, "SELECT"),
    )
    catalog = _catalog(
        estate,
        "p_",
        roles={**granted.roles, "p_research": RoleState(True, None)},
        privileges=granted.privileges + extra,
        defaults=granted.defaults,
    )
    plan = plan_grants(desired_grants(estate, AS_OF, "p_"), catalog)
    done = {(c.action, c.role, c.schema, c.dataset, c.columns, c.privilege) for c in plan.changes}
    assert done == {
        ("alter_role", "p_research", None, None, (), None),
        ("revoke", "PUBLIC", "health", None, (), "USAGE"),
        ("revoke", "PUBLIC", "health", "inpatient_episodes", (), "SELECT"),
        ("revoke", "p_research", "health", "inpatient_episodes", ("nhs_number",), "SELECT"),
        ("revoke", "p_research", "research", "care_research_extract", (), "INSERT"),
    }
    assert len(plan.changes) == 6  # NOLOGIN and the comment; someone_else is not tagtrail's


def test_a_table_not_published_yet_is_pending(estate: Estate) -> None:
    catalog = _catalog(estate, "p_")
    tables = {k: v for k, v in catalog.tables.items() if k[1] != "care_statistics"}
    plan = plan_grants(
        desired_grants(estate, AS_OF, "p_"),
        _catalog(estate, "p_", tables=tables, schemas=frozenset(estate.departments) - {"housing"}),
    )
    assert not [c for c in plan.changes if c.dataset == "care_statistics"]
    assert any("care_statistics" in p and "p_research" in p for p in plan.pending)
    assert any(p.startswith("schema housing") for p in plan.pending)
    assert not [c for c in plan.changes if c.schema == "housing"]


def test_the_period_tables_of_a_partitioned_dataset_are_granted_as_the_dataset(
    tmp_path: Path,
) -> None:
    from tests.dagster_project.partitioned_estate import write_estate

    estate = load_estate(write_estate(tmp_path / "estate"))
    columns = estate.datasets["visit_extract"].column_names
    periods = {("research", f"visit_extract__2026_0{m}"): columns for m in (1, 2)}
    tables = {(estate.dataset_owner[n], n): ds.column_names for n, ds in estate.datasets.items()}
    tables = {k: v for k, v in tables.items() if k[1] != "visit_extract"} | periods
    plan = plan_grants(desired_grants(estate, AS_OF, "p_"), _catalog(estate, "p_", tables=tables))
    health = {
        (c.schema, c.dataset) for c in plan.changes if c.role == "p_health" and c.scope == "table"
    }
    assert set(periods) <= health, "health reads every period its agreement shares"
    assert not [p for p in plan.pending if "visit_extract" in p], "its periods are published"
    unrelated = {("research", "visit_extract__notes"): columns}
    plan = plan_grants(
        desired_grants(estate, AS_OF, "p_"),
        _catalog(estate, "p_", tables=tables | unrelated),
    )
    assert ("research", "visit_extract__notes") not in {
        (c.schema, c.dataset) for c in plan.changes if c.role == "p_health" and c.action == "grant"
    }
