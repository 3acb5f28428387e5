"""``tagtrail grants`` against PostgreSQL: what each department's role can and cannot read.

Needs ``TAGTRAIL_TEST_PG_URL`` (a superuser): each test creates its own database and roles with a
random prefix (roles are cluster-wide) and drops them afterwards. The mistakes need no database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from dagster_project.cli import main
from lineage.store import open_store
from pipelines.estate import Estate, load_estate
from pipelines.warehouse.grants_apply import connect, plan_database

from ..pipelines.edits import edit

PG_ENV = "TAGTRAIL_TEST_PG_URL"
HOW = (
    "set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test (a superuser) "
    "to run the warehouse grants tests"
)
AS_OF = dt.date(2026, 11, 1)
STATISTICS = "care_statistics: [postcode_district, age_band, people, suppressed, suppression]"
LISTED = ("postcode_district", "age_band", "people", "suppressed")
ENDS = "    end: 2030-12-31\n    review: 2028-01-01\n\n  - id: DSA-HLT-RES-05"
ENDED = "    end: 2026-06-30\n    review: 2026-05-01\n\n  - id: DSA-HLT-RES-05"
_TYPES = {
    "string": ("text", "x"),
    "integer": ("bigint", 1),
    "float": ("double precision", 1.5),
    "boolean": ("boolean", True),
    "date": ("date", dt.date(2026, 1, 1)),
}


@dataclass(frozen=True)
class Warehouse:
    url: str
    prefix: str
    store_url: str

    def args(self, *more: str) -> list[str]:
        return ["grants", *more, "--as-of", AS_OF.isoformat(), "--role-prefix", self.prefix]


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    """A fresh database; the roles of the random prefix are dropped with it."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(HOW)
    monkeypatch.delenv("TAGTRAIL_DATASETS_URL", raising=False)
    name = f"tt_grants_{uuid.uuid4().hex[:12]}"
    prefix = f"tt{uuid.uuid4().hex[:8]}_"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield Warehouse(url, prefix, f"sqlite:///{tmp_path / 'lineage.db'}")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            roles = conn.execute(
                sa.text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"),
                {"p": prefix},
            ).scalars()
            for role in list(roles):
                conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()


def publish(url: str, estate: Estate) -> None:
    """Every department's schema, and one table a dataset with its declared columns and a row."""
    with connect(url) as conn, conn.transaction():
        for department in estate.departments:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(department)))
        for name, ds in estate.datasets.items():
            table = sql.Identifier(estate.dataset_owner[name], name)
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(_TYPES[c.type.value][0]))
                for c in ds.columns
            )
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, columns))
            conn.execute(
                sql.SQL("INSERT INTO {} VALUES ({})").format(
                    table, sql.SQL(", ").join([sql.Placeholder()] * len(ds.columns))
                ),
                [_TYPES[c.type.value][1] for c in ds.columns],
            )


def can_read(url: str, role: str, query: str) -> bool:
    """Whether ``role`` may run ``query`` (a superuser session that sets the role)."""
    with connect(url) as conn:
        conn.autocommit = True
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        try:
            conn.execute(query).fetchall()
        except psycopg.errors.InsufficientPrivilege:
            return False
    return True


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def expected_statements(w: Warehouse, estate_dir: Path) -> list[str]:
    with connect(w.url) as conn:
        plan = plan_database(conn, load_estate(estate_dir), AS_OF, w.prefix)
    return [c.sql for c in plan.changes]


def test_roles_read_what_agreements_in_force_list_and_lose_it_when_they_end(
    warehouse: Warehouse,
    estate_copy: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = warehouse
    publish(w.url, load_estate(estate_copy))
    research = f"{w.prefix}research"
    estate = ["--estate", str(estate_copy), "--store-url", w.store_url]
    listed = ", ".join(LISTED)
    monkeypatch.setenv("TAGTRAIL_DATASETS_URL", w.url)
    whole = expected_statements(w, estate_copy)
    assert run(w.args("--apply", *estate), capsys)[0] == 0
    assert can_read(w.url, research, "SELECT * FROM public_reporting.care_statistics")

    edit(
        estate_copy / "agreements.yaml", STATISTICS, "care_statistics: [" + ", ".join(LISTED) + "]"
    )
    first = expected_statements(w, estate_copy)
    assert [statement.split()[0] for statement in first] == ["REVOKE", "GRANT"]  # table, columns
    code, out, _ = run(w.args("--apply", *estate), capsys)
    assert code == 0 and all(statement in out for statement in first)
    assert not can_read(w.url, research, "SELECT * FROM health.inpatient_episodes")
    assert not can_read(w.url, research, "SELECT nhs_number FROM health.inpatient_episodes")
    assert not can_read(w.url, research, "SELECT suppression FROM public_reporting.care_statistics")
    assert not can_read(w.url, research, "SELECT * FROM public_reporting.care_statistics")
    assert can_read(w.url, research, f"SELECT {listed} FROM public_reporting.care_statistics")
    assert can_read(w.url, research, "SELECT * FROM research.care_research_extract")
    assert can_read(
        w.url, f"{w.prefix}public_reporting", "SELECT * FROM public_reporting.care_statistics"
    )
    assert not can_read(w.url, f"{w.prefix}housing", "SELECT * FROM benefits.benefit_claims")

    code, out, _ = run(w.args("--plan", *estate), capsys)
    assert code == 0 and "nothing to do" in out and "GRANT" not in out

    edit(estate_copy / "agreements.yaml", ENDS, ENDED)
    second = expected_statements(w, estate_copy)
    assert second and all(s.startswith("REVOKE") for s in second)
    monkeypatch.delenv("TAGTRAIL_DATASETS_URL")
    code, out, _ = run(w.args("--apply", "--url", w.url, *estate), capsys)
    assert code == 0
    assert not can_read(w.url, research, f"SELECT {listed} FROM public_reporting.care_statistics")
    assert can_read(w.url, research, "SELECT * FROM research.care_research_extract")

    with open_store(w.store_url) as store:
        records = store.audit(kind="grant_changed")
    assert [r.details["statement"] for r in records] == whole + first + second
    granted = [r for r in records if r.details.get("dataset") == "care_statistics"]
    assert {(r.details["action"], r.details["role"], r.agreement) for r in granted} >= {
        ("grant", research, "DSA-RES-PUB-04"),
        ("revoke", research, "DSA-RES-PUB-04"),
    }
    [columns] = [
        r for r in granted if (r.details["action"], r.details["scope"]) == ("grant", "columns")
    ]
    assert tuple(columns.details["columns"]) == LISTED
    assert {r.department for r in granted} == {"public_reporting"}

    code, out, _ = run(
        ["audit", "--kind", "grant_changed", "--store-url", w.store_url, "--json"], capsys
    )
    assert code == 0 and len(out.splitlines()) == len(whole) + len(first) + len(second)
    assert {json.loads(line)["kind"] for line in out.splitlines()} == {"grant_changed"}


def test_a_table_published_later_is_pending_then_granted(
    warehouse: Warehouse, estate_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = warehouse
    estate = load_estate(estate_copy)
    publish(w.url, estate)
    with connect(w.url) as conn, conn.transaction():
        conn.execute("DROP TABLE public_reporting.care_statistics")
    args = ["--estate", str(estate_copy), "--store-url", w.store_url, "--url", w.url]
    code, out, _ = run(w.args("--apply", *args), capsys)
    assert code == 0 and "care_statistics" in "".join(
        line for line in out.splitlines() if line.startswith("pending:")
    )
    with connect(w.url) as conn, conn.transaction():
        conn.execute("CREATE TABLE public_reporting.care_statistics (people bigint)")
    code, out, _ = run(w.args("--plan", *args), capsys)
    assert code == 0 and '"public_reporting"."care_statistics"' in out


def test_no_warehouse_url_is_a_mistake_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAGTRAIL_DATASETS_URL", raising=False)
    code, out, err = run(["grants", "--plan"], capsys)
    assert code == 2 and "TAGTRAIL_DATASETS_URL" in err and "Traceback" not in err + out


def test_a_warehouse_that_does_not_answer_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TAGTRAIL_DATASETS_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, out, err = run(["grants", "--plan"], capsys)
    assert code == 1 and "TAGTRAIL_DATASETS_URL" in err and "Traceback" not in err + out


@pytest.mark.parametrize(
    "argv",
    [
        ["grants", "--plan", "--url", "sqlite:///x.db"],
        ["grants", "--plan", "--url", "postgresql+psycopg://h/db", "--role-prefix", "Bad-"],
    ],
    ids=["not-postgresql", "bad-prefix"],
)
def test_a_bad_setting_is_a_mistake(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and err.startswith("tagtrail: ") and "Traceback" not in err + out


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["grants", "--help"])
    assert exit_.value.code == 0 and "--apply" in capsys.readouterr().out


def test_each_change_is_an_openlineage_event_and_a_grant_changed_record(tmp_path: Path) -> None:
    from lineage.events import to_json
    from lineage.grant_audit import grant_events
    from lineage.validation import validate_event
    from pipelines.demo import DEMO_ESTATE
    from pipelines.warehouse.grants import desired_grants
    from pipelines.warehouse.grants_catalog import Catalog
    from pipelines.warehouse.grants_plan import plan_grants

    from ..openlineage_spec import HAVE_SPEC, SPEC_DIR

    estate = load_estate(DEMO_ESTATE)
    tables = {(estate.dataset_owner[n], n): d.column_names for n, d in estate.datasets.items()}
    catalog = Catalog("loader", {}, frozenset(estate.departments), tables, (), ())
    plan = plan_grants(desired_grants(estate, AS_OF, "p_"), catalog)
    at = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    events = [
        to_json(e)
        for e in grant_events(
            plan.changes,
            as_of=AS_OF,
            database="db:5432/warehouse",
            executed_as="loader",
            applied_by="alice",
            at=at,
        )
    ]
    if HAVE_SPEC:
        assert [validate_event(json.loads(e), SPEC_DIR) for e in events] == [[]] * len(events)
    with open_store(f"sqlite:///{tmp_path / 'lineage.db'}") as store:
        assert store.ingest_many(events) == len(plan.changes)
        records = store.audit(kind="grant_changed")
        assert store.datasets() == []  # who may read a dataset is no version of it
    assert [r.details["statement"] for r in records] == [c.sql for c in plan.changes]
    assert {r.launched_by for r in records} == {"alice"}
    assert len({r.dagster_run_id for r in records}) == 1
    [shared] = [r for r in records if r.details.get("role") == "p_research" and r.agreement]
    assert (shared.namespace, shared.dataset, shared.department, shared.agreement) == (
        "tagtrail.public_reporting",
        "care_statistics",
        "public_reporting",
        "DSA-RES-PUB-04",
    )
