"""Shared fixtures: a writable copy of the demo estate, and golden-file comparison."""

from __future__ import annotations

import difflib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lineage.store import default_url
from pipelines.demo import DEMO_ESTATE
from pipelines.manifest import copy_estate


@pytest.fixture
def estate_copy(tmp_path: Path) -> Path:
    """The demo estate's declarations copied to a temporary folder, to break on purpose."""
    return copy_estate(DEMO_ESTATE, tmp_path / "estate")


GoldenCheck = Callable[[Path, Any], None]


@pytest.fixture
def golden_file() -> GoldenCheck:
    """Compare JSON-safe data with a golden file, or rewrite it when TAGTRAIL_UPDATE_GOLDEN=1."""

    def check(path: Path, actual: Any) -> None:
        text = json.dumps(actual, indent=2, allow_nan=False) + "\n"
        if os.environ.get("TAGTRAIL_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"missing golden file {path}; run with TAGTRAIL_UPDATE_GOLDEN=1")
        expected = json.loads(path.read_text(encoding="utf-8"))
        if actual != expected:
            diff = difflib.unified_diff(
                json.dumps(expected, indent=2).splitlines(),
                text.splitlines(),
                fromfile=str(path.name),
                tofile="actual",
                lineterm="",
            )
            pytest.fail("result differs from golden file:\n" + "\n".join(diff))

    return check


SQL_BACKENDS = {
    "sqlite": (None, ""),
    "postgresql": (
        "TAGTRAIL_TEST_PG_URL",
        "set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run the "
        "PostgreSQL tests (.ci/run sets it)",
    ),
    "mariadb": (
        "TAGTRAIL_TEST_MARIADB_URL",
        "set TAGTRAIL_TEST_MARIADB_URL=mysql+pymysql://root@127.0.0.1:3306/test to run the "
        "MariaDB tests (.ci/run sets it)",
    ),
}


@dataclass(frozen=True)
class SqlDatabase:
    """A scratch database for source tests: its URL and the schema to put tables in."""

    backend: str
    url: str
    schema: str | None

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url)

    def load(self, table: str, frame: Any) -> None:
        """Create ``table`` in the scratch schema from a pandas frame."""
        with self.engine().begin() as conn:
            frame.to_sql(table, conn, schema=self.schema, index=False, if_exists="replace")


@pytest.fixture(params=list(SQL_BACKENDS))
def sql_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDatabase]:
    """A scratch SQL database on SQLite, and on PostgreSQL and MariaDB where configured.

    PostgreSQL gets a fresh schema, MariaDB a fresh database (its schemas), both dropped after.
    """
    backend = request.param
    env, how = SQL_BACKENDS[backend]
    if env is None:
        yield SqlDatabase(backend, f"sqlite:///{tmp_path / 'source.db'}", None)
        return
    base = os.environ.get(env)
    if not base:
        pytest.skip(how)
    schema = f"tt_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield SqlDatabase(backend, base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(
                sa.text(f"DROP SCHEMA {schema}" + (" CASCADE" if backend == "postgresql" else ""))
            )
        admin.dispose()


PG_ENV = "TAGTRAIL_TEST_PG_URL"
PG_SKIP = (
    "set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test "
    "to run the PostgreSQL store tests"
)


BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def backend_url(backend: str, directory: Path) -> Iterator[str]:
    """A URL to an empty store: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield default_url(directory)
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    schema = f"tt_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
