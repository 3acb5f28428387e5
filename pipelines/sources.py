"""Reading source datasets where they live: CSV or Parquet files, SQL tables or queries.

A file source is a path under the extracts folder (the run's setting, else the manifest's
``extracts``, else ``$TAGTRAIL_HOME/extracts``). A SQL source is read through SQLAlchemy with the
URL held in the environment variable the manifest names; the URL never appears in a message.
Errors say which source, what was tried and what to set; a :class:`SourceError` is *terminal*
(a mistake to fix: no variable, a bad URL, a missing table) or *transient* (the server did not
answer: try again).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.delivery import read_csv, read_parquet
from pipelines.estate import Estate
from pipelines.manifest import Source, SqlSource
from pipelines.model import _close

CONNECT_TIMEOUT_S = 10
_TRANSIENT_WORDS = (
    "connection refused",
    "timeout",
    "timed out",
    "can't connect",
    "could not connect",
    "connection reset",
    "server closed the connection",
    "lost connection",
    "too many connections",
    "no route to host",
)


class SourceError(Exception):
    """A source that cannot be read, explained: which dataset, what was tried, what to do."""

    def __init__(self, dataset: str, problem: str, *, transient: bool = False) -> None:
        self.dataset = dataset
        self.problem = problem
        self.transient = transient
        super().__init__(f"source '{dataset}': {problem}")


def extracts_dir(estate: Estate, home: Path, configured: str | None = None) -> Path:
    """Where file sources are read from: the setting, the manifest's folder, or the home's."""
    if configured:
        return Path(configured).expanduser().resolve()
    if estate.manifest is not None and estate.manifest.extracts:
        return (estate.root / estate.manifest.extracts).resolve()
    return (home / "extracts").resolve()


def source_path(estate: Estate, name: str, extracts: Path) -> Path:
    """The file a file source is read from."""
    source = estate.sources[name]
    assert source.file is not None, f"source '{name}' is not a file"
    return extracts / source.file


def read_source(
    estate: Estate, name: str, extracts: Path, environ: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The source's rows as delivered, before conversion to the declared types."""
    source = estate.sources[name]
    if source.sql is not None:
        return _read_sql(estate, name, source.sql, environ or os.environ)
    return _read_file(estate, name, source, extracts)


def check_source(
    estate: Estate, name: str, extracts: Path, environ: Mapping[str, str] | None = None
) -> None:
    """Raise :class:`SourceError` if the source cannot be read; reads no rows."""
    source = estate.sources[name]
    if source.sql is None:
        path = source_path(estate, name, extracts)
        if not path.is_file():
            raise SourceError(name, _missing_file(path))
        return
    sql = source.sql
    with _connection(name, sql, environ or os.environ) as conn:
        if sql.table is not None:
            _declared_columns(conn, estate, name, sql)
        else:
            _run(conn, name, f"SELECT * FROM ({sql.statement}) AS q WHERE 1 = 0")


def fingerprint(
    estate: Estate,
    name: str,
    extracts: Path,
    environ: Mapping[str, str] | None = None,
    *,
    rows: pd.DataFrame | None = None,
) -> str:
    """A short hash that changes when the source's content changes.

    Files: the SHA-256 of their bytes. SQL with ``updated_column``: its row count and latest
    update time. Other SQL sources: a hash of every row, taken from ``rows`` (the rows just read
    with :func:`read_source`) when given, else read now.
    """
    source = estate.sources[name]
    if source.sql is None:
        path = source_path(estate, name, extracts)
        if not path.is_file():
            raise SourceError(name, _missing_file(path))
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()[:32]
    sql = source.sql
    if sql.updated_column is not None:
        with _connection(name, sql, environ or os.environ) as conn:
            row = _run(
                conn,
                name,
                f"SELECT COUNT(*), MAX({_quote(conn, sql.updated_column)}) FROM {_from(conn, sql)}",
            ).one()
        return hashlib.sha256(f"{row[0]}|{row[1]}".encode()).hexdigest()[:32]
    frame = rows if rows is not None else _read_sql(estate, name, sql, environ or os.environ)
    hashed = pd.util.hash_pandas_object(frame.astype("string"), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(frame.columns).encode()).hexdigest()[:32]


def _missing_file(path: Path) -> str:
    return (
        f"file {path} not found; deliver the extract there, or set the extracts folder "
        "(TAGTRAIL_EXTRACTS or the manifest's extracts) to where it is"
    )


def _read_file(estate: Estate, name: str, source: Source, extracts: Path) -> pd.DataFrame:
    path = source_path(estate, name, extracts)
    if not path.is_file():
        raise FileNotFoundError(_missing_file(path))
    if source.file_format == "parquet":
        return read_parquet(path)
    return read_csv(path, source.encoding)


def _read_sql(
    estate: Estate, name: str, sql: SqlSource, environ: Mapping[str, str]
) -> pd.DataFrame:
    with _connection(name, sql, environ) as conn:
        if sql.table is not None:
            columns = _declared_columns(conn, estate, name, sql)
            statement = (
                f"SELECT {', '.join(_quote(conn, c) for c in columns)} FROM {_from(conn, sql)}"
            )
        else:
            statement = str(sql.statement)
        result = _run(conn, name, statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)


@contextmanager
def _connection(name: str, sql: SqlSource, environ: Mapping[str, str]) -> Iterator[Any]:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    raw = environ.get(sql.url_env, "").strip()
    if not raw:
        raise SourceError(
            name,
            f"environment variable {sql.url_env} is not set; set it to the SQLAlchemy URL of "
            "the database holding this source, e.g. postgresql+psycopg://user@host:5432/db or "
            "mysql+pymysql://user@host:3306/db",
        )
    try:
        url = sa.make_url(raw)
        engine = sa.create_engine(
            url, poolclass=NullPool, connect_args=_connect_args(url.get_backend_name())
        )
    except sa.exc.NoSuchModuleError:
        raise SourceError(
            name,
            f"${sql.url_env} names a database driver that is not installed; use "
            "postgresql+psycopg://... (pip install 'tagtrail[postgres]') or "
            "mysql+pymysql://... (pip install 'tagtrail[mysql]')",
        ) from None
    except (sa.exc.ArgumentError, ValueError):
        raise SourceError(
            name,
            f"${sql.url_env} does not hold a SQLAlchemy URL (dialect+driver://user@host:port/db)",
        ) from None
    except ImportError as exc:
        raise SourceError(
            name,
            f"the driver ${sql.url_env} asks for is not installed ({exc.name}); use "
            "postgresql+psycopg://... or mysql+pymysql://...",
        ) from None
    try:
        try:
            conn = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise _connect_error(name, sql, url, exc) from None
        try:
            yield conn
        finally:
            conn.close()
    finally:
        engine.dispose()


def _connect_args(backend: str) -> dict[str, Any]:
    if backend in ("postgresql", "mysql", "mariadb"):
        return {"connect_timeout": CONNECT_TIMEOUT_S}
    return {}


def _connect_error(name: str, sql: SqlSource, url: Any, exc: Exception) -> SourceError:
    text = _first_line(exc)
    where = (
        f"the SQLite file {url.database}"
        if url.get_backend_name() == "sqlite"
        else f"{url.get_backend_name()} at {url.host or 'localhost'}:{url.port or 'default port'}"
    )
    transient = any(w in text.lower() for w in _TRANSIENT_WORDS)
    advice = (
        "the server did not answer; check that it is running and reachable, then try again"
        if transient
        else f"check the user, password and database in ${sql.url_env}"
    )
    return SourceError(
        name,
        f"could not connect to {where} (from ${sql.url_env}): {text}; {advice}",
        transient=transient,
    )


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _declared_columns(conn: Any, estate: Estate, name: str, sql: SqlSource) -> list[str]:
    """The dataset's declared columns, after checking the table has every one of them."""
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    where = f"schema '{sql.schema_name}'" if sql.schema_name else "the connection's default schema"
    if not inspector.has_table(str(sql.table), schema=sql.schema_name):
        tables = inspector.get_table_names(schema=sql.schema_name)
        raise SourceError(
            name,
            f"table '{sql.table}' not found in {where} of ${sql.url_env}"
            f"{_close(str(sql.table), tables)}; tables there: {', '.join(sorted(tables)) or 'none'}",
        )
    present = [c["name"] for c in inspector.get_columns(str(sql.table), schema=sql.schema_name)]
    declared = list(estate.datasets[name].column_names)
    missing = [c for c in declared if c not in present]
    if missing:
        raise SourceError(
            name,
            f"table '{sql.table}' has no column {', '.join(missing)}; its columns: "
            f"{', '.join(present)}",
        )
    return declared


def _from(conn: Any, sql: SqlSource) -> str:
    if sql.table is None:
        return f"({sql.statement}) AS q"
    table = _quote(conn, sql.table)
    return f"{_quote(conn, sql.schema_name)}.{table}" if sql.schema_name else table


def _quote(conn: Any, identifier: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(identifier))


def _run(conn: Any, name: str, statement: str) -> Any:
    import sqlalchemy as sa

    if conn.dialect.paramstyle in ("format", "pyformat"):
        statement = statement.replace("%", "%%")  # the driver formats even without parameters
    try:  # sent as written: a query's colons and percent signs are not parameters
        return conn.exec_driver_sql(statement)
    except sa.exc.DataError:
        raise SourceError(
            name,
            "the database could not return a value of this source (a data error); its message "
            "is withheld because it may quote the data",
        ) from None
    except sa.exc.DBAPIError as exc:
        text = _first_line(exc)
        transient = any(w in text.lower() for w in _TRANSIENT_WORDS)
        raise SourceError(name, f"the query failed: {text}", transient=transient) from None
