"""The vectorised masking helpers give, value for value, what their one-value definitions give."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.masking import keyed_hash, postcode_district

KEY = b"equivalence-key"


def _one_hmac(value: object, length: int = 32) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return pd.NA
    return hmac.new(KEY, str(value).encode(), hashlib.sha256).hexdigest()[:length]


def _reference(values: pd.Series, length: int = 32) -> list[object]:
    return [_one_hmac(v, length) for v in values.tolist()]


def _as_list(series: pd.Series) -> list[object]:
    return [pd.NA if pd.isna(v) else v for v in series.tolist()]


SCALARS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(SCALARS, max_size=30), st.integers(8, 64))
def test_keyed_hash_of_mixed_objects_equals_hashing_each_str(
    values: list[object], length: int
) -> None:
    series = pd.Series(values, dtype=object)
    assert _as_list(keyed_hash(series, KEY, length)) == _reference(series, length)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30))
def test_keyed_hash_of_text_columns(values: list[str | None]) -> None:
    for dtype in ("string", "str"):
        series = pd.Series(values, dtype=dtype)
        assert _as_list(keyed_hash(series, KEY)) == _reference(series)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=30), st.booleans())
def test_keyed_hash_of_integer_columns(values: list[int], nullable: bool) -> None:
    series = pd.Series(values, dtype="Int64" if nullable else "int64")
    if nullable and len(series):
        series.iloc[0] = pd.NA
    assert _as_list(keyed_hash(series, KEY)) == _reference(series)


def test_keyed_hash_keeps_the_index_and_repeats() -> None:
    series = pd.Series(["9434765919", "9434765919", None], index=[10, 11, 12], dtype="string")
    out = keyed_hash(series, KEY)
    assert list(out.index) == [10, 11, 12]
    assert out[10] == out[11] == _one_hmac("9434765919")
    assert out.dtype == "string" and pd.isna(out[12])


POSTCODE_TEXT = st.text(
    alphabet=st.sampled_from([*"AB12 9Zab\t\n\x0b\x0c\r\x1c\x1f-", "é", "ß", "\xa0"]),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), POSTCODE_TEXT), max_size=20))
def test_postcode_district_equals_the_pandas_definition(values: list[str | None]) -> None:
    series = pd.Series(values, dtype="string")
    expected = series.str.strip().str.split(" ").str[0].str.upper()
    assert _as_list(postcode_district(series)) == _as_list(expected)
