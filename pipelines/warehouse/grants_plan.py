"""The SQL that brings a database's privileges to what the declarations want, with a reason each.

:func:`plan_grants` compares :class:`~pipelines.warehouse.grants.DesiredGrants` with a
:class:`~pipelines.warehouse.grants_catalog.Catalog` and orders the changes so that they can run
in one transaction: roles first, then every revoke (a table-level revoke also takes the column
privileges of its kind, so columns are granted after it), then the grants.

Managed grantees are PUBLIC, the departments' roles, and prefixed roles marked as tagtrail's (a
department removed from the estate) -- never another role that merely shares the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from psycopg import sql

from pipelines.warehouse import grants_sql as q
from pipelines.warehouse.grants import Access, DesiredGrants
from pipelines.warehouse.grants_catalog import PUBLIC, Catalog, Grantee, Privilege

MANAGED: Final = "managed by tagtrail grants: a department's NOLOGIN role"
Action = Literal["create_role", "alter_role", "grant", "revoke"]
Scope = Literal["role", "schema", "table", "columns", "default"]
_ORDER: Final = {"create_role": 0, "alter_role": 1, "revoke": 2, "grant": 3}
_SCOPE_ORDER: Final = {"role": 0, "default": 1, "columns": 2, "table": 3, "schema": 4}
_ONLY_READ: Final = "tagtrail roles and PUBLIC at most read department data"


@dataclass(frozen=True)
class Change:
    """One statement of the plan: what it does, to whom, on what, and why.

    ``department`` owns the schema concerned (for a role change: the role's department).
    """

    action: Action
    scope: Scope
    role: str
    department: str
    schema: str | None
    dataset: str | None
    columns: tuple[str, ...]
    privilege: str | None
    reason: str
    statement: sql.Composed
    agreement: str | None = None

    @property
    def sql(self) -> str:
        """The statement as text, identifiers quoted."""
        return self.statement.as_string()


@dataclass(frozen=True)
class Plan:
    """The changes to make, in order; what waits for a schema or table; other notes."""

    changes: tuple[Change, ...]
    pending: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        """Whether the database already grants exactly what the declarations want."""
        return not self.changes


def plan_grants(desired: DesiredGrants, catalog: Catalog) -> Plan:
    """The ordered changes that make ``catalog`` grant exactly what ``desired`` wants."""
    return _Planner(desired, catalog).plan()


def _name(grantee: Grantee) -> str:
    return "PUBLIC" if grantee is PUBLIC else grantee


@dataclass(frozen=True)
class _Where:
    department: str
    schema: str | None = None
    dataset: str | None = None


class _Planner:
    def __init__(self, desired: DesiredGrants, catalog: Catalog) -> None:
        self.d, self.c = desired, catalog
        self.changes: list[Change] = []
        self.pending: list[str] = []
        self.notes: list[str] = []
        self.department_of = {role: dept for dept, role in desired.roles.items()}
        for role, state in sorted(catalog.roles.items()):
            if role not in self.department_of and state.comment == MANAGED:
                self.department_of[role] = ""
                self.notes.append(
                    f"role {role} names no department of the estate: its privileges on "
                    "department schemas are revoked; drop it when nothing else uses it"
                )

    def add(
        self,
        action: Action,
        scope: Scope,
        grantee: Grantee,
        where: _Where,
        statement: sql.Composed,
        reason: str,
        privilege: str | None = None,
        columns: tuple[str, ...] = (),
        agreement: str | None = None,
    ) -> None:
        self.changes.append(
            Change(
                action=action,
                scope=scope,
                role=_name(grantee),
                department=where.department,
                schema=where.schema,
                dataset=where.dataset,
                columns=columns,
                privilege=privilege,
                reason=reason,
                statement=statement,
                agreement=agreement,
            )
        )

    def managed(self, grantee: Grantee) -> bool:
        return grantee is PUBLIC or grantee in self.department_of

    def plan(self) -> Plan:
        self._roles()
        held = [p for p in self.c.privileges if self.managed(p.grantee)]
        for schema in self.d.schemas:
            if schema in self.c.schemas:
                self._schema(schema, [p for p in held if p.schema == schema])
            else:
                self.pending.append(f"schema {schema} does not exist yet: no grants on it")
        stored = {(s, self.d.dataset_of(s, t)) for s, t in self.c.tables}
        for a in self.d.access:
            if a.owner in self.c.schemas and (a.owner, a.dataset) not in stored:
                self.pending.append(
                    f"{a.owner}.{a.dataset} is not published yet: {a.role} gets it once it is"
                )
        position = {id(c): i for i, c in enumerate(self.changes)}
        ordered = sorted(
            self.changes,
            key=lambda c: (
                _ORDER[c.action],
                _SCOPE_ORDER[c.scope] * (1 if c.action == "revoke" else -1),
                position[id(c)],
            ),
        )
        return Plan(tuple(ordered), tuple(self.pending), tuple(self.notes))

    def _roles(self) -> None:
        for dept, role in sorted(self.d.roles.items()):
            state = self.c.roles.get(role)
            where = _Where(dept)
            if state is None:
                why = f"department {dept} has no role yet"
                self.add("create_role", "role", role, where, q.create_role(role), why)
            elif state.login:
                why = "a department's role cannot log in: people get it by membership"
                self.add("alter_role", "role", role, where, q.no_login(role), why)
            if state is None or state.comment != MANAGED:
                why = "marks the role as managed by tagtrail grants"
                self.add("alter_role", "role", role, where, q.comment_role(role, MANAGED), why)

    def _schema(self, schema: str, held: list[Privilege]) -> None:
        own = self.d.roles[schema]
        readers: set[Grantee] = {own}
        for (s, table), columns in sorted(self.c.tables.items()):
            if s != schema:
                continue
            on_table = [p for p in held if p.table == table]
            dataset = self.d.dataset_of(s, table)
            wanted_by = {a.role for a in self.d.access if (a.owner, a.dataset) == (s, dataset)}
            for grantee in sorted({p.grantee for p in on_table} | wanted_by | {own}, key=_name):
                mine = [p for p in on_table if p.grantee == grantee]
                if self._table(grantee, schema, table, columns, mine):
                    readers.add(grantee)
        on_schema = [p for p in held if p.table is None]
        for grantee in sorted({p.grantee for p in on_schema} | readers, key=_name):
            mine = [p for p in on_schema if p.grantee == grantee]
            self._usage(grantee, schema, grantee in readers, mine)
        self._defaults(schema, own)

    def _access(self, grantee: Grantee, schema: str, table: str) -> Access | None:
        dept = self.department_of.get(grantee) if grantee is not PUBLIC else None
        if not dept:
            return None
        if dept == schema:
            why = f"{dept} owns schema {schema} and reads every table in it"
            return Access(dept, self.d.roles[dept], schema, table, None, (), why)
        return self.d.granted(dept, schema, table)

    def _readable(self, access: Access, actual: tuple[str, ...]) -> tuple[str, ...]:
        """The table's columns ``access`` lets its role read."""
        if access.own:
            return actual
        listed = (
            access.columns if access.columns is not None else self.d.declared[access.dataset][1]
        )
        missing = [c for c in listed if c not in actual]
        if missing:
            self.notes.append(
                f"{access.owner}.{access.dataset} has no column {', '.join(missing)} that "
                f"{' and '.join(access.agreements)} lets {access.department} read: not granted"
            )
        return tuple(c for c in actual if c in listed)

    def _table(
        self,
        grantee: Grantee,
        schema: str,
        table: str,
        actual: tuple[str, ...],
        held: list[Privilege],
    ) -> bool:
        """Plan one grantee's privileges on one table; whether it is to read any of it."""
        access = self._access(grantee, schema, table)
        wanted = self._readable(access, actual) if access else ()
        # a table-level grant also covers columns added later: only for the whole dataset
        whole = bool(wanted) and access is not None and (access.own or access.columns is None)
        whole = whole and set(wanted) == set(actual)
        target, where = q.table_ref(schema, table), _Where(schema, schema, table)
        agreement = access.agreements[0] if access and access.agreements else None
        gone, lapsed = self._why_not(grantee, schema, table)
        lapsed = agreement if wanted else lapsed
        narrowed = f"{_name(grantee)} may read only some columns of {schema}.{table}"

        def revoke(
            privilege: str, columns: tuple[str, ...], why: str, option: bool = False
        ) -> None:
            if privilege not in q.TABLE_PRIVILEGES:
                self.notes.append(f"unknown privilege {privilege} of {_name(grantee)} left")
                return
            statement = q.revoke(privilege, "TABLE", target, grantee, columns, option_only=option)
            scope: Scope = "columns" if columns else "table"
            shown = f"GRANT OPTION FOR {privilege}" if option else privilege
            why = "tagtrail roles do not pass privileges on" if option else why
            self.add("revoke", scope, grantee, where, statement, why, shown, columns, lapsed)

        table_level = {p.privilege: p for p in held if p.column is None}
        cleared = set()
        for privilege, p in sorted(table_level.items()):
            if privilege == "SELECT" and whole:
                if p.grantable:
                    revoke(privilege, (), "", option=True)
                continue
            cleared.add(privilege)  # revoking it at table level takes its column grants too
            why = (narrowed if wanted else gone) if privilege == "SELECT" else _ONLY_READ
            revoke(privilege, (), why)
        if whole and "SELECT" not in table_level:
            statement = q.grant("SELECT", "TABLE", target, grantee)
            assert access is not None
            self.add(
                "grant", "table", grantee, where, statement, access.reason, "SELECT", (), agreement
            )
        have: set[str] = set()
        extra: dict[tuple[str, str], list[str]] = {}
        for p in held:
            if p.column is None or p.privilege in cleared:
                continue
            if p.privilege == "SELECT" and not whole and p.column in wanted:
                have.add(p.column)
                if p.grantable:
                    revoke(p.privilege, (p.column,), "", option=True)
                continue
            why = (
                f"the whole of {schema}.{table} is granted instead"
                if p.privilege == "SELECT" and whole
                else (narrowed if wanted else gone)
                if p.privilege == "SELECT"
                else _ONLY_READ
            )
            extra.setdefault((p.privilege, why), []).append(p.column)
        for (privilege, why), columns in sorted(extra.items()):
            revoke(privilege, tuple(c for c in actual if c in columns), why)
        missing = tuple(c for c in wanted if c not in have) if not whole else ()
        if missing:
            assert access is not None
            statement = q.grant("SELECT", "TABLE", target, grantee, missing)
            self.add(
                "grant",
                "columns",
                grantee,
                where,
                statement,
                access.reason,
                "SELECT",
                missing,
                agreement,
            )
        return bool(wanted)

    def _why_not(self, grantee: Grantee, schema: str, table: str) -> tuple[str, str | None]:
        """Why ``grantee`` may not read ``schema.table``, and the agreement that lapsed if any."""
        if grantee is PUBLIC:
            return "department schemas are not open to PUBLIC", None
        dept = self.department_of.get(grantee, "")
        lapsed = self.d.lapsed.get((dept, self.d.dataset_of(schema, table)), ())
        if not dept:
            return f"{grantee} is no department's role", None
        text = f"no agreement in force on {self.d.as_of} lets {dept} read {schema}.{table}"
        if lapsed:
            return f"{text} ({'; '.join(lap.why for lap in lapsed)})", lapsed[0].agreement
        return text, None

    def _usage(self, grantee: Grantee, schema: str, wanted: bool, held: list[Privilege]) -> None:
        target, where = sql.Identifier(schema), _Where(schema, schema)
        have = {p.privilege: p for p in held}
        for privilege, p in sorted(have.items()):
            if privilege not in q.SCHEMA_PRIVILEGES:
                self.notes.append(f"unknown privilege {privilege} of {_name(grantee)} left")
            elif privilege == "USAGE" and wanted and p.grantable:
                statement = q.revoke(privilege, "SCHEMA", target, grantee, option_only=True)
                why = "tagtrail roles do not pass privileges on"
                self.add(
                    "revoke", "schema", grantee, where, statement, why, "GRANT OPTION FOR USAGE"
                )
            elif privilege != "USAGE" or not wanted:
                why = (
                    "department schemas are not open to PUBLIC"
                    if grantee is PUBLIC
                    else f"{grantee} reads nothing in schema {schema}"
                    if privilege == "USAGE"
                    else _ONLY_READ
                )
                statement = q.revoke(privilege, "SCHEMA", target, grantee)
                self.add("revoke", "schema", grantee, where, statement, why, privilege)
        if wanted and "USAGE" not in have:
            dept = self.department_of.get(_name(grantee), "")
            why = (
                f"{dept} owns schema {schema}"
                if dept == schema
                else f"{dept} reads tables of schema {schema} under an agreement"
            )
            statement = q.grant("USAGE", "SCHEMA", target, grantee)
            self.add("grant", "schema", grantee, where, statement, why, "USAGE")

    def _defaults(self, schema: str, own: str) -> None:
        where = _Where(schema, schema)
        wanted = (self.c.user, own, "SELECT")
        have = [d for d in self.c.defaults if d.schema == schema and self.managed(d.grantee)]
        for d in have:
            if (d.creator, d.grantee, d.privilege) == wanted:
                continue
            if d.privilege not in q.TABLE_PRIVILEGES:
                self.notes.append(f"unknown default privilege {d.privilege} left in {schema}")
                continue
            statement = q.default_privilege("REVOKE", d.creator, schema, d.privilege, d.grantee)
            why = f"tables {d.creator} creates in {schema} are for {own} alone to read"
            self.add("revoke", "default", d.grantee, where, statement, why, d.privilege)
        if not any((d.creator, d.grantee, d.privilege) == wanted for d in have):
            statement = q.default_privilege("GRANT", self.c.user, schema, "SELECT", own)
            why = f"{schema} reads the tables {self.c.user} will create in its schema"
            self.add("grant", "default", own, where, statement, why, "SELECT")
