"""The publication gate: run a suite over a dataframe and keep only safe facts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from expectations.results import GateResult
from expectations.suite import Suite

if TYPE_CHECKING:
    import pandas as pd


def run_gate(
    df: pd.DataFrame,
    suite: Suite,
    *,
    primary_key: Sequence[str],
    tagged_columns: Collection[str] = (),
    max_failing_keys: int = 20,
) -> GateResult:
    """Validate ``df`` against ``suite`` with Great Expectations and summarise the outcome.

    Failing rows are reported only by ``primary_key`` values (at most
    ``max_failing_keys`` per expectation, in row order). For expectations on
    ``tagged_columns`` no observed values and no value-revealing rule kwargs are
    kept. Primary-key columns must not be tagged, since their values are reported.

    Raises SuiteError if Great Expectations rejects an expectation's kwargs, and
    ValueError for unusable arguments (missing or tagged key columns).
    """
    import pandas as pd

    from expectations import runtime
    from expectations.redact import build_outcome

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"run_gate needs a pandas DataFrame, got {type(df).__name__}")
    keys = _check_primary_key(df, primary_key, tagged_columns)
    if max_failing_keys < 0:
        raise ValueError("max_failing_keys must be zero or more")
    tagged = frozenset(tagged_columns)

    # GX reads key values by index label, which breaks on duplicate or named indexes.
    plain_index = isinstance(df.index, pd.RangeIndex) and df.index.name is None
    frame = df if plain_index else df.reset_index(drop=True)
    gx_results = runtime.validate(
        _vectorisable(frame, suite), suite, primary_key=keys, partial_count=max_failing_keys
    )
    outcomes = tuple(
        build_outcome(
            expectation,
            gx_result,
            primary_key=keys,
            tagged_columns=tagged,
            max_failing_keys=max_failing_keys,
        )
        for expectation, gx_result in zip(suite.expectations, gx_results, strict=True)
    )
    return GateResult(suite=suite, row_count=len(frame), outcomes=outcomes)


def _check_primary_key(
    df: pd.DataFrame, primary_key: Sequence[str], tagged_columns: Collection[str]
) -> tuple[str, ...]:
    keys = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
    if not keys:
        raise ValueError("primary_key must name at least one column")
    if len(set(keys)) != len(keys):
        raise ValueError(f"primary_key repeats a column: {list(keys)}")
    missing = [key for key in keys if key not in df.columns]
    if missing:
        raise ValueError(f"primary_key columns {missing} are not in the dataframe")
    tagged = [key for key in keys if key in tagged_columns]
    if tagged:
        raise ValueError(
            f"primary_key columns {tagged} are tagged as personal data; failing rows are "
            "reported by key, so use an untagged key (e.g. a record id or pseudonym)"
        )
    return keys


_BETWEEN = "expect_column_values_to_be_between"


def _vectorisable(df: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """``df`` with each nullable number column (Int64, Float64) that a range expectation reads
    and that holds no null as its plain numpy dtype: GX compares numpy columns in one vectorised
    step, extension columns one value at a time in Python. The values are the same."""
    import pandas as pd

    columns = sorted(
        {
            exp["kwargs"]["column"]
            for exp in suite.expectations
            if exp.get("type") == _BETWEEN and exp["kwargs"].get("column") in df.columns
        }
    )
    plain = {}
    for column in columns:
        dtype = df[column].dtype
        if (
            isinstance(dtype, pd.core.dtypes.dtypes.BaseMaskedDtype)
            and dtype.kind in "iuf"
            and not df[column].isna().any()
        ):
            plain[column] = df[column].to_numpy(dtype=dtype.numpy_dtype)
    return df.assign(**plain) if plain else df
