"""Leak tests and unit tests for expectations.redact (allow-listing GX results)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from expectations import Suite, run_gate
from expectations.redact import allowed_rule, failing_keys, json_safe

PKS = ["PK-0001", "PK-0002", "PK-0003", "PK-0004"]
RAW_NHS = ["LEAKNHS-A1", "LEAKNHS-B2", "LEAKNHS-B2", "LEAKNHS-C3"]
RAW_POSTCODES = ["LEAKY-PC-1", "LEAKY-PC-2", "LEAKY-PC-2", "AB1 2CD"]
RAW_INCOMES = [987654321, 123456789, 555555555, 50]
TAGGED = {"nhs_number", "postcode", "income"}


def leaky_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"pk": PKS, "nhs_number": RAW_NHS, "postcode": RAW_POSTCODES, "income": RAW_INCOMES}
    )


@pytest.mark.usefixtures("gx_runtime")
def test_no_tagged_value_leaks(fixture_suite: Callable[[str], Suite]) -> None:
    result = run_gate(
        leaky_frame(), fixture_suite("leak"), primary_key=["pk"], tagged_columns=TAGGED
    )
    dumped = json.dumps(result.to_dict())

    distinctive = {"LEAKNHS", "LEAKY-PC-1", "LEAKY-PC-2", "987654321", "123456789", "555555555"}
    assert not [raw for raw in distinctive if raw in dumped]
    assert all(pk in dumped for pk in PKS[:3])
    assert not result.passed
    for outcome in result.outcomes:
        assert outcome.observed_value is None
        assert not {"regex", "value_set", "min_value", "max_value"} & outcome.rule.keys()
        for key in outcome.failing_keys:
            assert set(key) == {"pk"}
    [withheld] = [o for o in result.outcomes if o.exception]
    assert "withheld" in (withheld.exception or "")


@pytest.mark.usefixtures("gx_runtime")
def test_leak_probe_is_sensitive_when_nothing_is_tagged(
    fixture_suite: Callable[[str], Suite],
) -> None:
    # Same data untagged: observed values now appear, so the test above is not vacuous.
    result = run_gate(leaky_frame(), fixture_suite("leak"), primary_key=["pk"])
    dumped = json.dumps(result.to_dict())
    assert "987654321" in dumped and "LEAKY-PC-2" in dumped


def test_allowed_rule_hides_value_kwargs_for_tagged_columns() -> None:
    kwargs = {
        "column": "c",
        "mostly": 0.5,
        "regex": "^x$",
        "value_set": ["a"],
        "min_value": 1,
        "row_condition": 'c=="secret"',
    }
    assert allowed_rule(kwargs, tagged=True) == {"column": "c", "mostly": 0.5}
    assert allowed_rule(kwargs, tagged=False) == {
        "column": "c",
        "mostly": 0.5,
        "regex": "^x$",
        "value_set": ["a"],
        "min_value": 1,
    }


def test_failing_keys_reads_only_primary_key_columns() -> None:
    row_wise = {
        "partial_unexpected_index_list": [{"secret": "RAW", "id": 2}, {"secret": "X", "id": 1}]
    }
    assert failing_keys(row_wise, primary_key=["id"], limit=5) == ({"id": 2}, {"id": 1})
    columnar = {"partial_unexpected_index_list": [{"id": [3, 1, 2], "day": ["a", "b", "c"]}]}
    assert failing_keys(columnar, primary_key=["id", "day"], limit=2) == (
        {"id": 3, "day": "a"},
        {"id": 1, "day": "b"},
    )
    assert failing_keys({}, primary_key=["id"], limit=3) == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(3), 3),
        (np.float64(1.5), 1.5),
        (float("nan"), None),
        (np.bool_(True), True),
        (pd.Timestamp("2024-01-02 03:04:05"), "2024-01-02T03:04:05"),
        (pd.NaT, None),
        (pd.NA, None),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (np.datetime64("2024-01-02"), "2024-01-02T00:00:00"),
        (decimal.Decimal("1.10"), "1.10"),
        ({"a": (1, np.int64(2))}, {"a": [1, 2]}),
        ({3, 1, 2}, [1, 2, 3]),
        (np.array([1, 2]), [1, 2]),
    ],
)
def test_json_safe(value: Any, expected: Any) -> None:
    assert json_safe(value) == expected
    json.dumps(json_safe(value), allow_nan=False)
