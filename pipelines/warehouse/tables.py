"""Published datasets as PostgreSQL tables: one schema a department, one table a dataset.

A version is written to a hidden staging table beside the dataset (see
:mod:`pipelines.warehouse.names`), loaded with COPY, its row count checked, and then swapped in:
in one transaction the old table is dropped, the staging table renamed to the dataset's name and
given the old table's privileges, so a reader sees the old version or the new one, whole. A
publication takes two steps, :meth:`Warehouse.stage` then :meth:`Staged.swap`, so that its record
can be made in between. The writer holds a session advisory lock named after its staging table
for as long as it may swap it, so a staging table whose lock is free was left by a writer that
is gone (on any host): :func:`pipelines.warehouse.hidden.stale_staging` finds those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from pipelines.warehouse import catalog, codec, privileges
from pipelines.warehouse.catalog import Conn, qualified
from pipelines.warehouse.names import TableRef, check_name, server_of, staging_name


class DatasetMissing(LookupError):
    """The dataset has never been published (or was disposed of)."""


class StageError(RuntimeError):
    """A staged version did not load whole (its row count is not the frame's)."""


@dataclass
class Staged:
    """A version loaded beside its dataset, not yet visible; :meth:`swap` publishes it."""

    warehouse: Warehouse
    schema: str
    dataset: str
    table: str
    sha256: str
    rows: int
    _conn: Conn | None = field(repr=False)
    swapped: bool = False

    @property
    def ref(self) -> TableRef:
        """Where the staged version lives, for the publication record."""
        return TableRef(self.warehouse.server, self.schema, self.table)

    def swap(self) -> list[privileges.Grant]:
        """Make this version the published one, atomically; column grants it could not keep."""
        assert self._conn is not None, "already closed"
        lost = self.warehouse._swap(self._conn, self.schema, self.table, self.dataset)
        self.swapped = True
        return lost

    def whole(self) -> bool:
        """Whether the staging table still holds the rows it was staged with."""
        assert self._conn is not None, "already closed"
        with self._conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT count(*) FROM {}").format(qualified(self.schema, self.table))
            )
            return catalog.one(cur) == self.rows

    def close(self) -> None:
        """Drop the staging table unless it was swapped in, and let go of its lock."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self.swapped and not conn.closed:
                conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(qualified(self.schema, self.table))
                )
        except psycopg.Error:
            pass  # the server is gone: once the session ends, the table is stale and cleaned up
        finally:
            conn.close()  # ends the session, and with it the advisory lock

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Warehouse:
    """The datasets of one PostgreSQL database (a SQLAlchemy URL, ``postgresql+psycopg://``)."""

    def __init__(self, url: str | URL) -> None:
        parsed = make_url(url) if isinstance(url, str) else url
        if parsed.get_backend_name() != "postgresql":
            raise ValueError(
                f"the dataset warehouse needs a PostgreSQL URL (postgresql+psycopg://...), "
                f"not {parsed.get_backend_name()}"
            )
        self.url = parsed.set(drivername="postgresql+psycopg")
        self.server = server_of(self.url)
        self._engine = create_engine(self.url, poolclass=NullPool)

    def __repr__(self) -> str:
        return f"Warehouse({self.url.render_as_string(hide_password=True)})"

    def dispose(self) -> None:
        """Close the engine."""
        self._engine.dispose()

    def _connect(self) -> Conn:
        raw = self._engine.raw_connection()
        conn: Conn = raw.driver_connection  # type: ignore[assignment]
        raw.detach()  # the session is ours to close (it may hold an advisory lock)
        conn.autocommit = True
        conn.execute("SET DateStyle = 'ISO, YMD'")
        return conn

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A connection in autocommit mode (wrap statements in ``conn.transaction()``)."""
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    def ref(self, department: str, dataset: str) -> TableRef:
        """The identity of a dataset's table on this server."""
        return TableRef(
            self.server, check_name("department", department), check_name("dataset", dataset)
        )

    # -- writing -------------------------------------------------------------------------------

    def stage(self, department: str, dataset: str, frame: pd.DataFrame) -> Staged:
        """Load ``frame`` into a new hidden table beside ``department.dataset``."""
        schema, name = check_name("department", department), check_name("dataset", dataset)
        columns = codec.columns_of(frame)
        table = staging_name(name)
        conn = self._connect()
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (catalog.lock_key(schema, table),))
            self._ensure_schema(conn, schema)
            digest = hashlib.sha256(codec.header(columns))
            with conn.transaction(), conn.cursor() as cur:
                target = qualified(schema, table)
                cur.execute(
                    sql.SQL("CREATE TABLE {} ({})").format(
                        target,
                        sql.SQL(", ").join(
                            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type))
                            for c in columns
                        ),
                    )
                )
                names = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
                load = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)")
                with cur.copy(load.format(target, names)) as copy:
                    for chunk in codec.copy_chunks(frame, columns):
                        digest.update(chunk)
                        copy.write(chunk)
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
                loaded = catalog.one(cur)
                if loaded != len(frame):
                    raise StageError(
                        f"{schema}.{name}: {loaded} rows were loaded of {len(frame)}; nothing "
                        "was published"
                    )
                comment = {
                    "tagtrail": 1,
                    "dataset": name,
                    "sha256": digest.hexdigest(),
                    "rows": len(frame),
                    "dtypes": {c.name: c.dtype for c in columns},
                }
                catalog.set_note(cur, schema, table, comment)
        except BaseException:
            conn.close()
            raise
        return Staged(self, schema, name, table, digest.hexdigest(), len(frame), conn)

    def adopt(self, schema: str, table: str, dataset: str) -> Staged | None:
        """Take over the staging table a writer that is gone left (None if it is still held,
        or not there); closing it without swapping drops it."""
        conn = self._connect()
        try:
            got = catalog.try_lock(conn, catalog.lock_key(schema, table))
            meta = catalog.note(conn.cursor(), schema, table) if got else None
        except BaseException:
            conn.close()
            raise
        if meta is None:
            conn.close()
            return None
        sha256, rows = str(meta.get("sha256", "")), int(meta.get("rows", -1))
        return Staged(self, schema, check_name("dataset", dataset), table, sha256, rows, conn)

    def write(self, department: str, dataset: str, frame: pd.DataFrame) -> None:
        """Replace the published dataset with ``frame`` atomically."""
        with self.stage(department, dataset, frame) as staged:
            staged.swap()

    def _ensure_schema(self, conn: Conn, schema: str) -> None:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists is None:
            with suppress(psycopg.errors.UniqueViolation):  # a concurrent writer made it
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )

    def _swap(self, conn: Conn, schema: str, staging: str, dataset: str) -> list[privileges.Grant]:
        target = qualified(schema, dataset)
        lost: list[privileges.Grant] = []
        with conn.transaction(), conn.cursor() as cur:
            kept = None
            if catalog.oid(cur, schema, dataset) is not None:
                cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(target))
                old = catalog.oid(cur, schema, dataset)  # the table now locked
                assert old is not None
                kept = privileges.privileges_of(cur, old)
                cur.execute(sql.SQL("DROP TABLE {}").format(target))
            cur.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    qualified(schema, staging), sql.Identifier(dataset)
                )
            )
            if kept is not None:
                new = catalog.oid(cur, schema, dataset)
                assert new is not None
                lost = privileges.restore(cur, new, target, kept)
        return lost

    # -- reading -------------------------------------------------------------------------------

    def exists(self, department: str, dataset: str) -> bool:
        """Whether the dataset is published."""
        ref = self.ref(department, dataset)
        with self.connection() as conn, conn.cursor() as cur:
            return catalog.oid(cur, ref.schema, ref.table) is not None

    def rows(self, department: str, dataset: str) -> int | None:
        """The published version's row count (None if never published)."""
        ref = self.ref(department, dataset)
        with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if catalog.oid(cur, ref.schema, ref.table) is None:
                return None
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(qualified(ref.schema, ref.table)))
            return catalog.one(cur)

    def version(self, department: str, dataset: str) -> str:
        """The published version's content identity (its SHA-256)."""
        ref = self.ref(department, dataset)
        with self.connection() as conn, conn.cursor() as cur:
            meta = catalog.note(cur, ref.schema, ref.table)
        if meta is None:
            raise DatasetMissing(f"dataset not published yet: {ref} (materialize it first)")
        return str(meta.get("sha256", ""))

    def read(
        self, department: str, dataset: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The published dataset (or some of its columns) as the frame that was written."""
        ref = self.ref(department, dataset)
        return self.read_table(ref.schema, ref.table, columns)

    def read_table(
        self, schema: str, table: str, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Any table of the warehouse (a dataset, staged version or tombstone) as a frame."""
        with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
            target = qualified(schema, table)
            if catalog.oid(cur, schema, table) is None:
                raise DatasetMissing(
                    f"dataset not published yet: {TableRef(self.server, schema, table)} "
                    "(materialize it first)"
                )
            cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(target))
            stored = catalog.columns(cur, schema, table)
            wanted = list(columns) if columns is not None else list(stored)
            unknown = [c for c in wanted if c not in stored]
            if unknown:
                raise KeyError(f"{schema}.{table} has no column(s) {unknown}")
            dtypes = (catalog.note(cur, schema, table) or {}).get("dtypes", {})
            selected = sql.SQL(", ").join(
                sql.SQL("({} AT TIME ZONE 'UTC')").format(sql.Identifier(c))
                if stored[c] == "timestamp with time zone"
                else sql.Identifier(c)
                for c in wanted
            )
            query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv)")
            with cur.copy(query.format(selected, target)) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
        types = [codec.read_type(stored[c]) for c in wanted]
        table_ = codec.parse_csv(data, wanted, types)
        return pd.DataFrame(
            {
                c: codec.column_from(table_.column(i), dtypes.get(c), stored[c])
                for i, c in enumerate(wanted)
            },
            columns=wanted,
        )

    # -- removing ------------------------------------------------------------------------------

    def drop(self, department: str, dataset: str) -> bool:
        """Drop the published dataset; whether there was one."""
        ref = self.ref(department, dataset)
        with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if catalog.oid(cur, ref.schema, ref.table) is None:
                return False
            cur.execute(sql.SQL("DROP TABLE {}").format(qualified(ref.schema, ref.table)))
            return True

    def drop_table(self, schema: str, table: str) -> None:
        """Drop a hidden table (a staged version or a tombstone) if it is there."""
        with self.connection() as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(qualified(schema, table)))

    def comment(self, schema: str, table: str) -> dict[str, Any] | None:
        """What tagtrail noted on a table when it staged it (None if none, or no table)."""
        with self.connection() as conn, conn.cursor() as cur:
            return catalog.note(cur, schema, table)
