"""Tests for loading suites and the SuiteError messages users see."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from expectations import SUITES_DIR, SuiteError, load_suite


def write(tmp_path: Path, document: Any, name: str = "suite.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def expectation(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "nhs_number"},
        "severity": "critical",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def suite_with(*expectations: Any) -> dict[str, Any]:
    return {"name": "people", "expectations": list(expectations)}


def error_for(tmp_path: Path, document: Any) -> str:
    path = write(tmp_path, document)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    error = info.value
    assert error.__cause__ is None  # no chained parser traceback for users
    assert error.__context__ is None or error.__suppress_context__
    return message


def test_loads_valid_suite(tmp_path: Path) -> None:
    document = suite_with(
        expectation(meta={"notes": "needed for linkage"}),
        expectation(
            type="expect_column_pair_values_to_be_equal",
            kwargs={"column_A": "a", "column_B": "b"},
            severity="info",
        ),
        expectation(
            type="expect_compound_columns_to_be_unique",
            kwargs={"column_list": ["site", "episode"]},
            severity="warning",
        ),
        expectation(type="expect_table_row_count_to_be_between", kwargs={"min_value": 1}),
    )
    path = write(tmp_path, document)
    suite = load_suite(path)
    assert suite.name == "people"
    assert suite.path == path
    assert suite.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert suite.expectations == tuple(document["expectations"])
    assert suite.columns() == {"nhs_number", "a", "b", "site", "episode"}


def test_suites_dir_is_in_the_package() -> None:
    assert SUITES_DIR.name == "suites" and SUITES_DIR.parent.name == "expectations"
    assert SUITES_DIR.is_dir()


def test_not_json(tmp_path: Path) -> None:
    message = error_for(tmp_path, '{"name": "x", "expectations": [}')
    assert "is not valid JSON" in message and "line 1" in message
    assert '"name" and "expectations"' in message


def test_missing_severity(tmp_path: Path) -> None:
    message = error_for(tmp_path, suite_with(expectation(), expectation(severity=None)))
    assert "expectations[1] (expect_column_values_to_not_be_null)" in message
    assert '"severity" is missing' in message
    assert '"critical", "warning", "info"' in message


def test_unknown_severity(tmp_path: Path) -> None:
    message = error_for(tmp_path, suite_with(expectation(severity="high")))
    assert 'field "severity" is "high"' in message
    assert 'allowed values are "critical", "warning", "info"' in message


def test_unknown_expectation_type(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, suite_with(expectation(type="expect_column_values_to_be_valid_nhs_number"))
    )
    assert 'field "type" is not a supported expectation type' in message
    assert 'Did you mean "expect_column_values_to_be_valid_nhs_numbers"?' in message
    assert "expectations/catalog.py" in message


def test_kwargs_not_a_dict(tmp_path: Path) -> None:
    message = error_for(tmp_path, suite_with(expectation(kwargs=["nhs_number"])))
    assert "expectations[0] (expect_column_values_to_not_be_null)" in message
    assert 'field "kwargs" must be a JSON object' in message and "not a list" in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], 'must contain a JSON object with "name" and "expectations", not a list'),
        ({"expectations": [expectation()]}, 'field "name" must be a non-empty string'),
        ({"name": "x", "expectations": []}, 'field "expectations" must be a non-empty list'),
        (
            {"name": "x", "expectations": [expectation()], "expectation": []},
            'field "expectation" is not allowed here; allowed fields are',
        ),
        (suite_with("not an object"), "expectations[0] must be a JSON object"),
        (suite_with(expectation(type=None)), 'field "type" must be the name of an expectation'),
        (
            suite_with(expectation(severty="warning")),
            'field "severty" is not allowed here; allowed fields are description, id, kwargs',
        ),
        (
            suite_with(expectation(kwargs={"column": "a", "result_format": "COMPLETE"})),
            'field "kwargs.result_format" is set by the gate',
        ),
        (suite_with(expectation(kwargs={"column": 3})), 'field "kwargs.column" must be a column'),
        (suite_with(expectation(kwargs={})), 'field "kwargs.column" is required'),
        (
            suite_with(
                expectation(type="expect_compound_columns_to_be_unique", kwargs={"column_list": []})
            ),
            'field "kwargs.column_list" must be a non-empty list of column names',
        ),
        (suite_with(expectation(meta=["x"])), 'field "meta" must be a JSON object'),
        (suite_with(expectation(meta={"notes": 5})), 'field "meta.notes" must be text'),
    ],
)
def test_other_mistakes(tmp_path: Path, document: Any, expected: str) -> None:
    assert expected in error_for(tmp_path, document)


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    text = (
        '{"name": "x", "expectations": [{"type": "expect_column_values_to_not_be_null", '
        '"kwargs": {"column": "a"}, "severity": "info", "severity": "critical"}]}'
    )
    assert 'repeats the key "severity"' in error_for(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot be read"):
        load_suite(tmp_path / "absent.json")


def test_error_carries_location(tmp_path: Path) -> None:
    path = write(tmp_path, suite_with(expectation(severity="high")))
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (info.value.path, info.value.location) == (path, "expectations[0].severity")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("path", sorted(SUITES_DIR.glob("*.json")), ids=lambda p: p.name)
def test_shipped_suites_are_valid(path: Path, gx_runtime: object) -> None:
    from expectations.runtime import build_expectations

    suite = load_suite(path)
    assert len(build_expectations(suite)) == len(suite.expectations)
