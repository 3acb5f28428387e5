"""ValueSet: exact membership, checked against pyarrow's own ``is_in`` as the second library."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.policy import valueset
from pipelines.policy.valueset import ValueSet

TEXT = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["", "a", "ab", "9434765919", "x" * 16, "y" * 17, "é", "a\x00b"]),
)


def _is_in(values: list[str | None], probes: list[str | None]) -> list[bool]:
    present = pa.array(values, type=pa.string()).drop_null()
    hit = pc.is_in(pa.array(probes, type=pa.string()), value_set=present)
    return list(pc.fill_null(hit, False).to_pylist())


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, max_size=40), st.lists(TEXT, max_size=40))
def test_membership_equals_pyarrow_is_in(
    values: list[str | None], probes: list[str | None]
) -> None:
    probes = probes + [v for v in values[:5]]
    found = ValueSet(pa.array(values, type=pa.string())).contains(
        pa.array(probes, type=pa.string())
    )
    assert found.tolist() == _is_in(values, probes)


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, max_size=30), st.lists(TEXT, max_size=30))
def test_values_sharing_a_key_do_not_hide_each_other(
    values: list[str | None], probes: list[str | None]
) -> None:
    """With every key forced equal, the answer still comes from comparing the values."""
    probes = probes + values[-5:]
    real = valueset._keys
    try:
        valueset._keys = lambda words: np.zeros(len(words), dtype=np.uint64)
        found = ValueSet(pa.array(values, type=pa.string())).contains(
            pa.array(probes, type=pa.string())
        )
    finally:
        valueset._keys = real
    assert found.tolist() == _is_in(values, probes)


def test_large_string_and_chunked_input() -> None:
    values = pa.chunked_array([["a", "bb"], ["ccc", None]], type=pa.large_string())
    probes = pa.chunked_array([["ccc", "d"], ["a", None, "bb "]], type=pa.large_string())
    assert ValueSet(values).contains(probes).tolist() == [True, False, True, False, False]
    assert len(ValueSet(values)) == 3


@pytest.mark.parametrize("size", [0, 1, 1000])
def test_an_empty_set_or_probe(size: int) -> None:
    probes = pa.array([str(i) for i in range(size)], type=pa.string())
    assert not ValueSet(pa.array([], type=pa.string())).contains(probes).any()
    assert ValueSet(probes).contains(pa.array([], type=pa.string())).shape == (0,)
