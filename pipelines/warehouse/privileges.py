"""A table's privileges, read from the catalog and given again to the table that replaces it.

Another component manages which roles may read each department's tables (table-level and
column-level grants); a new version of a dataset must keep exactly what the old one had. Its
owner's own privileges are implicit and not copied; grants the new table received from default
privileges are revoked first, so that it ends with the old table's ACL and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Cursor, sql

_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
)

_GRANTS = """
SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE a.grantee::regrole::text END,
       a.privilege_type, a.is_grantable, NULL::text
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = %(oid)s AND a.grantee <> c.relowner
UNION ALL
SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE a.grantee::regrole::text END,
       a.privilege_type, a.is_grantable, t.attname::text
FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a
WHERE c.oid = %(oid)s AND t.attnum > 0 AND NOT t.attisdropped AND a.grantee <> c.relowner
"""


@dataclass(frozen=True)
class Grant:
    """One privilege a role (None: PUBLIC) holds on a table, or on one column of it."""

    grantee: str | None
    privilege: str
    grantable: bool
    column: str | None = None


@dataclass(frozen=True)
class Privileges:
    """A table's owner and every grant to another role."""

    owner: str
    grants: tuple[Grant, ...]


def privileges_of(cur: Cursor[tuple[object, ...]], oid: int) -> Privileges:
    """What the table ``oid`` grants, as the catalog holds it."""
    cur.execute("SELECT relowner::regrole::text FROM pg_class WHERE oid = %s", (oid,))
    row = cur.fetchone()
    assert row is not None
    cur.execute(_GRANTS, {"oid": oid})
    grants = tuple(
        Grant(str(g) if g is not None else None, str(p), bool(o), str(c) if c else None)
        for g, p, o, c in cur.fetchall()
    )
    return Privileges(str(row[0]), grants)


def _role(grantee: str | None) -> sql.Composable:
    # regrole's text is already quoted where it needs to be
    return sql.SQL("PUBLIC") if grantee is None else sql.SQL(grantee)


def _statement(verb: str, grant: Grant, table: sql.Composable) -> sql.Composed:
    if grant.privilege not in _PRIVILEGES:
        raise ValueError(f"unknown table privilege {grant.privilege!r}")
    columns = sql.SQL(" ({})").format(sql.Identifier(grant.column)) if grant.column else sql.SQL("")
    if verb == "REVOKE":
        return sql.SQL("REVOKE {p}{c} ON {t} FROM {r} CASCADE").format(
            p=sql.SQL(grant.privilege), c=columns, t=table, r=_role(grant.grantee)
        )
    option = sql.SQL(" WITH GRANT OPTION") if grant.grantable else sql.SQL("")
    return sql.SQL("GRANT {p}{c} ON {t} TO {r}{o}").format(
        p=sql.SQL(grant.privilege), c=columns, t=table, r=_role(grant.grantee), o=option
    )


def restore(
    cur: Cursor[tuple[object, ...]], oid: int, table: sql.Composable, wanted: Privileges
) -> list[Grant]:
    """Give the table ``oid`` exactly ``wanted``; the column grants its columns cannot take."""
    current = privileges_of(cur, oid)
    if current.owner != wanted.owner:
        cur.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(table, sql.SQL(wanted.owner)))
        current = privileges_of(cur, oid)
    for grant in current.grants:
        cur.execute(_statement("REVOKE", grant, table))
    cur.execute(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
        "AND NOT attisdropped",
        (oid,),
    )
    columns = {str(r[0]) for r in cur.fetchall()}
    lost = [g for g in wanted.grants if g.column is not None and g.column not in columns]
    for grant in wanted.grants:
        if grant not in lost:
            cur.execute(_statement("GRANT", grant, table))
    return lost


def revoke_all(cur: Cursor[tuple[object, ...]], oid: int, table: sql.Composable) -> None:
    """Take every grant to another role off the table ``oid`` (a tombstone is nobody's)."""
    for grant in privileges_of(cur, oid).grants:
        cur.execute(_statement("REVOKE", grant, table))
