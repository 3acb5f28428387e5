"""Descriptions are rendered from allow-listed rules, or taken from the suite's notes."""

from __future__ import annotations

from expectations.describe import describe


def test_notes_win() -> None:
    assert describe("expect_column_values_to_be_unique", {}, ["id"], "ids are unique") == (
        "ids are unique"
    )


def test_rendered_with_and_without_value_kwargs() -> None:
    exp = "expect_column_values_to_be_between"
    assert describe(exp, {"min_value": 0, "max_value": 5}, ["age"], None) == (
        "age values must be between 0 and 5"
    )
    assert describe(exp, {}, ["age"], None) == "age values must be within the configured range"
    assert describe("expect_column_values_to_match_regex", {"mostly": 0.95}, ["pc"], None) == (
        "pc values must match the configured pattern (for at least 95% of values)"
    )


def test_unknown_types_fall_back_to_a_generic_sentence() -> None:
    assert describe("expect_column_values_to_be_json_parseable", {"column": "j"}, ["j"], None) == (
        "j: column values must be json parseable"
    )
