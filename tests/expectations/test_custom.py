"""The custom NHS expectation is a real GX ColumnMapExpectation usable by type name."""

from __future__ import annotations

from typing import Any

import pytest

from expectations.catalog import NHS_EXPECTATION_TYPE

pytestmark = pytest.mark.usefixtures("gx_runtime")


def test_registered_under_its_type_name() -> None:
    from great_expectations.expectations.expectation import ColumnMapExpectation
    from great_expectations.expectations.registry import get_expectation_impl

    from expectations.custom import ExpectColumnValuesToBeValidNhsNumbers

    impl: Any = get_expectation_impl(NHS_EXPECTATION_TYPE)
    assert impl is ExpectColumnValuesToBeValidNhsNumbers
    assert issubclass(impl, ColumnMapExpectation)
    assert impl.expectation_type == NHS_EXPECTATION_TYPE


def test_loads_from_suite_json_like_a_builtin() -> None:
    import great_expectations as gx

    suite = gx.ExpectationSuite(
        name="nhs_from_json",
        expectations=[
            {
                "type": NHS_EXPECTATION_TYPE,
                "kwargs": {"column": "nhs_number", "mostly": 0.9},
                "severity": "warning",
            }
        ],
    )
    [expectation] = suite.expectations
    assert expectation.expectation_type == NHS_EXPECTATION_TYPE
    assert expectation.severity == "warning"
