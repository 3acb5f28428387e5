"""Tests for the pure NHS number check digit function."""

from __future__ import annotations

import pytest

from expectations.nhs import is_valid_nhs_number


@pytest.mark.parametrize("number", ["9434765919", "9434766400", "4010232137", "0000000000"])
def test_valid(number: str) -> None:
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("9434765918", "wrong check digit"),
        ("9434766401", "check digit should be 0 (11 maps to 0)"),
        ("9434765030", "check digit would be 10"),
        ("1234567890", "check digit would be 10"),
        ("943476591", "too short"),
        ("94347659190", "too long"),
        ("94347659AB", "letters"),
        ("943 476 5919", "spaces"),
        ("-434765919", "sign"),
        ("٩٤٣٤٧٦٥٩١٩", "non-ASCII digits"),
        ("", "empty"),
    ],
)
def test_invalid(number: str, why: str) -> None:
    assert not is_valid_nhs_number(number), why


def test_non_string_is_invalid() -> None:
    assert not is_valid_nhs_number(9434765919)  # type: ignore[arg-type]
