"""The statements of a grants plan, composed with :mod:`psycopg.sql`.

Role, schema, table and column names are always :class:`~psycopg.sql.Identifier` (quoted by
psycopg); privilege keywords come from a fixed list, never from text read elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from psycopg import sql

from pipelines.warehouse.grants_catalog import PUBLIC, Grantee

TABLE_PRIVILEGES: Final = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
)
SCHEMA_PRIVILEGES: Final = frozenset({"USAGE", "CREATE"})
On = Literal["SCHEMA", "TABLE"]


def who(grantee: Grantee) -> sql.Composable:
    """A grantee: PUBLIC, or a quoted role name."""
    return sql.SQL("PUBLIC") if grantee is PUBLIC else sql.Identifier(grantee)


def table_ref(schema: str, table: str) -> sql.Composable:
    """``"schema"."table"``."""
    return sql.Identifier(schema, table)


def _keyword(privilege: str, on: On) -> sql.Composable:
    allowed = SCHEMA_PRIVILEGES if on == "SCHEMA" else TABLE_PRIVILEGES
    if privilege not in allowed:
        raise ValueError(f"{privilege!r} is not a {on.lower()} privilege tagtrail manages")
    return sql.SQL(privilege)


def _columns(columns: Iterable[str]) -> sql.Composable:
    names = list(columns)
    if not names:
        return sql.SQL("")
    return sql.SQL(" ({})").format(sql.SQL(", ").join(sql.Identifier(c) for c in names))


def grant(
    privilege: str, on: On, target: sql.Composable, grantee: Grantee, columns: Iterable[str] = ()
) -> sql.Composed:
    """``GRANT privilege [(columns)] ON SCHEMA|TABLE target TO grantee``."""
    return sql.SQL("GRANT {}{} ON {} {} TO {}").format(
        _keyword(privilege, on), _columns(columns), sql.SQL(on), target, who(grantee)
    )


def revoke(
    privilege: str,
    on: On,
    target: sql.Composable,
    grantee: Grantee,
    columns: Iterable[str] = (),
    *,
    option_only: bool = False,
) -> sql.Composed:
    """``REVOKE [GRANT OPTION FOR] privilege [(columns)] ON ... FROM grantee CASCADE``.

    CASCADE also takes what the grantee passed on with a grant option it should not have had.
    """
    option = sql.SQL("GRANT OPTION FOR ") if option_only else sql.SQL("")
    return sql.SQL("REVOKE {}{}{} ON {} {} FROM {} CASCADE").format(
        option, _keyword(privilege, on), _columns(columns), sql.SQL(on), target, who(grantee)
    )


def default_privilege(
    verb: Literal["GRANT", "REVOKE"], creator: str, schema: str, privilege: str, grantee: Grantee
) -> sql.Composed:
    """``ALTER DEFAULT PRIVILEGES FOR ROLE creator IN SCHEMA schema GRANT|REVOKE ... ON TABLES``."""
    direction = sql.SQL("TO" if verb == "GRANT" else "FROM")
    return sql.SQL(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} {} {} ON TABLES {} {}"
    ).format(
        sql.Identifier(creator),
        sql.Identifier(schema),
        sql.SQL(verb),
        _keyword(privilege, "TABLE"),
        direction,
        who(grantee),
    )


def create_role(role: str) -> sql.Composed:
    """``CREATE ROLE role NOLOGIN``."""
    return sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role))


def no_login(role: str) -> sql.Composed:
    """``ALTER ROLE role NOLOGIN``."""
    return sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role))


def comment_role(role: str, text: str) -> sql.Composed:
    """``COMMENT ON ROLE role IS 'text'``."""
    return sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(role), sql.Literal(text))
