"""Great Expectations custom expectation for NHS numbers (imports GX; load lazily)."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (
    ColumnMapMetricProvider,
)

from expectations.nhs import valid_nhs_numbers

NHS_METRIC = "column_values.valid_nhs_number"


class ColumnValuesValidNhsNumber(ColumnMapMetricProvider):
    """Row-level condition: the value is a string NHS number with a valid check digit."""

    condition_metric_name = NHS_METRIC

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return pd.Series(valid_nhs_numbers(column), index=column.index)


class ExpectColumnValuesToBeValidNhsNumbers(ColumnMapExpectation):
    """Expect column values to be NHS numbers: 10 ASCII digits with a valid modulus-11 check digit.

    Non-string values (e.g. integers, which lose leading zeros) fail. Nulls are
    ignored, as for every column map expectation; pair with
    expect_column_values_to_not_be_null when a value is required.
    """

    map_metric = NHS_METRIC
    success_keys = ("mostly",)
    args_keys = ("column",)
    library_metadata: ClassVar[dict[str, Any]] = {
        "maturity": "experimental",
        "tags": ["tagtrail", "nhs", "column map expectation"],
        "contributors": ["tagtrail"],
        "requirements": [],
    }
