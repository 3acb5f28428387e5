"""The NHS number check digit as a SQL expression, and its Great Expectations SQL metric.

:func:`nhs_valid_sql` is :func:`expectations.nhs.is_valid_nhs_number` in SQL: ten ASCII digits,
the first nine weighted 10..2 and summed, ``(11 - sum % 11) % 11`` equal to the tenth (a
remainder giving 10 never equals a digit, so those numbers fail). The ``CASE`` keeps the cast
away from values that are not ten digits. Importing this module registers the expression as the
SQLAlchemy provider of the custom expectation's metric (imports GX; load lazily).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)
from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (
    ColumnMapMetricProvider,
)

import expectations.custom  # noqa: F401  (the expectation and its pandas provider come first)
from expectations.custom import NHS_METRIC

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_valid_sql(column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """True where ``column`` (text) is a valid NHS number; NULL stays NULL, anything else False.

    Ten bytes that are all ASCII digits are exactly ten ASCII digits; ``ltrim`` by the digits and
    integer arithmetic on one ``bigint`` cast are about twice as fast as a regex and ten casts.
    """
    number = sa.cast(column, sa.BigInteger)

    def digit(position: int) -> sa.ColumnElement[int]:
        place: sa.ColumnElement[int] = (number // 10 ** (10 - position)) % 10
        return place

    total: sa.ColumnElement[int] = sum(
        (digit(i + 1) * w for i, w in enumerate(_WEIGHTS)), start=sa.literal(0)
    )
    check = (sa.literal(11) - total % 11) % 11
    shaped = sa.and_(sa.func.octet_length(column) == 10, sa.func.ltrim(column, "0123456789") == "")
    return sa.case(
        (column.is_(None), sa.null()),
        (shaped, check == number % 10),
        else_=sa.false(),
    )


class ColumnValuesValidNhsNumberSql(ColumnMapMetricProvider):
    """The NHS number condition for the SQLAlchemy engine (same metric name as the pandas one)."""

    condition_metric_name = NHS_METRIC

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column: sa.ColumnElement[Any], **kwargs: Any) -> sa.ColumnElement[bool]:
        return nhs_valid_sql(column)
