"""Privacy controls as queries on a dataset's table, for datasets that live in PostgreSQL.

Each function returns the :class:`~pipelines.policy.result.ControlResult` its pandas control
returns, with the same verdict, counts and row keys on the same data; only counts, primary keys
and the values of generalised quasi-identifiers (as the pandas controls show them) leave the
database. Tables are named by :class:`TableRef` (schema = department, table = dataset). Row keys
come in primary-key order (a table has no row order; pandas gives frame order).

- **Opt-outs** (:func:`check_opt_outs_sql`): an anti-join of the table's identifier columns
  against the register, both normalised in SQL exactly as :mod:`pipelines.policy.recognise`
  normalises them (separators and whitespace removed and upper case; e-mail trimmed and lower
  case).
- **k-anonymity and l-diversity**, and **small-cell counts**
  (:mod:`pipelines.policy.sql_disclosure`): GROUP BY the quasi-identifiers or dimensions,
  conformed as pandas conforms them.
- **Retention** (:func:`retention_purge_sql`, :func:`check_retention_sql`): rows dated before
  the cut-off and rows with no date.

What stays with the pandas controls, because SQL cannot express it or the database cannot hold
it:

- opt-outs through *linkage* (a register in one scheme reaching rows identified by another via a
  person index: an iterative graph closure), *keyed pseudonyms* (HMAC needs the key, which must
  never reach the database), identifiers *inside free text* and *unkeyed digests* of them;
- *pseudonymisation* (identifier-shaped values in any column, embedded identifiers, digests);
- the *secondary-suppression audit* of small-cell tables (two linear programmes per suppressed
  cell, solved by HiGHS): :func:`~pipelines.policy.sql_disclosure.check_disclosure_sql` reads the
  published table (aggregates only) and runs it in Python;
- *agreement*, *minimisation* and *volume*, which judge declarations and counts, not rows;
- *retention* on a date column stored as text (pandas parses mixed formats and offsets).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from pipelines.model import Agreement
from pipelines.policy.result import OPT_OUTS, ControlResult
from pipelines.policy.retention import Purge, cutoff, retention_result
from pipelines.policy.sql_cells import small_cells_sql
from pipelines.policy.sql_disclosure import check_disclosure_sql
from pipelines.policy.sql_tables import (
    SqlControlError,
    Table,
    TableRef,
    key_text,
    keys_sha256_sql,
    normalised,
    reflect,
)

__all__ = [
    "SqlControlError",
    "TableRef",
    "check_disclosure_sql",
    "check_opt_outs_sql",
    "check_retention_sql",
    "register_version_sql",
    "retention_purge_sql",
    "small_cells_sql",
]


def register_version_sql(
    conn: sa.Connection, register: TableRef, primary_key: Sequence[str]
) -> str:
    """:func:`pipelines.policy.optout.register_version` of the register table."""
    table = reflect(conn, register)
    return keys_sha256_sql(conn, table.clause, [table.column(k) for k in primary_key])[:16]


def check_opt_outs_sql(
    conn: sa.Connection,
    output: TableRef,
    primary_key: Sequence[str],
    identifier_columns: Sequence[str],
    register: TableRef,
    register_column: str,
    scheme: str,
    *,
    register_primary_key: Sequence[str],
    max_keys: int = 20,
) -> ControlResult:
    """No row of ``output`` holds, in an ``identifier_columns`` column, an identifier of a person in
    ``register`` (in any written form of ``scheme``: nhs_number, ni_number or email).

    ``identifier_columns`` are the output's columns declaring ``identifier: <scheme>`` (the
    register's scheme). Counts: the register's version and size (distinct normalised identifiers,
    as :class:`~pipelines.policy.linkage.People` counts them) and the offending rows.
    """
    if scheme not in ("nhs_number", "ni_number", "email"):
        raise SqlControlError(
            f"scheme {scheme!r} is not an identifier scheme; use nhs_number, ni_number or email"
        )
    out, reg = reflect(conn, output), reflect(conn, register)
    both_keys = set(primary_key) & set(identifier_columns)
    if both_keys:
        raise SqlControlError(
            f"{output}: primary key column(s) {sorted(both_keys)} hold identifiers; a primary key "
            "must be an untagged record identifier"
        )
    value = normalised(reg, register_column, scheme).label("value")
    people = sa.select(value).where(value.is_not(None), value != "").distinct().cte("people")
    hits = [
        sa.func.coalesce(normalised(out, c, scheme).in_(sa.select(people.c.value)), False).label(c)
        for c in identifier_columns
    ]
    raw = [out.column(k).label(f"_order_{i}") for i, k in enumerate(primary_key)]
    rows = sa.select(*key_text(out, primary_key), *raw, *hits).subquery("rows")
    any_hit = sa.or_(sa.false(), *(rows.c[c] for c in identifier_columns))
    version = register_version_sql(conn, register, register_primary_key)
    size = conn.execute(sa.select(sa.func.count()).select_from(people)).scalar_one()
    tally = conn.execute(
        sa.select(
            sa.func.count().filter(any_hit),
            *(sa.func.count().filter(rows.c[c]) for c in identifier_columns),
        ).select_from(rows)
    ).one()
    count = int(tally[0])
    columns = [c for c, n in zip(identifier_columns, tally[1:], strict=True) if n]
    keys = (
        sa.select(*(rows.c[k] for k in primary_key))
        .where(any_hit)
        .order_by(*_order(out, primary_key, rows))
        .limit(max_keys)
    )
    row_keys = tuple(dict(r._mapping) for r in conn.execute(keys)) if count else ()
    rule = (
        f"people in '{register.name}' (version {version}) are excluded from '{output.name}' "
        f"wherever its identifier columns name them: "
        f"{', '.join(f'{output.name}.{c}' for c in identifier_columns) or 'no route'}"
    )
    findings = (
        (
            f"{count} output row(s) still hold an opted-out person's identifier or pseudonym "
            f"(column(s) {', '.join(sorted(columns))})",
        )
        if count
        else ()
    )
    return ControlResult(
        control=OPT_OUTS,
        passed=not count,
        rule=rule,
        summary=findings[0]
        if findings
        else f"none of the {size} opted-out people's identifiers found in {output}",
        findings=findings,
        counts={
            "register_version": version,
            "register_size": int(size),
            "opted_out_rows_in_output": int(count),
        },
        row_keys=row_keys,
    )


def _order(table: Table, primary_key: Sequence[str], rows: sa.Subquery) -> list[Any]:
    """Primary-key order: numbers as numbers, text by code point (as Python sorts strings)."""
    return [
        rows.c[f"_order_{i}"].collate("C") if table.kinds[k] == "text" else rows.c[f"_order_{i}"]
        for i, k in enumerate(primary_key)
    ]


def _dates(table: Table, column: str) -> sa.ColumnElement[dt.date]:
    kind = table.kinds.get(column)
    c = table.column(column)
    if kind == "date":
        return c
    if kind == "timestamp":
        return sa.cast(c, sa.Date)
    if kind == "timestamptz":
        return sa.cast(sa.func.timezone("UTC", c), sa.Date)
    raise SqlControlError(
        f"{table.ref}.{column} is a {kind} column; the retention check in SQL needs a date or "
        "timestamp column (text dates are judged by the pandas control)"
    )


def retention_purge_sql(
    conn: sa.Connection,
    table_ref: TableRef,
    agreement: Agreement,
    primary_key: Sequence[str],
    as_of: dt.date,
    stored: TableRef | None = None,
) -> Purge:
    """What :func:`pipelines.policy.retention.apply_retention` would purge from the table.

    Nothing is deleted here: deleting ``WHERE <date> < purge.cutoff`` is the writer's step, in
    the transaction that records the purge. ``stored`` is the dataset as stored before this run.
    """
    ret = agreement.retention
    if ret.date_column is None:
        raise SqlControlError(f"agreement {agreement.id} sets no retention date_column")
    table = reflect(conn, table_ref)
    limit = cutoff(ret.period, as_of)
    dates = _dates(table, ret.date_column)
    past = sa.select(*(table.column(k) for k in primary_key)).where(dates < limit).subquery()
    purged = conn.execute(sa.select(sa.func.count()).select_from(past)).scalar_one()
    undated = conn.execute(
        sa.select(sa.func.count()).select_from(table.clause).where(dates.is_(None))
    ).scalar_one()
    previously = 0
    if stored is not None and purged:
        old = reflect(conn, stored)
        same = sa.and_(
            *(sa.cast(past.c[k], sa.Text) == sa.cast(old.column(k), sa.Text) for k in primary_key)
        )
        joined = past.join(old.clause, same)
        previously = conn.execute(sa.select(sa.func.count()).select_from(joined)).scalar_one()
    return Purge(
        rule=f"{agreement.id}: keep {ret.period} after {ret.date_column}, then {ret.disposal}",
        date_column=ret.date_column,
        period=ret.period,
        cutoff=limit,
        purged=int(purged),
        previously_stored=int(previously),
        undated=int(undated),
        keys_sha256=keys_sha256_sql(conn, past, list(past.c)) if purged else None,
    )


def check_retention_sql(conn: sa.Connection, table_ref: TableRef, purge: Purge) -> ControlResult:
    """:func:`pipelines.policy.retention.check_retention` on the table as stored."""
    table = reflect(conn, table_ref)
    dates = _dates(table, purge.date_column)
    counts = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(dates < purge.cutoff),
            sa.func.count().filter(dates.is_(None)),
        ).select_from(table.clause)
    ).one()
    kept, late, undated = (int(v) for v in counts)
    return retention_result(purge, kept, late, undated)
