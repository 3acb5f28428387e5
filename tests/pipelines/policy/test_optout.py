"""Opt-outs: the register's version, excluding opted-out people by every route the estate can
link, and checking none remain in any form. Expected answers come from the oracle in
``tests/fixtures/linked.py`` (python-stdnum and plain Python), not from tagtrail's recogniser."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gb import nhs

import pipelines.masking
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.model import Flow
from pipelines.policy.optout import (
    Exclusion,
    OptedOut,
    Route,
    check_opt_outs,
    exclude,
    register_version,
)
from pipelines.policy.result import OPT_OUTS, ControlResult

from ...fixtures.linked import ESTATE, Linked, alnum, make

KEY = b"k"
REGISTER_PK = ["opt_out_id"]


def _pseudonymise(values: pd.Series) -> pd.Series:
    return pipelines.masking.keyed_hash(values, KEY)


DEMO = load_estate(DEMO_ESTATE)
LINKED = load_estate(ESTATE)


@pytest.fixture(scope="module")
def flow() -> Flow:
    # care_research_extract: register national_data_opt_out (nhs_number); care_packages holds
    # NHS numbers.
    return DEMO.flows["care_research_extract"]


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


def _exclude(
    estate: Estate, flow: Flow, inputs: dict[str, pd.DataFrame], key: bytes | None = KEY
) -> tuple[dict[str, pd.DataFrame], Exclusion, OptedOut]:
    pseudonymise = (lambda s: pipelines.masking.keyed_hash(s, key)) if key else None
    return exclude(estate, flow, inputs, REGISTER_PK, pseudonymise)


def test_exclude_removes_exactly_the_opted_out_rows(flow: Flow) -> None:
    inputs = _inputs()
    kept, exclusion, _ = _exclude(DEMO, flow, inputs)
    assert list(kept["care_packages"]["package_id"]) == ["P1", "P5", "P6"]
    assert list(kept["care_packages"].index) == [0, 1, 2]
    assert exclusion == Exclusion(
        register="national_data_opt_out",
        version=register_version(_register(), REGISTER_PK),
        register_size=3,
        matched_on="care_packages.nhs_number",
        excluded_rows=3,
        excluded_people=2,
        routes=(Route("care_packages", ("nhs_number",), 3),),
    )


def test_exclude_leaves_the_register_and_the_callers_frames_alone(flow: Flow) -> None:
    inputs = _inputs()
    packages, register = inputs["care_packages"], inputs["national_data_opt_out"]
    kept, _, _ = _exclude(DEMO, flow, inputs)
    assert kept["national_data_opt_out"] is register
    assert set(kept) == {"care_packages", "national_data_opt_out"}
    assert inputs["care_packages"] is packages
    assert len(packages) == 6


def test_exclude_with_nobody_matching(flow: Flow) -> None:
    inputs = _inputs()
    inputs["national_data_opt_out"] = pd.DataFrame(
        {"opt_out_id": ["O9"], "nhs_number": ["9996543218"]}
    )
    kept, exclusion, _ = _exclude(DEMO, flow, inputs)
    assert len(kept["care_packages"]) == 6
    assert (exclusion.excluded_rows, exclusion.excluded_people, exclusion.register_size) == (
        0,
        0,
        1,
    )


# --- every route: the linked estate -----------------------------------------------------------


@pytest.fixture(scope="module")
def linked() -> Linked:
    return make()


def _linked_inputs(data: Linked) -> dict[str, pd.DataFrame]:
    return {
        "claims": data.claims,
        "admissions": data.admissions,
        "person_index": data.person_index,
        "opt_out_register": data.register,
    }


def test_an_opted_out_person_is_left_out_of_every_input_by_any_identifier(linked: Linked) -> None:
    flow = LINKED.flows["claims_research"]
    kept, exclusion, _ = _exclude(LINKED, flow, _linked_inputs(linked))
    gone = {
        name: set(frame[key]) - set(kept[name][key])
        for name, frame, key in (
            ("claims", linked.claims, "claim_id"),
            ("admissions", linked.admissions, "admission_id"),
            ("person_index", linked.person_index, "index_id"),
        )
    }
    assert gone["claims"] == linked.excluded_claims()  # known to benefits by NI number only
    assert gone["admissions"] == linked.excluded_admissions()
    assert gone["person_index"] == linked.excluded_index_rows()
    assert linked.excluded_claims(), "the population must put opted-out people in claims"
    routes = {r.input: r for r in exclusion.routes}
    assert routes["claims"].columns == ("ni_number", "partner_ni_number")
    assert {n: r.excluded_rows for n, r in routes.items()} == {n: len(g) for n, g in gone.items()}
    assert exclusion.excluded_rows == sum(map(len, gone.values()))
    assert exclusion.register_size == len(linked.opted_nhs)
    assert exclusion.excluded_people == len(linked.opted_nhs)  # every one is in the index


NHS_POOL = ["9434765919", "9990000018", "9990000026", "4010232137", "9876543210"]
SEPARATORS = st.sampled_from(["", " ", "-", "  ", " - "])  # what python-stdnum strips


@st.composite
def written_nhs(draw: st.DrawFn) -> str:
    number = draw(st.sampled_from(NHS_POOL))
    a, b = draw(SEPARATORS), draw(SEPARATORS)
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return f"{pad}{number[:3]}{a}{number[3:6]}{b}{number[6:]}{pad}"


@settings(max_examples=60, deadline=None)
@given(
    register=st.lists(written_nhs(), min_size=1, max_size=4),
    held=st.lists(st.one_of(written_nhs(), st.none()), min_size=1, max_size=12),
)
def test_register_and_input_match_however_each_writes_the_number(
    register: list[str], held: list[str | None]
) -> None:
    flow = DEMO.flows["care_research_extract"]
    inputs = {
        "care_packages": pd.DataFrame(
            {"package_id": [f"P{i}" for i in range(len(held))], "nhs_number": held}
        ),
        "national_data_opt_out": pd.DataFrame(
            {"opt_out_id": [f"O{i}" for i in range(len(register))], "nhs_number": register}
        ),
    }
    kept, exclusion, _ = _exclude(DEMO, flow, inputs)
    opted = {nhs.compact(v) for v in register}
    expected = [f"P{i}" for i, v in enumerate(held) if v is None or nhs.compact(v) not in opted]
    assert list(kept["care_packages"]["package_id"]) == expected
    assert exclusion.register_size == len(opted)


# --- the check: every form, every pseudonym ---------------------------------------------------


def _exclusion() -> Exclusion:
    return Exclusion(
        register="national_data_opt_out",
        version="abcdef0123456789",
        register_size=3,
        matched_on="care_packages.nhs_number",
        excluded_rows=3,
        excluded_people=2,
        routes=(Route("care_packages", ("nhs_number",), 3),),
    )


def _opted(flow: Flow, key: bytes | None = KEY) -> OptedOut:
    return _exclude(DEMO, flow, _inputs(), key)[2]


def _output(person_key: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "person_key": person_key,
            "age_band": ["18-64", "65-74", "18-64"],
        }
    )


def _hmac(value: str, key: bytes = KEY) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _clean_keys() -> list[str]:
    return [_hmac(v) for v in ("9434765919", "9990000034", "9996543218")]


def _check(flow: Flow, output: pd.DataFrame, key: bytes | None = KEY, **kw: int) -> ControlResult:
    return check_opt_outs(flow, output, _opted(flow, key), _exclusion(), ["record_id"], **kw)


def test_clean_output_passes(flow: Flow) -> None:
    result = _check(flow, _output(_clean_keys()))
    assert result.control == OPT_OUTS
    assert result.passed
    assert result.findings == ()
    assert result.row_keys == ()
    assert "excluded from 'care_research_extract'" in result.rule
    assert "care_packages.nhs_number" in result.rule
    assert dict(result.counts) == {
        "register_version": "abcdef0123456789",
        "register_size": 3,
        "excluded_rows": 3,
        "excluded_people": 2,
        "care_packages.excluded_rows": 3,
        "opted_out_rows_in_output": 0,
    }


@pytest.mark.parametrize(
    "leaked",
    [
        " 9990000026",
        "999-000-0026",
        "999 000 0026",
        "Referred with 999 000 0026 in March",
        _hmac("9990000026"),  # keyed pseudonym of the normal form
        _hmac("9990000018 "),  # of the form the input wrote (trailing space)
        _hmac("999 000 0026"),  # of a display form
        _hmac("9990000099")[:16],  # truncated to 16 hex characters
        _hmac("9990000099").upper(),
        base64.b64encode(bytes.fromhex(_hmac("9990000099"))).decode(),
        hashlib.sha256(b"9990000026").hexdigest(),  # unkeyed digest: anyone can compute it
        hashlib.md5(b"9990000018").hexdigest()[:20],
    ],
)
def test_an_opted_out_person_is_found_in_any_form(flow: Flow, leaked: str) -> None:
    keys = _clean_keys()
    keys[1] = leaked
    result = _check(flow, _output(keys))
    assert result.halts
    assert result.counts["opted_out_rows_in_output"] == 1
    assert result.row_keys == ({"record_id": "r2"},)
    assert "person_key" in result.findings[0]
    assert leaked.strip() not in f"{result!s}{result!r}"


def test_pseudonyms_are_only_searched_with_the_key(flow: Flow) -> None:
    keys = _clean_keys()
    keys[0] = _hmac("9990000018")
    assert _check(flow, _output(keys), key=None).passed
    other = _hmac("9990000018", b"another key")
    assert _check(flow, _output([other, *_clean_keys()[1:]])).passed


def test_max_keys_limits_row_keys(flow: Flow) -> None:
    result = _check(flow, _output(["9990000018", "9990000026", "9990000099"]), max_keys=2)
    assert result.counts["opted_out_rows_in_output"] == 3
    assert result.row_keys == ({"record_id": "r1"}, {"record_id": "r2"})


def test_identifier_in_the_primary_key_is_not_echoed_in_row_keys(flow: Flow) -> None:
    output = pd.DataFrame({"record_id": ["9990000018", "r2"], "age_band": ["18-64", "65-74"]})
    result = _check(flow, output)
    assert result.halts
    assert "9990000018" not in repr(result)


def test_linked_identifiers_are_searched_and_nobody_else_is_flagged(linked: Linked) -> None:
    flow = LINKED.flows["welfare_contacts"]
    kept, exclusion, opted = _exclude(LINKED, flow, _linked_inputs(linked))
    output = kept["claims"][["claim_id", "ni_number", "notes"]]
    result = check_opt_outs(flow, output, opted, exclusion, ["claim_id"], max_keys=1000)
    named = linked.notes_naming_the_opted_out()
    assert named, "the population must have notes naming opted-out people"
    assert result.counts["opted_out_rows_in_output"] == len(named)
    assert {k["claim_id"] for k in result.row_keys} == named
    # every other claimant's NI number is in the output, in several writings: none is flagged
    assert len(output) > len(named) + 100


def test_pseudonym_of_an_ni_number_the_register_never_held_is_found(linked: Linked) -> None:
    flow = LINKED.flows["claims_research"]
    _, exclusion, opted = _exclude(LINKED, flow, _linked_inputs(linked))
    ni = sorted(linked.opted_ni)[0]
    written = next(v for v in linked.person_index["ni_number"] if alnum(v) == ni)
    output = pd.DataFrame({"record_id": ["r1", "r2"], "person_key": [_hmac(written), _hmac("x")]})
    result = check_opt_outs(flow, output, opted, exclusion, ["record_id"])
    assert result.counts["opted_out_rows_in_output"] == 1
    assert result.row_keys == ({"record_id": "r1"},)
