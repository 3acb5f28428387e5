"""check_pseudonymisation: direct identifiers leave their department only as keyed hashes."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.masking import keyed_hash
from pipelines.policy.identifiers import check_pseudonymisation
from pipelines.policy.recognise import MIN_KNOWN_LENGTH as MIN_SEARCHED_LENGTH
from pipelines.policy.result import PSEUDONYMISATION

KEY = b"test-key"
DIRECT = "person.id.direct"

# Valid NHS numbers (modulus-11 check digit worked out by hand, see _nhs_check below).
NHS = ["9434765919", "9990000018", "9990000026", "9990000034"]
NHS_NOT_IN_INPUT = "9990000042"
NAMES = ["Alice Example", "Bob Example", "Carol Example", "Dan Example"]

# care_research_extract (DSA-ASC-RES-03, no identified sharing) reads care_packages, whose
# nhs_number and person_name are direct identifiers; its output's primary key is record_id.
CARE = "care_research_extract"


def _nhs_check(nine: str) -> int | None:
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    check = 11 - total % 11
    return {11: 0, 10: None}.get(check, check)


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


def _care_packages(nhs: list[str] = NHS, names: list[str] = NAMES) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "package_id": [f"P{i}" for i in range(1, len(nhs) + 1)],
            "nhs_number": nhs,
            "person_name": names,
            "sex": ["F", "M", "F", "M"][: len(nhs)],
        }
    )


def _care_output(person_key: list[str] | None = None, **columns: list[str]) -> pd.DataFrame:
    hashed = list(keyed_hash(pd.Series(NHS), KEY))
    frame = pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3", "r4"],
            "person_key": person_key if person_key is not None else hashed,
            "age_band": ["18-64", "18-64", "65-74", "65-74"],
            "sex": ["F", "M", "F", "M"],
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def _care_tags(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {c: ["person.id.pseudonymous"] if c == "person_key" else [] for c in frame.columns}


def _check(estate: Estate, output: pd.DataFrame, packages: pd.DataFrame | None = None):
    return check_pseudonymisation(
        estate,
        estate.flows[CARE],
        output,
        {"care_packages": packages if packages is not None else _care_packages()},
        _care_tags(output),
    )


def _assert_no_identifier_in(result: object, values: list[str]) -> None:
    text = f"{result!s}\n{result!r}"
    for value in values:
        assert value not in text
        assert value.replace(" ", "") not in text


def test_the_hand_made_nhs_numbers_are_what_the_tests_claim() -> None:
    for number in [*NHS, NHS_NOT_IN_INPUT]:
        assert _nhs_check(number[:9]) == int(number[9])
    assert _nhs_check("999123456") is None  # remainder 10: no valid number starts so


def test_keyed_hash_output_passes(estate: Estate) -> None:
    output = _care_output()
    output["record_id"] = keyed_hash(pd.Series(["P1", "P2", "P3", "P4"]), KEY)
    result = _check(estate, output)
    assert result.control == PSEUDONYMISATION
    assert result.passed
    assert result.findings == ()
    assert result.row_keys == ()
    assert result.summary == "no identifier values or identifier-shaped values in 4 rows"
    assert result.counts["identified_columns_out"] == 0
    assert result.counts["rows_with_identifiers"] == 0
    assert result.rule == "direct identifiers leave 'social_care' only as keyed-hash pseudonyms"
    _assert_no_identifier_in(result, NHS + NAMES)


def test_direct_identifier_columns_in_counts_columns(estate: Estate) -> None:
    result = _check(estate, _care_output())
    assert result.counts["direct_identifier_columns_in"] == 2


def test_direct_identifier_tag_without_identified_sharing_halts(estate: Estate) -> None:
    output = _care_output()
    tags = _care_tags(output) | {"person_key": [DIRECT]}
    result = check_pseudonymisation(
        estate, estate.flows[CARE], output, {"care_packages": _care_packages()}, tags
    )
    assert not result.passed
    assert result.halts
    assert result.findings == (
        "column(s) person_key carry direct identifiers out of 'social_care', but DSA-ASC-RES-03 "
        "does not permit identified sharing; pseudonymise them (masking: keyed_hash)",
    )
    assert result.counts["identified_columns_out"] == 1
    # The values themselves are hashes, so the data check finds nothing.
    assert result.counts["rows_with_identifiers"] == 0
    assert result.row_keys == ()


def _discharge_inputs() -> dict[str, pd.DataFrame]:
    return {
        "inpatient_episodes": pd.DataFrame(
            {
                "episode_id": ["E1", "E2", "E3", "E4"],
                "nhs_number": NHS,
                "patient_name": NAMES,
                "specialty": ["cardiology", "surgery", "surgery", "geriatrics"],
            }
        )
    }


def _discharge_output(specialty: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "notification_id": ["E1", "E2", "E3", "E4"],
            "nhs_number": NHS,
            "patient_name": NAMES,
            "specialty": specialty or ["cardiology", "surgery", "surgery", "geriatrics"],
        }
    )


DISCHARGE_TAGS = {
    "notification_id": [],
    "nhs_number": [DIRECT],
    "patient_name": [DIRECT],
    "specialty": ["person.special.health"],
}


def test_identified_sharing_allows_the_tagged_columns(estate: Estate) -> None:
    # DSA-HLT-ASC-01 permits identified sharing: raw NHS numbers may go to social care.
    result = check_pseudonymisation(
        estate,
        estate.flows["discharge_notifications"],
        _discharge_output(),
        _discharge_inputs(),
        DISCHARGE_TAGS,
    )
    assert result.passed
    assert result.counts["identified_columns_out"] == 2
    assert result.rule == (
        "direct identifiers leave 'health' only as keyed-hash pseudonyms (DSA-HLT-ASC-01 "
        "permits identified sharing of: nhs_number, patient_name)"
    )


def test_identified_sharing_does_not_excuse_other_columns(estate: Estate) -> None:
    specialty = ["cardiology", NHS[1], "surgery", "geriatrics"]
    result = check_pseudonymisation(
        estate,
        estate.flows["discharge_notifications"],
        _discharge_output(specialty),
        _discharge_inputs(),
        DISCHARGE_TAGS,
    )
    assert result.halts
    assert result.counts["specialty.identifier_values"] == 1
    assert result.counts["specialty.identifier_shaped"] == 0  # counted once, as the stronger kind
    assert "nhs_number.identifier_values" not in result.counts
    assert result.counts["rows_with_identifiers"] == 1
    assert result.row_keys == ({"notification_id": "E2"},)


def test_raw_input_nhs_numbers_halt_with_exact_counts_and_primary_keys(estate: Estate) -> None:
    hashed = list(keyed_hash(pd.Series(NHS), KEY))
    person_key = [NHS[0], hashed[1], f"  {NHS[2]} ", hashed[3]]
    result = _check(estate, _care_output(person_key))
    assert not result.passed
    assert result.halts
    [finding] = result.findings
    assert finding.startswith("column person_key holds 2 value(s) equal to an input identifier")
    assert result.counts["person_key.identifier_values"] == 2
    # A valid raw NHS number is also NHS-number shaped; each value counts once, as known.
    assert result.counts["person_key.identifier_shaped"] == 0
    assert result.counts["rows_with_identifiers"] == 2
    assert result.counts["identified_columns_out"] == 0
    assert result.row_keys == ({"record_id": "r1"}, {"record_id": "r3"})
    _assert_no_identifier_in(result, NHS + NAMES)


def test_exact_match_of_a_name_is_found_without_a_shape(estate: Estate) -> None:
    service = ["home care", "Carol Example", "day care", "home care"]
    result = _check(estate, _care_output(service_type=service))
    assert result.halts
    [finding] = result.findings
    assert finding == "column service_type holds 1 value(s) equal to an input identifier"
    assert result.counts["service_type.identifier_values"] == 1
    assert result.counts["service_type.identifier_shaped"] == 0
    assert result.row_keys == ({"record_id": "r2"},)
    _assert_no_identifier_in(result, NHS + NAMES)


def test_identifiers_in_several_columns_count_each_row_once(estate: Estate) -> None:
    hashed = list(keyed_hash(pd.Series(NHS), KEY))
    person_key = [NHS[0], hashed[1], hashed[2], NHS[3]]
    service = ["Alice Example", "Bob Example", "day care", "home care"]
    result = _check(estate, _care_output(person_key, service_type=service))
    assert len(result.findings) == 2
    assert result.counts["person_key.identifier_values"] == 2
    assert result.counts["service_type.identifier_values"] == 2
    assert result.counts["rows_with_identifiers"] == 3
    assert result.row_keys == ({"record_id": "r1"}, {"record_id": "r2"}, {"record_id": "r4"})
    _assert_no_identifier_in(result, NHS + NAMES)


def test_max_keys_limits_row_keys_but_not_counts(estate: Estate) -> None:
    output = _care_output(list(NHS))
    result = check_pseudonymisation(
        estate,
        estate.flows[CARE],
        output,
        {"care_packages": _care_packages()},
        _care_tags(output),
        max_keys=1,
    )
    assert result.counts["rows_with_identifiers"] == 4
    assert result.row_keys == ({"record_id": "r1"},)


@pytest.mark.parametrize(
    "value",
    [NHS_NOT_IN_INPUT, "999 000 0042", "999 654 3218"],
    ids=["plain", "spaced", "spaced-other"],
)
def test_valid_nhs_number_not_in_the_input_halts_as_shape_match(estate: Estate, value: str) -> None:
    service = ["home care", "day care", value, "home care"]
    result = _check(estate, _care_output(service_type=service))
    assert result.halts
    assert result.counts["service_type.identifier_values"] == 0
    assert result.counts["service_type.identifier_shaped"] == 1
    assert result.counts["rows_with_identifiers"] == 1
    assert result.row_keys == ({"record_id": "r3"},)
    _assert_no_identifier_in(result, [value])


@pytest.mark.parametrize(
    "value",
    ["9990000043", "9434765918", "9991234560", "9991234567", "99900000421", "999000004"],
    ids=[
        "wrong-check",
        "wrong-check-2",
        "remainder-10-a",
        "remainder-10-b",
        "11-digits",
        "9-digits",
    ],
)
def test_numbers_that_are_not_valid_nhs_numbers_are_not_shape_matches(
    estate: Estate, value: str
) -> None:
    service = ["home care", "day care", value, "home care"]
    result = _check(estate, _care_output(service_type=service))
    assert result.passed, result.summary


def test_a_declared_scheme_is_searched_whatever_the_input_holds(estate: Estate) -> None:
    # care_packages.nhs_number declares identifier: nhs_number, so any valid NHS number in the
    # output is an identifier even when this delivery's values do not look like one.
    packages = _care_packages(nhs=["A1", "B2", "C3", "D4"])
    service = ["home care", "day care", NHS_NOT_IN_INPUT, "home care"]
    assert not _check(estate, _care_output(service_type=service), packages).passed


def test_identifier_values_shorter_than_min_length_are_not_searched(estate: Estate) -> None:
    assert MIN_SEARCHED_LENGTH == 6
    names = ["Ann B", "Ann Bo", "Carol Example", "Dan Example"]
    packages = _care_packages(names=names)
    short = _check(estate, _care_output(service_type=["Ann B", "x", "y", "z"]), packages)
    assert short.passed
    long = _check(estate, _care_output(service_type=["x", "Ann Bo", "y", "z"]), packages)
    assert long.halts
    assert long.counts["service_type.identifier_values"] == 1
    assert long.row_keys == ({"record_id": "r2"},)


# National Insurance numbers: households_at_risk reads benefit_claims.ni_number (direct).
NI = ["AB123456C", "CE654321A", "JK112233D", "TW998877B"]


def _households(benefit_type: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    output = pd.DataFrame(
        {
            "household_ref": ["HR-1", "HR-2", "HR-3", "HR-4"],
            "ni_number": NI,
            "benefit_type": benefit_type,
        }
    )
    inputs = {
        "tenancies": pd.DataFrame(
            {"tenancy_id": ["1", "2", "3", "4"], "uprn": ["100000000001"] * 4}
        ),
        "benefit_claims": pd.DataFrame(
            {"claim_id": ["C1", "C2", "C3", "C4"], "ni_number": NI, "claimant_name": ["N"] * 4}
        ),
    }
    return output, inputs


HOUSEHOLD_TAGS = {"household_ref": [], "ni_number": [DIRECT], "benefit_type": []}


@pytest.mark.parametrize(
    ("value", "shaped"),
    [
        ("JK123456A", True),
        ("JK 12 34 56 A", True),
        ("BG123456A", False),  # prefix never issued
        ("ZZ123456A", False),
        ("DA123456A", False),  # D is not a valid first letter
        ("JK123456E", False),  # suffix is A-D
        ("JK12345A", False),
    ],
)
def test_ni_number_shape(estate: Estate, value: str, shaped: bool) -> None:
    output, inputs = _households(["housing benefit", value, "universal credit", "pension"])
    result = check_pseudonymisation(
        estate, estate.flows["households_at_risk"], output, inputs, HOUSEHOLD_TAGS
    )
    if shaped:
        assert result.halts
        assert result.counts["benefit_type.identifier_values"] == 0
        assert result.counts["benefit_type.identifier_shaped"] == 1
        assert result.findings == (
            "column benefit_type holds 1 value(s) shaped like an identifier (National Insurance "
            "number)",
        )
        assert result.row_keys == ({"household_ref": "HR-2"},)
        _assert_no_identifier_in(result, [value, *NI])
    else:
        assert result.passed, result.summary


def test_identifier_in_the_primary_key_is_not_echoed_in_row_keys(estate: Estate) -> None:
    output = _care_output()
    output["record_id"] = NHS
    result = _check(estate, output)
    assert result.halts
    assert result.counts["record_id.identifier_values"] == 4
    _assert_no_identifier_in(result, NHS)
