"""Expectations the SQL gate runs as its own queries, where GX's SQL engine falls short.

``expect_compound_columns_to_be_unique``: GX 1.x's SQLAlchemy metric joins the group counts back
on ``=``, so a row with a NULL in any listed column is never counted as a duplicate (pandas
counts it), and its unexpected-index query selects only the listed columns, so no primary keys
come back. Here the rows are grouped null-safely (a NULL equals a NULL, as pandas'
``duplicated`` has it) and the failing rows' keys are read in scan order, as GX reads the others.
``expect_column_values_to_be_unique`` goes the same way, for speed (see :func:`column_unique`).

Each rule returns a :class:`SqlRuleResult`, shaped like the parts of a GX validation result that
:func:`expectations.redact.build_outcome` reads, so the outcome is reduced exactly as GX's are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from expectations.suite import Suite, expectation_columns


@dataclass(frozen=True)
class SqlRuleResult:
    """The fields of a GX ExpectationValidationResult that the gate's allow-list reads."""

    success: bool
    result: dict[str, Any] = field(default_factory=dict)
    exception_info: dict[str, Any] | None = None


SqlRule = Callable[
    [sa.Connection, sa.TableClause, Mapping[str, Any], Sequence[str], int], SqlRuleResult
]


def missing_column(name: str) -> SqlRuleResult:
    """The result GX gives for an expectation on a column the table does not have."""
    return SqlRuleResult(
        success=False,
        exception_info={
            "raised_exception": True,
            "exception_message": f'column "{name}" in BatchData does not exist',
            "exception_traceback": "MetricResolutionError",
        },
    )


def compound_unique(
    conn: sa.Connection,
    table: sa.TableClause,
    kwargs: Mapping[str, Any],
    primary_key: Sequence[str],
    limit: int,
) -> SqlRuleResult:
    """``expect_compound_columns_to_be_unique`` (``column_list``, ``ignore_row_if``, ``mostly``)."""
    columns = [table.c[name] for name in kwargs["column_list"]]
    ignore = kwargs.get("ignore_row_if", "all_values_are_missing")
    if ignore == "all_values_are_missing":
        considered: sa.ColumnElement[bool] = sa.not_(sa.and_(*(c.is_(None) for c in columns)))
    elif ignore == "any_value_is_missing":
        considered = sa.and_(*(c.is_not(None) for c in columns))
    else:
        considered = sa.true()

    def parts(source: Any) -> list[sa.ColumnElement[Any]]:
        out: list[sa.ColumnElement[Any]] = []
        for i, name in enumerate(kwargs["column_list"]):
            column = source.c[name]
            if ignore == "any_value_is_missing":  # no NULLs left: group on the values as they are
                out.append(column.label(f"t{i}"))
                continue
            out.append(column.is_(None).label(f"n{i}"))
            out.append(sa.func.coalesce(sa.cast(column, sa.Text), "").label(f"t{i}"))
        return out

    rows = sa.select(*parts(table)).where(considered).subquery("rows")
    keys = [rows.c[c.name] for c in parts(table)]
    groups = sa.select(*keys, sa.func.count().label("n")).group_by(*keys).subquery("groups")
    total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    counts = conn.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(rows).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(groups.c.n), 0))
            .where(groups.c.n > 1)
            .scalar_subquery(),
        )
    ).one()
    nonmissing, unexpected = int(counts[0]), int(counts[1])
    failing: list[dict[str, Any]] = []
    if unexpected and limit:
        dups = sa.select(*(groups.c[k.name] for k in keys)).where(groups.c.n > 1).cte("duplicated")
        mine = parts(table)
        same = sa.and_(*(dups.c[p.name] == p.element for p in mine))
        query = (
            sa.select(*(table.c[k] for k in primary_key))
            .where(considered, sa.exists().where(same))
            .limit(limit)
        )
        failing = [dict(row._mapping) for row in conn.execute(query)]
    mostly = float(kwargs.get("mostly", 1.0))
    success = not nonmissing or (nonmissing - unexpected) / nonmissing >= mostly
    return SqlRuleResult(
        success=success,
        result={
            "element_count": int(total),
            "unexpected_count": unexpected,
            "unexpected_percent": unexpected / nonmissing * 100 if nonmissing and total else None,
            "partial_unexpected_index_list": failing,
        },
    )


def column_unique(
    conn: sa.Connection,
    table: sa.TableClause,
    kwargs: Mapping[str, Any],
    primary_key: Sequence[str],
    limit: int,
) -> SqlRuleResult:
    """``expect_column_values_to_be_unique``: NULLs are outside the domain, as in every column map
    expectation. GX's SQL metric sorts the table by a window three times; one hash aggregate
    and a semi-join answer the same."""
    rule = {"column_list": [kwargs["column"]], "ignore_row_if": "any_value_is_missing"}
    return compound_unique(
        conn, table, rule | {"mostly": kwargs.get("mostly", 1.0)}, primary_key, limit
    )


SQL_RULES: dict[str, SqlRule] = {
    "expect_compound_columns_to_be_unique": compound_unique,
    "expect_column_values_to_be_unique": column_unique,
}


def run_sql_rules(
    url: sa.URL,
    schema: str | None,
    table: str,
    columns: Sequence[str],
    suite: Suite,
    results: list[Any],
    primary_key: Sequence[str],
    limit: int,
) -> None:
    """Fill ``results`` for the expectations :data:`SQL_RULES` runs, in one read-only session."""
    clause = sa.table(table, *(sa.column(c) for c in columns), schema=schema)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            for i, exp in enumerate(suite.expectations):
                rule = SQL_RULES.get(exp["type"])
                if rule is None:
                    continue
                absent = [c for c in expectation_columns(exp) if c not in columns]
                if absent:
                    results[i] = missing_column(absent[0])
                    continue
                try:
                    results[i] = rule(conn, clause, exp["kwargs"], primary_key, limit)
                except sa.exc.DBAPIError as exc:
                    conn.rollback()
                    results[i] = SqlRuleResult(
                        success=False,
                        exception_info={
                            "raised_exception": True,
                            "exception_message": str(exc.orig or exc).splitlines()[0],
                            "exception_traceback": type(exc.orig or exc).__name__,
                        },
                    )
    finally:
        engine.dispose()
