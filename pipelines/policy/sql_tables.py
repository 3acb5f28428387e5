"""What the SQL controls share: naming a table, its column kinds, values conformed as pandas does.

The pandas controls compare values after conforming them (:mod:`pipelines.policy.disclosure`)
and identifiers after normalising them (:mod:`pipelines.policy.recognise`); the expressions here
give the same text inside PostgreSQL, so the SQL controls group and match exactly as they do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

Kind = Literal["text", "integer", "float", "boolean", "date", "timestamp", "timestamptz", "other"]

# RE2's \s (what pyarrow's regexes use) is [\t\n\f\r ]; PostgreSQL's would add \v and more.
_SEPARATORS = r"[\t\n\f\r ./-]"
# What Arrow's utf8_trim_whitespace trims: ASCII whitespace and Unicode space separators.
_WHITESPACE = "\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class TableRef:
    """A table in the database: ``schema`` is the department, ``name`` the dataset."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


class SqlControlError(ValueError):
    """A table or column a SQL control needs is missing or of a kind it cannot judge."""


@dataclass(frozen=True)
class Table:
    """A table as the controls query it: its clause and each column's kind."""

    ref: TableRef
    clause: sa.TableClause
    kinds: dict[str, Kind]

    def column(self, name: str) -> sa.ColumnClause[Any]:
        """The column ``name``; SqlControlError naming the table if it has none."""
        if name not in self.kinds:
            raise SqlControlError(
                f"table {self.ref} has no column {name!r} (its columns: {', '.join(self.kinds)})"
            )
        return self.clause.c[name]


def reflect(conn: sa.Connection, ref: TableRef) -> Table:
    """``ref``'s columns and their kinds, read from the database catalogue."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(ref.name, schema=ref.schema):
        raise SqlControlError(f"table {ref} does not exist in the database")
    kinds: dict[str, Kind] = {}
    for column in inspector.get_columns(ref.name, schema=ref.schema):
        kinds[str(column["name"])] = _kind(column["type"])
    clause = sa.table(ref.name, *(sa.column(c) for c in kinds), schema=ref.schema)
    return Table(ref, clause, kinds)


def _kind(sql_type: Any) -> Kind:
    if isinstance(sql_type, sa.Boolean):
        return "boolean"
    if isinstance(sql_type, sa.Integer):
        return "integer"
    if isinstance(sql_type, sa.Float | sa.Numeric):
        return "float"
    if isinstance(sql_type, sa.DateTime):
        return "timestamptz" if getattr(sql_type, "timezone", False) else "timestamp"
    if isinstance(sql_type, sa.Date):
        return "date"
    if isinstance(sql_type, sa.String):
        return "text"
    return "other"


def conformed(table: Table, name: str) -> sa.ColumnElement[Any]:
    """The column as the text pandas' ``_conform`` gives: strings trimmed, whole numbers without
    a fraction, booleans ``True``/``False``, dates as pandas prints a timestamp; NULL stays NULL."""
    column, kind = table.column(name), table.kinds[name]
    if kind == "text":
        return sa.func.btrim(column, _WHITESPACE)
    if kind == "integer":
        return sa.cast(column, sa.Text)
    if kind == "float":
        whole = sa.cast(sa.cast(column, sa.Numeric), sa.Text)
        return sa.case((column == sa.func.trunc(column), whole), else_=sa.cast(column, sa.Text))
    if kind == "boolean":
        return sa.case((column.is_(None), sa.null()), (column, "True"), else_="False")
    if kind == "date":
        return sa.cast(sa.func.to_char(column, "YYYY-MM-DD"), sa.Text).concat(" 00:00:00")
    if kind in ("timestamp", "timestamptz"):
        return sa.func.to_char(column, "YYYY-MM-DD HH24:MI:SS")
    return sa.cast(column, sa.Text)


def normalised(table: Table, name: str, scheme: str) -> sa.ColumnElement[Any]:
    """An identifier column in its scheme's normal form (:meth:`Scheme.normalise`)."""
    text = conformed(table, name) if table.kinds[name] == "float" else table.column(name)
    text = sa.cast(text, sa.Text)
    if scheme == "email":
        return sa.func.lower(sa.func.btrim(text, _WHITESPACE))
    return sa.func.upper(sa.func.regexp_replace(text, _SEPARATORS, "", "g"))


def key_text(table: Table, primary_key: Sequence[str]) -> list[sa.ColumnElement[Any]]:
    """Primary-key columns as text, as :func:`pipelines.policy.result.row_keys` shows them."""
    return [sa.cast(table.column(k), sa.Text).label(k) for k in primary_key]


def keys_sha256_sql(
    conn: sa.Connection, source: sa.FromClause, columns: Sequence[sa.ColumnElement[Any]]
) -> str:
    """:func:`pipelines.policy.result.keys_sha256` of ``columns`` of ``source``, in the database."""
    parts = [sa.func.coalesce(sa.cast(c, sa.Text), "") for c in columns]
    line = sa.func.concat_ws("|", *parts) if len(parts) > 1 else parts[0]
    newline: sa.ColumnElement[str] = sa.literal_column("E'\\n'")
    lines = sa.func.string_agg(line, aggregate_order_by(newline, line.collate("C")))
    ordered = sa.select(sa.func.coalesce(lines, "")).select_from(source).scalar_subquery()
    digest = sa.func.encode(sa.func.sha256(sa.func.convert_to(ordered, "UTF8")), "hex")
    return str(conn.execute(sa.select(digest)).scalar_one())


def check_names(table: Table, columns: Sequence[str], role: str) -> tuple[str, ...]:
    """The named columns of ``table``, distinct and at least one, each present."""
    names = tuple(columns)
    if not names or len(set(names)) != len(names):
        raise SqlControlError(f"{table.ref}: {role} columns must be distinct and at least one")
    for name in names:
        table.column(name)
    return names


def key_order(source: Any, n: int) -> list[Any]:
    """Order by labels ``q0``.. as pandas ranks keys: a value before NULL, by code point."""
    order: list[Any] = []
    for i in range(n):
        order += [source.c[f"q{i}"].is_(None), source.c[f"q{i}"].collate("C")]
    return order
