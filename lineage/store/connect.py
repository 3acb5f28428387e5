"""Database URLs and engines: SQLite (WAL, foreign keys) by default, PostgreSQL at team scale."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from lineage.store import jsontext
from lineage.store.errors import URL_VARIABLE, StoreError
from lineage.store.schema import SCHEMA_INFO, SCHEMA_PARAMETER, SCHEMA_VARIABLE, quote, resolve

SUPPORTED = ("sqlite", "postgresql")
SQLITE_BUSY_SECONDS = 30
PG_CONNECT_TIMEOUT_SECONDS = 10
EXAMPLES = "sqlite:////path/to/lineage.db or postgresql+psycopg://user@host:5432/db"

_TRANSIENT_SQLSTATE = ("08", "40", "53", "57P", "55P03")
_TRANSIENT_TEXT = (
    "connection refused",
    "could not connect",
    "timeout",
    "timed out",
    "server closed the connection",
    "connection reset",
    "connection is closed",
    "no route to host",
    "network is unreachable",
    "database system is starting up",
    "database system is shutting down",
    "too many clients",
    "database is locked",
)


def default_url(home: Path) -> str:
    """The store inside a tagtrail home: ``sqlite:///<home>/lineage.db`` (absolute path)."""
    return f"sqlite:///{(Path(home).resolve() / 'lineage.db').as_posix()}"


def configured_url(home: Path, environ: Mapping[str, str] | None = None) -> str:
    """``TAGTRAIL_LINEAGE_URL`` when set, else :func:`default_url` of ``home``.

    With ``TAGTRAIL_LINEAGE_SCHEMA`` also set, a PostgreSQL URL carries it as its
    ``tagtrail_schema`` parameter (see :mod:`lineage.store.schema`); SQLite has no schemas.
    """
    env = os.environ if environ is None else environ
    url = env.get(URL_VARIABLE) or default_url(home)
    schema = env.get(SCHEMA_VARIABLE)
    if not schema:
        return url
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # create_store_engine reports the bad URL
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.update_query_dict({SCHEMA_PARAMETER: schema}).render_as_string(
        hide_password=False
    )


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to print or log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def create_store_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for ``url``; raises a terminal :class:`StoreError` for a URL it cannot use.

    On PostgreSQL every connection works in the store's schema (``schema``, else the one the URL
    names, else ``tagtrail``: see :mod:`lineage.store.schema`) and nowhere else; on SQLite
    ``schema`` is ignored.
    """
    masked = mask_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise _terminal(masked, f"not a database URL ({exc})") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise _terminal(masked, f"unsupported database {backend!r} (use SQLite or PostgreSQL)")
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed)
        target, name = resolve(parsed, schema)
        return _postgres_engine(target, name)
    except NoSuchModuleError as exc:
        hint = " (install psycopg[binary])" if backend == "postgresql" else ""
        raise _terminal(masked, f"unknown database driver {parsed.drivername!r}{hint}") from exc
    except (ArgumentError, ImportError) as exc:
        raise _terminal(masked, f"cannot use this URL ({exc})") from exc
    except OSError as exc:
        raise _terminal(masked, f"cannot create its directory ({exc})") from exc


_JSON: dict[str, Any] = {"json_serializer": jsontext.dumps, "json_deserializer": jsontext.loads}


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # owner-only, like the datasets it describes (SQLite gives its -wal and -shm the same)
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **_JSON)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        finally:
            cursor.close()

    return engine


def _postgres_engine(url: URL, schema: str) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_SECONDS
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True, **_JSON)

    # A session-level SET, not a startup option: ``SET LOCAL search_path TO DEFAULT`` then still
    # finds where the URL alone points, which is where an earlier tagtrail put its store.
    @event.listens_for(engine, "connect", insert=True)
    def _search_path(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[SCHEMA_INFO] = schema
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET search_path TO {quote(schema)}")
        finally:
            dbapi_connection.autocommit = autocommit

    return engine


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is worth retrying (the server is down, busy or deadlocked)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate.startswith(_TRANSIENT_SQLSTATE)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    text = str(orig).lower()
    return any(phrase in text for phrase in _TRANSIENT_TEXT)


def wrap_error(exc: BaseException, url: str, action: str) -> StoreError:
    """A :class:`StoreError` saying what was tried, why it failed and what to set."""
    masked = mask_url(url)
    transient = is_transient(exc)
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    reason = _first_line(str(orig), url)
    if transient:
        advice = (
            "the database did not answer; check it is running and retry, "
            f"or set {URL_VARIABLE} to another database"
        )
    else:
        advice = f"set {URL_VARIABLE} to a database you can use (e.g. {EXAMPLES})"
    return StoreError(
        f"cannot {action} the lineage store at {masked}: {reason}; {advice}",
        url=masked,
        transient=transient,
    )


def _terminal(masked: str, reason: str) -> StoreError:
    return StoreError(
        f"cannot open the lineage store at {masked}: {reason}; "
        f"set {URL_VARIABLE} to a valid URL (e.g. {EXAMPLES})",
        url=masked,
        transient=False,
    )


def _first_line(text: str, url: str) -> str:
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text = text.replace(str(password), "***")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"
