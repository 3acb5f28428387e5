"""A warehouse on the test server (``TAGTRAIL_TEST_PG_URL``), with throwaway departments.

Every department (schema) and role a test makes has a random name and is dropped afterwards,
so tests sharing the server never see each other's tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from psycopg import sql

from pipelines.warehouse import Warehouse

PG_ENV = "TAGTRAIL_TEST_PG_URL"
PG_SKIP = (
    f"set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test to run the PostgreSQL "
    "dataset warehouse tests (.ci/run sets it)"
)


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)
    made = Warehouse(url)
    yield made
    made.dispose()


@pytest.fixture
def department(warehouse: Warehouse) -> Iterator[Callable[[], str]]:
    """Makes random department names; their schemas are dropped afterwards."""
    names: list[str] = []

    def make() -> str:
        names.append(f"tt_wh_{secrets.token_hex(5)}")
        return names[-1]

    yield make
    with warehouse.connection() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def role(warehouse: Warehouse) -> Iterator[Callable[[], str]]:
    """Makes throwaway roles (NOLOGIN); dropped, with their privileges, afterwards."""
    names: list[str] = []

    def make() -> str:
        names.append(f"tt_wh_role_{secrets.token_hex(5)}")
        with warehouse.connection() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(names[-1])))
        return names[-1]

    yield make
    with warehouse.connection() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
