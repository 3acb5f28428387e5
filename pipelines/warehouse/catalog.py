"""What the PostgreSQL catalog says about a warehouse table: its oid, columns, tagtrail's note
on it, and the advisory lock its writer holds."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg
from psycopg import sql

Conn = psycopg.Connection[tuple[Any, ...]]
Cur = psycopg.Cursor[tuple[Any, ...]]


def qualified(schema: str, table: str) -> sql.Composed:
    """``"schema"."table"``, quoted."""
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def lock_key(schema: str, table: str) -> int:
    """The advisory lock a writer holds while its staging table may still be swapped in."""
    digest = hashlib.sha256(f"tagtrail.staged:{schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def try_lock(conn: Conn, key: int) -> bool:
    """Take the session advisory lock ``key`` if nobody holds it; whether it was taken."""
    return conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)


def locked(conn: Conn, key: int) -> bool:
    """Whether another session holds the advisory lock ``key``."""
    if try_lock(conn, key):
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return False
    return True


def one(cur: Cur) -> int:
    """The single integer a query returned."""
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def oid(cur: Cur, schema: str, table: str) -> int | None:
    """The table's oid, or None if there is no such table."""
    cur.execute(
        "SELECT c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    )
    row = cur.fetchone()
    return int(row[0]) if row else None


def note(cur: Cur, schema: str, table: str) -> dict[str, Any] | None:
    """The JSON tagtrail put in the table's comment ({} if none; None if no table)."""
    found = oid(cur, schema, table)
    if found is None:
        return None
    cur.execute("SELECT obj_description(%s::oid, 'pg_class')", (found,))
    row = cur.fetchone()
    try:
        meta = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


def set_note(cur: Cur, schema: str, table: str, meta: dict[str, Any]) -> None:
    """Put ``meta`` in the table's comment."""
    cur.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            qualified(schema, table), sql.Literal(json.dumps(meta))
        )
    )


def columns(cur: Cur, schema: str, table: str) -> dict[str, str]:
    """The table's columns and their PostgreSQL types, in order."""
    cur.execute(
        "SELECT a.attname::text, format_type(a.atttypid, NULL) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (schema, table),
    )
    return {str(n): str(t) for n, t in cur.fetchall()}
