"""Opt-outs: the register's version, excluding opted-out people, and checking none remain."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import pipelines.masking
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.model import Flow
from pipelines.policy.optout import Exclusion, check_opt_outs, exclude, register_version
from pipelines.policy.result import OPT_OUTS

KEY = b"k"
REGISTER_PK = ["opt_out_id"]


def _pseudonymise(values: pd.Series) -> pd.Series:
    return pipelines.masking.keyed_hash(values, KEY)


@pytest.fixture(scope="module")
def flow() -> Flow:
    # care_research_extract: opt_out register national_data_opt_out on nhs_number, matched on
    # care_packages.nhs_number.
    return load_estate(DEMO_ESTATE).flows["care_research_extract"]


def _register() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opt_out_id": ["O1", "O2", "O3"],
            "nhs_number": ["9990000018", " 9990000026 ", "9990000099"],
            "recorded_on": ["2025-01-01", "2025-02-01", "2025-03-01"],
        }
    )


def _inputs() -> dict[str, pd.DataFrame]:
    packages = pd.DataFrame(
        {
            "package_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "nhs_number": [
                "9434765919",
                "9990000018",  # opted out
                "9990000018 ",  # the same person again, trailing space
                "9990000026",  # opted out (register entry has spaces)
                "9990000034",
                None,
            ],
        }
    )
    register = _register()
    return {"care_packages": packages, "national_data_opt_out": register}


def test_register_version_is_sha256_of_sorted_entry_ids() -> None:
    expected = hashlib.sha256(b"O1\nO2\nO3").hexdigest()[:16]
    assert register_version(_register(), REGISTER_PK) == expected
    assert len(expected) == 16


def test_register_version_is_stable_under_row_order() -> None:
    register = _register()
    shuffled = register.iloc[[2, 0, 1]].reset_index(drop=True)
    assert register_version(shuffled, REGISTER_PK) == register_version(register, REGISTER_PK)


def test_register_version_changes_when_an_entry_is_added() -> None:
    register = _register()
    more = pd.concat(
        [register, pd.DataFrame({"opt_out_id": ["O4"], "nhs_number": ["9990000042"]})],
        ignore_index=True,
    )
    assert register_version(more, REGISTER_PK) != register_version(register, REGISTER_PK)
    assert register_version(more, REGISTER_PK) == hashlib.sha256(b"O1\nO2\nO3\nO4").hexdigest()[:16]


def test_register_version_is_built_from_ids_only() -> None:
    register = _register()
    changed = register.assign(nhs_number=["1", "2", "3"], recorded_on=None)
    assert register_version(changed, REGISTER_PK) == register_version(register, REGISTER_PK)
    for number in register["nhs_number"]:
        assert number.strip() not in register_version(register, REGISTER_PK)


def test_exclude_removes_exactly_the_opted_out_rows(flow: Flow) -> None:
    assert flow.opt_out is not None
    inputs = _inputs()
    kept, exclusion = exclude(inputs, flow.opt_out, inputs["national_data_opt_out"], REGISTER_PK)
    assert list(kept["care_packages"]["package_id"]) == ["P1", "P5", "P6"]
    assert list(kept["care_packages"].index) == [0, 1, 2]
    assert exclusion == Exclusion(
        register="national_data_opt_out",
        version=register_version(_register(), REGISTER_PK),
        register_size=3,
        matched_on="care_packages.nhs_number",
        excluded_rows=3,
        excluded_people=2,
    )


def test_exclude_leaves_other_inputs_untouched(flow: Flow) -> None:
    assert flow.opt_out is not None
    inputs = _inputs()
    packages, register = inputs["care_packages"], inputs["national_data_opt_out"]
    kept, _ = exclude(inputs, flow.opt_out, register, REGISTER_PK)
    assert kept["national_data_opt_out"] is register
    assert set(kept) == {"care_packages", "national_data_opt_out"}
    # The caller's dict and frame are not modified.
    assert inputs["care_packages"] is packages
    assert len(packages) == 6


def test_exclude_with_nobody_matching(flow: Flow) -> None:
    assert flow.opt_out is not None
    inputs = _inputs()
    register = pd.DataFrame({"opt_out_id": ["O9"], "nhs_number": ["9996543218"]})
    kept, exclusion = exclude(inputs, flow.opt_out, register, REGISTER_PK)
    assert len(kept["care_packages"]) == 6
    assert (exclusion.excluded_rows, exclusion.excluded_people, exclusion.register_size) == (
        0,
        0,
        1,
    )


def _exclusion() -> Exclusion:
    return Exclusion(
        register="national_data_opt_out",
        version="abcdef0123456789",
        register_size=3,
        matched_on="care_packages.nhs_number",
        excluded_rows=3,
        excluded_people=2,
    )


def _output(person_key: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "person_key": person_key,
            "age_band": ["18-64", "65-74", "18-64"],
        }
    )


def _clean_keys() -> list[str]:
    return list(_pseudonymise(pd.Series(["9434765919", "9990000034", "9996543218"])))


def test_clean_output_passes(flow: Flow) -> None:
    result = check_opt_outs(
        flow, _output(_clean_keys()), _register(), _exclusion(), ["record_id"], _pseudonymise
    )
    assert result.control == OPT_OUTS
    assert result.passed
    assert result.findings == ()
    assert result.row_keys == ()
    assert result.summary == ("3 row(s) of 2 opted-out people excluded; none found in the output")
    assert result.rule == (
        "people in 'national_data_opt_out' (version abcdef0123456789) are excluded from "
        "'care_research_extract' by care_packages.nhs_number"
    )
    assert dict(result.counts) == {
        "register_version": "abcdef0123456789",
        "register_size": 3,
        "excluded_rows": 3,
        "excluded_people": 2,
        "opted_out_rows_in_output": 0,
    }


def test_raw_identifier_of_an_opted_out_person_is_found(flow: Flow) -> None:
    keys = _clean_keys()
    keys[1] = " 9990000026"
    result = check_opt_outs(
        flow, _output(keys), _register(), _exclusion(), ["record_id"], _pseudonymise
    )
    assert not result.passed
    assert result.halts
    assert result.findings == (
        "1 output row(s) still hold an opted-out person's identifier or pseudonym",
    )
    assert result.counts["opted_out_rows_in_output"] == 1
    assert result.row_keys == ({"record_id": "r2"},)
    assert "9990000026" not in f"{result!s}{result!r}"


def test_pseudonym_of_an_opted_out_person_is_found(flow: Flow) -> None:
    keys = _clean_keys()
    keys[0] = str(_pseudonymise(pd.Series(["9990000018"]))[0])
    keys[2] = str(_pseudonymise(pd.Series(["9990000099"]))[0])
    result = check_opt_outs(
        flow, _output(keys), _register(), _exclusion(), ["record_id"], _pseudonymise
    )
    assert result.halts
    assert result.counts["opted_out_rows_in_output"] == 2
    assert result.row_keys == ({"record_id": "r1"}, {"record_id": "r3"})
    assert keys[0] not in repr(result)


def test_pseudonyms_are_only_searched_with_the_key(flow: Flow) -> None:
    keys = _clean_keys()
    keys[0] = str(_pseudonymise(pd.Series(["9990000018"]))[0])
    without = check_opt_outs(flow, _output(keys), _register(), _exclusion(), ["record_id"], None)
    assert without.passed
    other_key = check_opt_outs(
        flow,
        _output(keys),
        _register(),
        _exclusion(),
        ["record_id"],
        lambda s: pipelines.masking.keyed_hash(s, b"another key"),
    )
    assert other_key.passed


def test_max_keys_limits_row_keys(flow: Flow) -> None:
    output = _output(["9990000018", "9990000026", "9990000099"])
    result = check_opt_outs(
        flow, output, _register(), _exclusion(), ["record_id"], _pseudonymise, max_keys=2
    )
    assert result.counts["opted_out_rows_in_output"] == 3
    assert result.row_keys == ({"record_id": "r1"}, {"record_id": "r2"})


def test_identifier_in_the_primary_key_is_not_echoed_in_row_keys(flow: Flow) -> None:
    output = pd.DataFrame({"record_id": ["9990000018", "r2"], "age_band": ["18-64", "65-74"]})
    result = check_opt_outs(flow, output, _register(), _exclusion(), ["record_id"], None)
    assert result.halts
    assert "9990000018" not in repr(result)
