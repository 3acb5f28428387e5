"""``tagtrail demo --team``: the demo on a team deployment built from this machine's services.

Variables already set are kept; the rest default to PostgreSQL on 127.0.0.1:5432 (database
``tagtrail_demo``, created if missing, holding Dagster's instance and the lineage store side by
side) and RabbitMQ on 127.0.0.1:5672 (the broker's own default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from sqlalchemy.engine import make_url

from dagster_project.cli_errors import UsageError
from dagster_project.deployment import DAGSTER_URL_ENV, EXECUTOR_ENV
from dagster_project.warehouse_io import DATASETS_URL_ENV
from lineage.store.errors import URL_VARIABLE

LOCAL_DATABASE: Final = "postgresql://postgres@127.0.0.1:5432/tagtrail_demo"


def team_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a team demo runs with (what ``environ`` sets wins)."""
    env = os.environ if environ is None else environ
    database = env.get(DAGSTER_URL_ENV) or LOCAL_DATABASE
    url = make_url(database)
    psycopg = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return {
        EXECUTOR_ENV: "celery",
        DAGSTER_URL_ENV: database,
        URL_VARIABLE: env.get(URL_VARIABLE) or psycopg,
        DATASETS_URL_ENV: env.get(DATASETS_URL_ENV) or psycopg,
    }


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names if it does not exist yet."""
    import psycopg

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    try:
        with psycopg.connect(
            admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=10
        ) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
            ).fetchone()
            if found is None:
                conn.execute(f'CREATE DATABASE "{target.database}"')
    except psycopg.Error as exc:
        raise UsageError(
            f"cannot prepare the team demo's database {target.render_as_string()} ({exc}); "
            f"start PostgreSQL or set {DAGSTER_URL_ENV} to a database you can use"
        ) from None
