"""Static facts about the expectation types a suite may use (no Great Expectations import).

The type list is kept by hand so that loading a suite stays cheap; a test checks
every entry against the installed Great Expectations registry.
"""

from __future__ import annotations

from typing import Final, Literal

Severity = Literal["critical", "warning", "info"]
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "warning", "info")

NHS_EXPECTATION_TYPE: Final = "expect_column_values_to_be_valid_nhs_numbers"

CUSTOM_TYPES: Final[tuple[str, ...]] = (NHS_EXPECTATION_TYPE,)

# Core types that run on the pandas engine against a single dataframe. Excluded on
# purpose: SQL-only or cross-table types (query comparison, unexpected rows,
# row count vs other table) and KL divergence (its result details carry bins of values).
GX_CORE_TYPES: Final[tuple[str, ...]] = (
    "expect_column_distinct_values_to_be_in_set",
    "expect_column_distinct_values_to_contain_set",
    "expect_column_distinct_values_to_equal_set",
    "expect_column_max_to_be_between",
    "expect_column_mean_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_min_to_be_between",
    "expect_column_most_common_value_to_be_in_set",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_to_be_in_set",
    "expect_column_proportion_of_non_null_values_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between",
    "expect_column_quantile_values_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_column_sum_to_be_between",
    "expect_column_to_exist",
    "expect_column_type_to_be",
    "expect_column_unique_value_count_to_be_between",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_value_z_scores_to_be_less_than",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_decreasing",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_in_type_list",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_json_parseable",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_match_json_schema",
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_not_be_outliers",
    "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern_list",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_not_match_regex_list",
    "expect_compound_columns_to_be_unique",
    "expect_multicolumn_sum_to_equal",
    "expect_multicolumn_values_to_be_equal",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_table_column_count_to_be_between",
    "expect_table_column_count_to_equal",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
)

SUPPORTED_TYPES: Final[frozenset[str]] = frozenset(GX_CORE_TYPES + CUSTOM_TYPES)

COLUMN_KWARGS: Final[tuple[str, ...]] = ("column", "column_A", "column_B")
COLUMN_LIST_KWARG: Final = "column_list"

# Kwargs that describe structure, never data values: always safe to report.
STRUCTURAL_KWARGS: Final[frozenset[str]] = frozenset(
    {
        "column",
        "column_list",
        "column_A",
        "column_B",
        "mostly",
        "type_",
        "type_list",
        "strict_min",
        "strict_max",
        "strictly",
        "or_equal",
        "ignore_row_if",
        "column_set",
        "exact_match",
        "column_index",
    }
)

# Kwargs that encode permitted values; they could hint at what tagged data holds,
# so they are reported only when no column of the expectation is tagged.
VALUE_KWARGS: Final[frozenset[str]] = frozenset(
    {
        "min_value",
        "max_value",
        "value",
        "regex",
        "regex_list",
        "like_pattern",
        "like_pattern_list",
        "match_on",
        "value_set",
        "value_pairs_set",
        "sum_total",
        "strftime_format",
        "threshold",
        "double_sided",
        "quantile_ranges",
    }
)

# The gate owns these: a suite must not override how results are reported.
GATE_OWNED_KWARGS: Final[frozenset[str]] = frozenset(
    {"result_format", "catch_exceptions", "batch_id"}
)

EXPECTATION_KEYS: Final[frozenset[str]] = frozenset(
    {"type", "kwargs", "severity", "meta", "notes", "description", "id"}
)
SUITE_KEYS: Final[frozenset[str]] = frozenset({"name", "expectations", "meta", "notes", "id"})
