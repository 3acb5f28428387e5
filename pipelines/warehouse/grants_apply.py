"""Read a warehouse's privileges and plan, or apply, the grants the declarations want.

:func:`apply_grants` runs in one transaction: it takes an advisory lock (two applies take turns),
reads the catalogs, plans, runs every statement, hands the changes to ``record`` (the audit
trail) and commits. If a statement or the record fails, the transaction rolls back and nothing
changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import psycopg

from pipelines.estate import Estate
from pipelines.warehouse.grants import ROLE_PREFIX, GrantsError, desired_grants
from pipelines.warehouse.grants_catalog import read_catalog
from pipelines.warehouse.grants_plan import Plan, plan_grants

CONNECT_TIMEOUT_S: Final = 10
_LOCK: Final = "tagtrail grants"
_TRANSIENT: Final = (
    "connection refused",
    "timeout",
    "timed out",
    "could not connect",
    "connection reset",
    "server closed",
    "no route to host",
    "could not translate host name",
    "name or service not known",
    "temporary failure",
)

Recorder = Callable[[Plan, str], None]
"""Called with the plan just run and the database role that ran it, before the commit."""


class WarehouseError(Exception):
    """The warehouse could not be reached or refused a statement; ``transient``: try again."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class WarehouseUrlError(GrantsError):
    """The warehouse URL is not a PostgreSQL SQLAlchemy URL."""


def _parse(url: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise WarehouseUrlError(
            "the warehouse URL is not a SQLAlchemy URL such as "
            "postgresql+psycopg://user@host:5432/database"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise WarehouseUrlError(
            f"the warehouse must be PostgreSQL (postgresql+psycopg://...), not "
            f"{parsed.get_backend_name()}"
        )
    return parsed


def server_of(url: str) -> str:
    """``host:port/database`` of a warehouse URL, never its credentials."""
    parsed = _parse(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def connect(url: str) -> psycopg.Connection[Any]:
    """A psycopg connection to the warehouse at ``url`` (a SQLAlchemy PostgreSQL URL).

    Raises :class:`WarehouseUrlError` for a URL that is not PostgreSQL's and :class:`WarehouseError`
    when the server cannot be reached or refuses the login.
    """
    parsed = _parse(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        transient = any(w in text.lower() for w in _TRANSIENT)
        advice = (
            "check that the server is running and reachable, then try again"
            if transient
            else "check the user, password and database in the URL"
        )
        raise WarehouseError(
            f"could not connect to PostgreSQL at {server_of(url)}: {text}; {advice}",
            transient=transient,
        ) from None


def plan_database(
    conn: psycopg.Connection[Any],
    estate: Estate,
    as_of: dt.date,
    role_prefix: str = ROLE_PREFIX,
) -> Plan:
    """What :func:`apply_grants` would change now; reads the catalogs only."""
    desired = desired_grants(estate, as_of, role_prefix)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            catalog = read_catalog(cur, desired.schemas, role_prefix)
    except psycopg.Error as exc:
        raise _failed("read the catalogs", exc) from None
    return plan_grants(desired, catalog)


def apply_grants(
    conn: psycopg.Connection[Any],
    estate: Estate,
    as_of: dt.date,
    role_prefix: str = ROLE_PREFIX,
    record: Recorder | None = None,
) -> Plan:
    """Make the database grant what the declarations want on ``as_of``, all or nothing.

    Returns the plan that was run (empty when nothing needed changing). ``record`` is called
    with it inside the transaction, so a failure to record rolls the changes back.
    """
    desired = desired_grants(estate, as_of, role_prefix)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK,))
            catalog = read_catalog(cur, desired.schemas, role_prefix)
            plan = plan_grants(desired, catalog)
            for change in plan.changes:
                cur.execute(change.statement)
            if record is not None and plan.changes:
                record(plan, catalog.user)
    except psycopg.Error as exc:
        raise _failed("change the privileges", exc) from None
    return plan


def _failed(action: str, exc: psycopg.Error) -> WarehouseError:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    transient = isinstance(exc, psycopg.OperationalError) and any(
        w in text.lower() for w in _TRANSIENT
    )
    return WarehouseError(f"could not {action} (nothing was changed): {text}", transient=transient)
