"""Disclosure control on a table: k-anonymity and l-diversity by GROUP BY, small cells counted.

:func:`k_anonymity_sql` and :func:`l_diversity_sql` return the pandas functions' result types
(:mod:`pipelines.policy.disclosure`) for the same data: classes are formed on values conformed in
SQL as pandas conforms them (:func:`pipelines.policy.sql_tables.conformed`), a NULL is a value of
its own, people are distinct values of ``unit``. :func:`check_disclosure_sql` is
:func:`pipelines.policy.disclosure_check.check_disclosure` on a table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from pipelines.model import Agreement, Disclosure, Flow, KAnonymityRule
from pipelines.policy.disclosure import Group, KAnonymity, LDiversity
from pipelines.policy.disclosure_check import MAX_GROUPS, check_disclosure, k_anonymity_result
from pipelines.policy.result import ControlResult
from pipelines.policy.sql_tables import (
    SqlControlError,
    Table,
    TableRef,
    check_names,
    conformed,
    key_order,
    reflect,
)
from pipelines.policy.tables import at_least_one


def _rows(table: Table, qis: Sequence[str], unit: str | None, *extra: str) -> sa.Subquery:
    """q0.. (conformed), k0.. (null-safe join keys), u (unit), v (``extra[0]``)."""
    cols: list[Any] = []
    for i, q in enumerate(qis):
        value = conformed(table, q)
        cols.append(value.label(f"q{i}"))
        cols.append(sa.func.coalesce(sa.literal("V", sa.Text).concat(value), "N").label(f"k{i}"))
    if unit is not None:
        cols.append(conformed(table, unit).label("u"))
    if extra:
        cols.append(conformed(table, extra[0]).label("v"))
    return sa.select(*cols).select_from(table.clause).subquery("r")


def _summary(
    conn: sa.Connection,
    stats: Any,
    totals: Sequence[Any],
    below: Any,
    order: Sequence[Any],
    fields: Sequence[str],
    limit: int,
) -> tuple[Any, list[dict[str, Any]]]:
    """``totals`` over ``stats`` and its first ``limit`` rows ``below``, in one statement, so the
    database computes ``stats`` (a CTE used twice, hence materialised) once."""
    rank = sa.func.row_number().over(order_by=list(order)).label("rank")
    failing = sa.select(stats, rank).where(below).order_by(*order).limit(limit).subquery("f")
    record = sa.func.json_build_object(*(x for f in fields for x in (f, failing.c[f])))
    listed = sa.func.coalesce(
        sa.func.json_agg(aggregate_order_by(record, failing.c.rank)), sa.literal_column("'[]'")
    )
    summary = sa.select(*totals).select_from(stats).subquery("t")
    row = conn.execute(sa.select(summary, sa.select(listed).scalar_subquery())).one()
    failed: list[dict[str, Any]] = row[-1] if isinstance(row[-1], list) else json.loads(row[-1])
    return row, failed


def _group(qis: Sequence[str], row: Any, stats: Sequence[str]) -> Group:
    group: Group = {q: row[f"q{i}"] for i, q in enumerate(qis)}
    group.update({s: int(row[s]) for s in stats})
    return group


def k_anonymity_sql(
    conn: sa.Connection,
    table: Table,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    unit: str | None = None,
    max_groups: int = 20,
) -> KAnonymity:
    """:func:`pipelines.policy.disclosure.k_anonymity` over ``table``, in the database.

    People are counted as the distinct (class, unit) pairs: ``DISTINCT`` keeps one NULL unit a
    class, as pandas' ``nunique(dropna=False)`` does, and hashes where ``count(DISTINCT)`` sorts.
    """
    qis = check_names(table, quasi_identifiers, "quasi-identifier")
    at_least_one("k", k, max_groups)
    if unit is not None and unit in qis:
        raise SqlControlError(f"unit column {unit!r} is also a quasi-identifier")
    r = _rows(table, qis, unit)
    n = len(qis)
    source: Any = r
    if unit is not None:
        source = sa.select(*(r.c[f"q{i}"] for i in range(n)), r.c.u).distinct().subquery("p")
    q = [source.c[f"q{i}"] for i in range(n)]
    cls = sa.select(*q, sa.func.count().label("size")).group_by(*q).cte("cls")
    below = cls.c.size < k
    fields = [*(f"q{i}" for i in range(n)), "size"]
    stats, failing = _summary(
        conn,
        cls,
        [
            sa.func.count(),
            sa.func.coalesce(sa.func.min(cls.c.size), 0),
            sa.func.count().filter(below),
            sa.func.coalesce(sa.func.sum(cls.c.size).filter(below), 0),
        ],
        below,
        [cls.c.size, *key_order(cls, n)],
        fields,
        max_groups,
    )
    return KAnonymity(
        k=k,
        quasi_identifiers=qis,
        min_k=int(stats[1]),
        classes=int(stats[0]),
        classes_below=int(stats[2]),
        rows_below=int(stats[3]),
        failing_groups=tuple(_group(qis, row, ["size"]) for row in failing),
    )


def l_diversity_sql(
    conn: sa.Connection,
    table: Table,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    l: int,  # noqa: E741
    *,
    unit: str | None = None,
    max_groups: int = 20,
) -> LDiversity:
    """:func:`pipelines.policy.disclosure.l_diversity` over ``table``, in the database.

    ``holders``: people per (class, value); a class's distinct values are its holder rows, its
    size the people in it, and a value is shared when its holders are the whole class.
    """
    qis = check_names(table, quasi_identifiers, "quasi-identifier")
    check_names(table, [sensitive], "sensitive")
    if sensitive in qis:
        raise SqlControlError(f"sensitive column {sensitive!r} is also a quasi-identifier")
    at_least_one("l", l, max_groups)
    n = len(qis)
    r = _rows(table, qis, unit, sensitive)
    keys = [f"k{i}" for i in range(n)]
    labels = [f"q{i}" for i in range(n)]
    source: Any = r
    people_source: Any = r
    if unit is not None:
        source = sa.select(*(r.c[c] for c in keys + labels), r.c.v, r.c.u).distinct().subquery()
        people_source = sa.select(*(r.c[c] for c in keys), r.c.u).distinct().subquery()
    by_value = [source.c[c] for c in keys + labels] + [source.c.v]
    holders = (
        sa.select(*by_value, sa.func.count().label("holders")).group_by(*by_value).cte("holders")
    )
    size = (
        sa.select(*(people_source.c[c] for c in keys), sa.func.count().label("size"))
        .group_by(*(people_source.c[c] for c in keys))
        .cte("size")
    )
    same = sa.and_(sa.true(), *(holders.c[c] == size.c[c] for c in keys))
    grouped = [holders.c[c] for c in keys + labels] + [size.c.size]
    stats = (
        sa.select(
            *(holders.c[c] for c in labels),
            sa.func.count().label("distinct"),
            size.c.size,
            sa.func.count().filter(holders.c.holders == size.c.size).label("shared"),
        )
        .select_from(holders.join(size, same))
        .group_by(*grouped)
        .cte("stats")
    )
    under, has_shared = stats.c.distinct < l, stats.c.shared > 0
    below = sa.or_(under, has_shared)
    totals, failing = _summary(
        conn,
        stats,
        [
            sa.func.coalesce(sa.func.min(stats.c.distinct), 0),
            sa.func.count().filter(below),
            sa.func.coalesce(sa.func.sum(stats.c.size).filter(below), 0),
            sa.func.count().filter(under),
            sa.func.count().filter(has_shared),
        ],
        below,
        [stats.c.distinct, *key_order(stats, n)],
        [*labels, "distinct", "size", "shared"],
        max_groups,
    )
    return LDiversity(
        l=l,
        sensitive=sensitive,
        quasi_identifiers=qis,
        min_l=int(totals[0]),
        classes_below=int(totals[1]),
        rows_below=int(totals[2]),
        failing_groups=tuple(_group(qis, row, ["distinct", "size", "shared"]) for row in failing),
        classes_under_l=int(totals[3]),
        classes_shared=int(totals[4]),
    )


def check_disclosure_sql(
    conn: sa.Connection, table_ref: TableRef, flow: Flow, agreement: Agreement | None
) -> ControlResult:
    """:func:`pipelines.policy.disclosure_check.check_disclosure` on a table.

    k-anonymity and l-diversity run in the database. A small-cell table is a published table of
    counts (no row about a person): its dimension, count and suppression columns are read and
    audited in Python, since the secondary-suppression audit solves linear programmes.
    """
    if flow.disclosure is None:
        raise SqlControlError(f"flow {flow.name} declares no disclosure rule")
    limits = agreement.disclosure if agreement else Disclosure()
    table = reflect(conn, table_ref)
    if flow.disclosure.k_anonymity is not None:
        return _k_anonymity(conn, table, flow.disclosure.k_anonymity, limits.k_anonymity)
    rule = flow.disclosure.small_cells
    assert rule is not None
    wanted = [*rule.dimensions, rule.count, rule.suppressed, "suppression"]
    names = list(dict.fromkeys(c for c in wanted if c in table.kinds))
    frame = pd.read_sql(sa.select(*(table.column(c) for c in names)), conn)
    return check_disclosure(flow, agreement, frame)


def _k_anonymity(conn: sa.Connection, table: Table, rule: KAnonymityRule, k: int) -> ControlResult:
    """The result :func:`check_disclosure` builds for a k-anonymity rule, from SQL counts."""
    qis = list(rule.quasi_identifiers)
    kres = k_anonymity_sql(conn, table, qis, k, unit=rule.unit, max_groups=MAX_GROUPS)
    lres = (
        l_diversity_sql(
            conn,
            table,
            qis,
            rule.sensitive,
            rule.l_diversity,
            unit=rule.unit,
            max_groups=MAX_GROUPS,
        )
        if rule.sensitive and rule.l_diversity
        else None
    )
    return k_anonymity_result(rule, k, kres, lres)
