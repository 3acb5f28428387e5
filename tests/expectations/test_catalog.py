"""The static list of supported types must match the installed Great Expectations."""

from __future__ import annotations

from typing import Any

import pytest

from expectations.catalog import GX_CORE_TYPES, SUPPORTED_TYPES

# Registered in GX but deliberately not offered to suites (see catalog.py).
EXCLUDED = {
    "expect_column_kl_divergence_to_be_less_than",
    "expect_query_results_to_match_comparison",
    "expect_table_row_count_to_equal_other_table",
    "unexpected_rows_expectation",
}


@pytest.mark.usefixtures("gx_runtime")
def test_every_supported_type_is_registered_in_gx() -> None:
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    registered = set(list_registered_expectation_implementations())
    assert sorted(SUPPORTED_TYPES - registered) == []


def test_core_types_are_listed_once_and_sorted() -> None:
    assert list(GX_CORE_TYPES) == sorted(set(GX_CORE_TYPES))


@pytest.mark.usefixtures("gx_runtime")
def test_new_gx_core_types_are_noticed() -> None:
    from great_expectations.expectations import core
    from great_expectations.expectations.expectation import Expectation

    core_types: set[str] = set()
    for name in dir(core):
        obj: Any = getattr(core, name)
        if isinstance(obj, type) and issubclass(obj, Expectation) and obj.expectation_type:
            core_types.add(obj.expectation_type)
    assert core_types - set(GX_CORE_TYPES) == EXCLUDED
