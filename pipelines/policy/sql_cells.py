"""Small cells in SQL: no published count of a table from 1 to the threshold - 1.

The primary rule of :func:`pipelines.policy.disclosure.audit_suppression`; whether a suppressed
count can be narrowed from the published ones (linear programmes) stays in Python, through
:func:`pipelines.policy.sql_disclosure.check_disclosure_sql`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pipelines.model import SmallCellRule
from pipelines.policy.disclosure import Group
from pipelines.policy.disclosure_check import MAX_GROUPS
from pipelines.policy.result import DISCLOSURE_CONTROL, ControlResult
from pipelines.policy.sql_tables import TableRef, check_names, key_order, reflect
from pipelines.policy.tables import at_least_one


def small_cells_sql(
    conn: sa.Connection,
    table_ref: TableRef,
    rule: SmallCellRule,
    threshold: int,
    *,
    max_groups: int = MAX_GROUPS,
) -> ControlResult:
    """The primary small-cell rule in SQL: no published (non-NULL) count from 1 to threshold - 1.

    Failing entries are named by their dimension values (in dimension order), with the pandas
    audit's reason. This is the part of the small-cell audit that SQL expresses; whether a
    suppressed count can be narrowed from the published ones needs :func:`check_disclosure_sql`.
    """
    at_least_one("threshold", threshold, max_groups)
    table = reflect(conn, table_ref)
    dims = check_names(table, rule.dimensions, "dimension")
    count = table.column(rule.count)
    small = sa.and_(count.is_not(None), count > 0, count < threshold)
    flagged: Any = (
        sa.func.coalesce(table.column(rule.suppressed), False)
        if rule.suppressed in table.kinds
        else sa.false()
    )
    tally = conn.execute(
        sa.select(sa.func.count(), sa.func.count().filter(small)).select_from(table.clause)
    ).one()
    labels = [sa.cast(table.column(d), sa.Text).label(f"q{i}") for i, d in enumerate(dims)]
    rows = sa.select(*labels, flagged.label("flagged")).where(small).subquery("small")
    found = conn.execute(sa.select(rows).order_by(*key_order(rows, len(dims))).limit(max_groups))
    groups: list[Group] = []
    for row in found:
        note = ", shown although flagged suppressed" if row.flagged else ""
        group: Group = {d: row._mapping[f"q{i}"] for i, d in enumerate(dims)}
        groups.append(group | {"reason": f"below threshold{note}"})
    cells, unsafe = int(tally[0]), int(tally[1])
    finding = f"{unsafe} published cell(s) rest on fewer than {threshold}"
    return ControlResult(
        control=DISCLOSURE_CONTROL,
        passed=not unsafe,
        rule=f"small cells: no published count below {threshold} over {', '.join(dims)}",
        summary=finding if unsafe else f"no published count below {threshold} in {cells} cells",
        findings=(finding,) if unsafe else (),
        counts={"threshold": threshold, "cells": cells, "unsafe_cells": unsafe},
        groups=tuple(groups),
    )
