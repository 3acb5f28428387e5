"""Human sentences for expectations, rendered from allow-listed kwargs only."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_Rule = Mapping[str, Any]
_Template = Callable[[str, Sequence[str], _Rule], str]


def describe(exp_type: str, rule: _Rule, columns: Sequence[str], notes: str | None) -> str:
    """A one-sentence description: the suite's own notes if given, else a rendered sentence.

    ``rule`` must already be allow-listed: anything in it may appear in the sentence.
    """
    if notes:
        return notes
    subject = ", ".join(columns)
    template = _TEMPLATES.get(exp_type)
    sentence = template(subject, columns, rule) if template else _generic(exp_type, subject, rule)
    mostly = rule.get("mostly")
    if isinstance(mostly, int | float) and not isinstance(mostly, bool) and mostly < 1:
        sentence += f" (for at least {mostly:.0%} of values)"
    return sentence


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _range(rule: _Rule) -> str:
    low, high = rule.get("min_value"), rule.get("max_value")
    if low is not None and high is not None:
        return f"between {_show(low)} and {_show(high)}"
    if low is not None:
        return f"at least {_show(low)}"
    if high is not None:
        return f"at most {_show(high)}"
    return "within the configured range"


def _opt(rule: _Rule, key: str, fallback: str) -> str:
    return _show(rule[key]) if key in rule else fallback


def _pattern(key: str, what: str, negate: bool = False) -> _Template:
    def render(subject: str, columns: Sequence[str], rule: _Rule) -> str:
        verb = "must not match" if negate else "must match"
        if key in rule:
            return f"{subject} values {verb} the {what} {_show(rule[key])}"
        return f"{subject} values {verb} the configured {what}"

    return render


def _generic(exp_type: str, subject: str, rule: _Rule) -> str:
    phrase = exp_type.removeprefix("expect_").replace("_", " ").replace(" to be ", " must be ")
    skip = {"column", "column_list", "column_A", "column_B", "mostly"}
    params = ", ".join(f"{key}={_show(value)}" for key, value in rule.items() if key not in skip)
    sentence = f"{subject}: {phrase}" if subject else phrase
    return f"{sentence} ({params})" if params else sentence


def _pair(verb: str) -> _Template:
    def render(subject: str, columns: Sequence[str], rule: _Rule) -> str:
        if len(columns) != 2:
            return f"{subject}: {verb}"
        suffix = " or equal to" if rule.get("or_equal") else ""
        return f"{columns[0]} must {verb}{suffix} {columns[1]}"

    return render


def _columns_match_set(subject: str, columns: Sequence[str], rule: _Rule) -> str:
    how = "include" if rule.get("exact_match") is False else "be exactly"
    return f"the table columns must {how} {_opt(rule, 'column_set', 'the configured set')}"


_TEMPLATES: dict[str, _Template] = {
    "expect_column_values_to_not_be_null": lambda s, c, r: f"{s} values must not be null",
    "expect_column_values_to_be_null": lambda s, c, r: f"{s} values must be null",
    "expect_column_values_to_be_unique": lambda s, c, r: f"{s} values must be unique",
    "expect_column_to_exist": lambda s, c, r: f"column {s} must exist",
    "expect_column_values_to_be_between": lambda s, c, r: f"{s} values must be {_range(r)}",
    "expect_column_value_lengths_to_be_between": (
        lambda s, c, r: f"{s} value lengths must be {_range(r)}"
    ),
    "expect_column_values_to_match_regex": _pattern("regex", "pattern"),
    "expect_column_values_to_not_match_regex": _pattern("regex", "pattern", negate=True),
    "expect_column_values_to_be_in_set": (
        lambda s, c, r: f"{s} values must be one of {_opt(r, 'value_set', 'the configured set')}"
    ),
    "expect_column_values_to_not_be_in_set": (
        lambda s, c, r: (
            f"{s} values must not be one of " + _opt(r, "value_set", "the configured set")
        )
    ),
    "expect_column_values_to_be_of_type": (
        lambda s, c, r: f"{s} values must be of type {_opt(r, 'type_', 'the configured type')}"
    ),
    "expect_column_values_to_be_valid_nhs_numbers": (
        lambda s, c, r: f"{s} values must be valid NHS numbers (modulus 11 check digit)"
    ),
    "expect_column_values_to_be_dateutil_parseable": (
        lambda s, c, r: f"{s} values must be parseable dates"
    ),
    "expect_column_values_to_match_strftime_format": _pattern("strftime_format", "date format"),
    "expect_compound_columns_to_be_unique": (
        lambda s, c, r: f"the combination of {s} must be unique"
    ),
    "expect_select_column_values_to_be_unique_within_record": (
        lambda s, c, r: f"{s} values must differ within each row"
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": _pair("be greater than"),
    "expect_column_pair_values_to_be_equal": _pair("equal"),
    "expect_table_row_count_to_be_between": (
        lambda s, c, r: f"the table must have {_range(r)} rows"
    ),
    "expect_table_row_count_to_equal": (
        lambda s, c, r: f"the table must have {_opt(r, 'value', 'the configured number of')} rows"
    ),
    "expect_table_columns_to_match_set": _columns_match_set,
    "expect_table_columns_to_match_ordered_list": (
        lambda s, c, r: f"the table columns must be, in order, {s}"
    ),
    "expect_column_distinct_values_to_be_in_set": (
        lambda s, c, r: (
            f"{s} distinct values must all be in " + _opt(r, "value_set", "the configured set")
        )
    ),
    "expect_column_most_common_value_to_be_in_set": (
        lambda s, c, r: (
            f"{s} most common value must be one of " + _opt(r, "value_set", "the configured set")
        )
    ),
    "expect_column_value_lengths_to_equal": (
        lambda s, c, r: f"{s} value lengths must equal {_opt(r, 'value', 'the configured length')}"
    ),
    "expect_column_unique_value_count_to_be_between": (
        lambda s, c, r: f"{s} must have {_range(r)} distinct values"
    ),
    "expect_column_proportion_of_non_null_values_to_be_between": (
        lambda s, c, r: f"{s} proportion of non-null values must be {_range(r)}"
    ),
    "expect_column_proportion_of_unique_values_to_be_between": (
        lambda s, c, r: f"{s} proportion of unique values must be {_range(r)}"
    ),
    "expect_table_column_count_to_be_between": (
        lambda s, c, r: f"the table must have {_range(r)} columns"
    ),
}

_STATISTICS = {
    "max": "maximum",
    "min": "minimum",
    "mean": "mean",
    "median": "median",
    "sum": "sum",
    "stdev": "standard deviation",
}


def _statistic(label: str) -> _Template:
    return lambda s, c, r: f"{s} {label} must be {_range(r)}"


_TEMPLATES.update(
    {f"expect_column_{key}_to_be_between": _statistic(label) for key, label in _STATISTICS.items()}
)
