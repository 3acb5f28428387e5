"""Golden-file and behaviour tests for expectations.gate.run_gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from expectations import GateResult, Suite, SuiteError, load_suite, run_gate

pytestmark = pytest.mark.usefixtures("gx_runtime")

VALID_NHS = [
    "9434765919",
    "9434765986",
    "9434766052",
    "9434766125",
    "9434766192",
    "9434766265",
    "9434766338",
    "9434766400",
]
TAGGED = ("nhs_number",)


def people(dirty: bool = False) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "record_id": [f"R{i:03d}" for i in range(1, 9)],
            "nhs_number": VALID_NHS,
            "age": [34, 71, 5, 88, 46, 102, 19, 63],
            "sex": ["F", "M", "X", "F", "M", "F", "M", "F"],
            "ward": [f"W{i:02d}" for i in range(1, 9)],
        }
    )
    if dirty:
        df["age"] = [34, 71, -4, 88, 46, 130, 19, 63]
        df["sex"] = ["F", "U", "X", "F", "M", "F", "?", "F"]
        df["ward"] = ["W01", "W02", "W03", "W04", None, "W06", "W07", "ICU"]
    return df


def episodes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["A", "A", "B", "B", "B"],
            "episode_no": [1, 2, 1, 1, 3],
            "admitted": pd.to_datetime(
                ["2024-01-01", "2024-01-03", "2024-02-01"] * 1 + ["2024-02-05", "2024-03-01"]
            ),
            "discharged": pd.to_datetime(
                ["2024-01-02", "2024-01-03", "2024-01-30", "2024-02-06", "2024-03-09"]
            ),
            "ward": ["W01", "W02", "W03", "W04", "W05"],
        }
    )


def capped_episodes() -> pd.DataFrame:
    n = 40
    df = pd.DataFrame(
        {
            "site": ["S1" if i % 2 else "S2" for i in range(n)],
            "admitted": pd.date_range("2024-01-01", periods=n, freq="D"),
            "ward": ["bad" if i % 3 == 0 else f"W{i % 100:02d}" for i in range(n)],
        }
    )
    # A duplicated, named index must not confuse how failing keys are looked up.
    df.index = pd.Index([7] * n, name="source_row")
    return df


def nhs_frame() -> pd.DataFrame:
    cases: list[tuple[str, Any]] = [
        ("valid", "9434765919"),
        ("valid_check_digit_0", "9434766400"),
        ("wrong_check_digit", "9434765918"),
        ("check_digit_10", "9434765030"),
        ("too_short", "943476591"),
        ("too_long", "94347659190"),
        ("letters", "94347659AB"),
        ("spaces", "943 476 5919"),
        ("integer", 9434765919),
        ("null", None),
    ]
    return pd.DataFrame(
        {
            "case": [c for c, _ in cases],
            "nhs_number": pd.Series([v for _, v in cases], dtype=object),
        }
    )


CASES: dict[str, tuple[str, Callable[[], pd.DataFrame], dict[str, Any]]] = {
    "passing": ("passing", people, {"primary_key": ["record_id"], "tagged_columns": TAGGED}),
    "critical_failure": (
        "critical_failure",
        lambda: people(dirty=True),
        {"primary_key": ["record_id"], "tagged_columns": TAGGED},
    ),
    "warning_only": (
        "warning_only",
        lambda: people(dirty=True),
        {"primary_key": ["record_id"], "tagged_columns": TAGGED},
    ),
    "info_only": (
        "info_only",
        lambda: people(dirty=True),
        {"primary_key": ["record_id"], "tagged_columns": TAGGED},
    ),
    "multi_column": ("multi_column", episodes, {"primary_key": ["site", "episode_no"]}),
    "capped": (
        "capped",
        capped_episodes,
        {"primary_key": ["site", "admitted"], "max_failing_keys": 5},
    ),
    "nhs": ("nhs", nhs_frame, {"primary_key": ["case"], "tagged_columns": TAGGED}),
}


def run_case(name: str, load: Callable[[str], Suite]) -> GateResult:
    suite_name, frame, kwargs = CASES[name]
    return run_gate(frame(), load(suite_name), **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden(
    name: str,
    fixture_suite: Callable[[str], Suite],
    golden: Callable[[str, dict[str, Any]], None],
) -> None:
    golden(name, run_case(name, fixture_suite).to_dict())


def failing(result: GateResult) -> dict[str, list[dict[str, Any]]]:
    return {o.expectation_type: list(o.failing_keys) for o in result.outcomes if not o.success}


def test_passing_suite(fixture_suite: Callable[[str], Suite]) -> None:
    result = run_case("passing", fixture_suite)
    assert result.passed
    assert all(o.success for o in result.outcomes)
    assert result.row_count == 8
    assert len(result.outcomes) == len(result.suite.expectations)


def test_critical_failure_blocks(fixture_suite: Callable[[str], Suite]) -> None:
    result = run_case("critical_failure", fixture_suite)
    assert not result.passed
    [age] = result.failed_critical
    assert age.failing_keys == ({"record_id": "R003"}, {"record_id": "R006"})
    assert age.description == "age must be a plausible age in years"
    assert age.rule == {"column": "age", "min_value": 0, "max_value": 120}
    [sex] = result.failed_warning
    assert sex.failing_keys == ({"record_id": "R002"}, {"record_id": "R007"})


def test_warning_only_failure_still_passes(fixture_suite: Callable[[str], Suite]) -> None:
    result = run_case("warning_only", fixture_suite)
    assert result.passed
    assert not result.failed_critical
    assert [o.column for o in result.failed_warning] == ["sex", "ward"]
    assert result.failed_warning[1].rule["mostly"] == 0.9


def test_info_failures_pass_and_keep_untagged_observed_value(
    fixture_suite: Callable[[str], Suite],
) -> None:
    result = run_case("info_only", fixture_suite)
    assert result.passed
    assert len(result.failed_info) == 2
    mean = result.failed_info[1]
    assert mean.observed_value == pytest.approx(447 / 8)


def test_multi_column_and_table_level(fixture_suite: Callable[[str], Suite]) -> None:
    result = run_case("multi_column", fixture_suite)
    by_type = {o.expectation_type: o for o in result.outcomes}
    compound = by_type["expect_compound_columns_to_be_unique"]
    assert compound.column == "site,episode_no"
    assert compound.failing_keys == ({"site": "B", "episode_no": 1},) * 2
    pair = by_type["expect_column_pair_values_a_to_be_greater_than_b"]
    assert pair.column == "discharged,admitted"
    assert pair.failing_keys == ({"site": "B", "episode_no": 1},)
    assert by_type["expect_table_columns_to_match_set"].success
    row_count = by_type["expect_table_row_count_to_be_between"]
    assert (row_count.success, row_count.observed_value, row_count.column) == (False, 5, None)
    assert not result.passed


def test_failing_keys_are_capped_in_row_order(fixture_suite: Callable[[str], Suite]) -> None:
    first = run_case("capped", fixture_suite)
    second = run_case("capped", fixture_suite)
    [outcome] = first.outcomes
    assert outcome.unexpected_count == 14
    expected_rows = [i for i in range(40) if i % 3 == 0][:5]
    frame = capped_episodes().reset_index(drop=True)
    assert list(outcome.failing_keys) == [
        {"site": frame.site[i], "admitted": frame.admitted[i].isoformat()} for i in expected_rows
    ]
    assert first.to_dict() == second.to_dict()


def test_max_failing_keys_zero_keeps_counts(fixture_suite: Callable[[str], Suite]) -> None:
    suite = fixture_suite("capped")
    result = run_gate(
        capped_episodes(), suite, primary_key=["site", "admitted"], max_failing_keys=0
    )
    assert result.outcomes[0].failing_keys == ()
    assert result.outcomes[0].unexpected_count == 14


def test_nhs_expectation(fixture_suite: Callable[[str], Suite]) -> None:
    strict, mostly = run_case("nhs", fixture_suite).outcomes
    assert [key["case"] for key in strict.failing_keys] == [
        "wrong_check_digit",
        "check_digit_10",
        "too_short",
        "too_long",
        "letters",
        "spaces",
        "integer",
    ]
    assert strict.element_count == 10 and strict.unexpected_count == 7
    assert not strict.success
    assert mostly.success  # 2 of 9 non-null values are valid, above mostly=0.2


def test_missing_column_is_a_failed_outcome_not_a_crash(tmp_path: Any) -> None:
    path = tmp_path / "missing.json"
    path.write_text(
        json.dumps(
            {
                "name": "missing",
                "expectations": [
                    {
                        "type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": "no_such_column"},
                        "severity": "warning",
                    }
                ],
            }
        )
    )
    [outcome] = run_gate(people(), load_suite(path), primary_key=["record_id"]).outcomes
    assert not outcome.success
    assert outcome.exception == 'column "no_such_column" does not exist in the dataset'


def test_gx_rejected_kwargs_raise_suite_error(tmp_path: Any) -> None:
    path = tmp_path / "typo.json"
    path.write_text(
        json.dumps(
            {
                "name": "typo",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "age", "min": 0},
                        "severity": "critical",
                    }
                ],
            }
        )
    )
    with pytest.raises(SuiteError) as info:
        run_gate(people(), load_suite(path), primary_key=["record_id"])
    message = str(info.value)
    assert str(path) in message
    assert "expectations[0] (expect_column_values_to_be_between)" in message
    assert "min: extra fields not permitted" in message
    assert "Allowed kwargs for this type are column, condition_parser, max_value" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("primary_key", "tagged", "match"),
    [
        (["nhs_number"], ["nhs_number"], "tagged"),
        (["nope"], [], "not in the dataframe"),
        ([], [], "at least one"),
        (["record_id", "record_id"], [], "repeats"),
    ],
)
def test_bad_primary_key(
    primary_key: list[str],
    tagged: list[str],
    match: str,
    fixture_suite: Callable[[str], Suite],
) -> None:
    with pytest.raises(ValueError, match=match):
        run_gate(people(), fixture_suite("passing"), primary_key=primary_key, tagged_columns=tagged)


def test_string_primary_key_means_one_column(fixture_suite: Callable[[str], Suite]) -> None:
    result = run_gate(
        people(dirty=True), fixture_suite("critical_failure"), primary_key="record_id"
    )
    assert result.failed_critical[0].failing_keys[0] == {"record_id": "R003"}


def test_context_is_reused_and_left_clean(
    gx_runtime: Any, fixture_suite: Callable[[str], Suite]
) -> None:
    from expectations.runtime import get_runtime

    run_case("passing", fixture_suite)
    assert get_runtime() is gx_runtime
    context = gx_runtime.context
    assert context.suites.all() == []
    assert context.validation_definitions.all() == []
    assert context.validation_results_store.list_keys() == []


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "UInt16"])
@pytest.mark.parametrize("with_null", [False, True])
def test_range_checks_on_nullable_numbers_give_what_gx_gives_on_them(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, dtype: str, with_null: bool
) -> None:
    """Nullable number columns go to GX as numpy columns when they hold no null (GX then
    compares them at once); outcomes must equal GX's on the column as it was."""
    from expectations import gate

    path = tmp_path / "years.json"
    path.write_text(
        json.dumps(
            {
                "name": "years",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "year", "min_value": 2000, "max_value": 2100},
                        "severity": "critical",
                    },
                    {
                        "type": "expect_column_max_to_be_between",
                        "kwargs": {"column": "year", "min_value": 2000, "max_value": 2200},
                        "severity": "info",
                    },
                ],
            }
        )
    )
    years = [2020, 1999, 2101, 2050, 2000, 2100] * 5
    frame = pd.DataFrame(
        {"record_id": [f"r{i}" for i in range(len(years))], "year": pd.array(years, dtype=dtype)}
    )
    if with_null:
        frame.loc[3, "year"] = pd.NA
    suite = load_suite(path)
    fast = run_gate(frame, suite, primary_key=["record_id"])
    monkeypatch.setattr(gate, "_vectorisable", lambda df, suite: df)  # GX's per-value path
    slow = run_gate(frame, suite, primary_key=["record_id"])
    assert fast.outcomes == slow.outcomes
    [between, _] = fast.outcomes
    assert not between.success
    assert between.unexpected_count == 10


def test_gx_never_fingerprints_the_data(
    monkeypatch: pytest.MonkeyPatch, fixture_suite: Callable[[str], Suite]
) -> None:
    """GX's batch fingerprint is an MD5 over every value; tagtrail keeps no batch markers, so
    the runtime turns it off (it was most of the gate's time at 1M rows)."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(df: pd.DataFrame) -> str:
        raise AssertionError("GX fingerprinted the data")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    assert run_case("passing", fixture_suite).passed
    assert not run_case("critical_failure", fixture_suite).passed
