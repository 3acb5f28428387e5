"""What a PostgreSQL database grants today, read from its catalogs, for the grants plan.

Only what the plan manages is read: roles named with the tagtrail prefix, the department schemas,
their tables and columns, and the privileges PUBLIC or a prefixed role holds on them (explicit ACL
entries from ``aclexplode``; an owner's implicit privileges are not grants and are left out).
Tables whose name starts with a dot are the warehouse's hidden staging and tombstone tables
(:mod:`pipelines.warehouse.names`): the writer manages their privileges, so they are not read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor

PUBLIC = None
"""The grantee PUBLIC, as the catalog's grantee 0 is read."""

Grantee = str | None

_ROLES = """
SELECT r.rolname::text, r.rolcanlogin, shobj_description(r.oid, 'pg_authid')
FROM pg_roles r WHERE starts_with(r.rolname::text, %(prefix)s)
"""
_SCHEMAS = """
SELECT n.nspname::text, g.rolname::text, a.privilege_type, a.is_grantable
FROM pg_namespace n
LEFT JOIN LATERAL aclexplode(n.nspacl) a ON a.grantee <> n.nspowner
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE n.nspname = ANY(%(schemas)s)
"""
_TABLES = """
SELECT n.nspname::text, c.relname::text, t.attname::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute t ON t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT starts_with(c.relname::text, '.')
ORDER BY n.nspname, c.relname, t.attnum
"""
_TABLE_ACL = """
SELECT n.nspname::text, c.relname::text, NULL::text, g.rolname::text, a.privilege_type,
       a.is_grantable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT starts_with(c.relname::text, '.') AND a.grantee <> c.relowner
UNION ALL
SELECT n.nspname::text, c.relname::text, t.attname::text, g.rolname::text, a.privilege_type,
       a.is_grantable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute t ON t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped
CROSS JOIN LATERAL aclexplode(t.attacl) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT starts_with(c.relname::text, '.') AND a.grantee <> c.relowner
"""
_DEFAULT_ACL = """
SELECT o.rolname::text, n.nspname::text, g.rolname::text, a.privilege_type
FROM pg_default_acl d
JOIN pg_namespace n ON n.oid = d.defaclnamespace
JOIN pg_roles o ON o.oid = d.defaclrole
CROSS JOIN LATERAL aclexplode(d.defaclacl) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE d.defaclobjtype = 'r' AND n.nspname = ANY(%(schemas)s) AND a.grantee <> d.defaclrole
"""


@dataclass(frozen=True)
class RoleState:
    """A prefixed role as it exists: whether it can log in, and its comment."""

    login: bool
    comment: str | None


@dataclass(frozen=True)
class Privilege:
    """One privilege a grantee (None: PUBLIC) holds on a schema, table or column."""

    grantee: Grantee
    schema: str
    table: str | None
    column: str | None
    privilege: str
    grantable: bool = False


@dataclass(frozen=True)
class DefaultPrivilege:
    """A default privilege: tables ``creator`` makes in ``schema`` are granted to ``grantee``."""

    creator: str
    schema: str
    grantee: Grantee
    privilege: str


@dataclass(frozen=True)
class Catalog:
    """The database's state, as far as the grants plan is concerned."""

    user: str
    roles: Mapping[str, RoleState]
    schemas: frozenset[str]
    tables: Mapping[tuple[str, str], tuple[str, ...]]
    privileges: tuple[Privilege, ...]
    defaults: tuple[DefaultPrivilege, ...]


def read_catalog(cur: Cursor[Any], schemas: Sequence[str], role_prefix: str) -> Catalog:
    """Read the roles, department schemas, tables and privileges the plan manages."""

    def concerned(grantee: Grantee) -> bool:
        return grantee is PUBLIC or grantee.startswith(role_prefix)

    names = {"schemas": list(schemas), "prefix": role_prefix}
    cur.execute("SELECT current_user::text")
    row = cur.fetchone()
    assert row is not None
    user = str(row[0])
    cur.execute(_ROLES, names)
    roles = {str(n): RoleState(bool(login), c) for n, login, c in cur.fetchall()}
    cur.execute(_SCHEMAS, names)
    found: set[str] = set()
    privileges: list[Privilege] = []
    for schema, grantee, privilege, grantable in cur.fetchall():
        found.add(schema)
        if privilege is not None and concerned(grantee):
            privileges.append(Privilege(grantee, schema, None, None, privilege, bool(grantable)))
    cur.execute(_TABLES, names)
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in cur.fetchall():
        tables.setdefault((schema, table), []).append(column)
    cur.execute(_TABLE_ACL, names)
    privileges += [
        Privilege(grantee, schema, table, column, privilege, bool(grantable))
        for schema, table, column, grantee, privilege, grantable in cur.fetchall()
        if concerned(grantee)
    ]
    cur.execute(_DEFAULT_ACL, names)
    defaults = tuple(
        DefaultPrivilege(creator, schema, grantee, privilege)
        for creator, schema, grantee, privilege in cur.fetchall()
        if concerned(grantee)
    )
    return Catalog(
        user=user,
        roles=roles,
        schemas=frozenset(found),
        tables={key: tuple(columns) for key, columns in tables.items()},
        privileges=tuple(privileges),
        defaults=defaults,
    )
