"""A fresh PostgreSQL database per test, on the server ``TAGTRAIL_TEST_PG_URL`` names."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

PG_ENV = "TAGTRAIL_TEST_PG_URL"


@pytest.fixture
def team_database() -> Iterator[str]:
    """A new, empty database (its URL without a driver), dropped afterwards."""
    import psycopg

    if not os.environ.get(PG_ENV):
        pytest.skip(
            f"needs PostgreSQL: set {PG_ENV} (e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test), as .ci/run does"
        )
    server = make_url(os.environ[PG_ENV])
    name = f"tagtrail_team_{secrets.token_hex(4)}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
