"""Identifier recognition, checked against independent calculations: python-stdnum for NHS numbers,
hashlib for digests, and a per-value oracle written without the component's vectorised code."""

from __future__ import annotations

import base64
import hashlib
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gb import nhs

from pipelines.demo.identifiers import nhs_numbers
from pipelines.policy.recognise import SCHEMES, Known, learn, nhs_valid, search

NHS = nhs_numbers(np.random.default_rng(7), 6)
NHS_SCHEME = SCHEMES["nhs_number"]
NI_SCHEME = SCHEMES["ni_number"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.text("0123456789 -", min_size=8, max_size=12), min_size=1, max_size=40))
def test_nhs_check_digits_agree_with_python_stdnum(values: list[str]) -> None:
    ours = np.asarray(nhs_valid(pa.array(values)), dtype=bool)
    theirs = [len(v) == 10 and v.isdigit() and nhs.is_valid(v) for v in values]
    assert ours.tolist() == theirs


def test_every_valid_nhs_number_of_a_range_is_recognised() -> None:
    candidates = [f"999000{i:04d}" for i in range(10_000)]
    ours = np.asarray(nhs_valid(pa.array(candidates)), dtype=bool)
    assert ours.tolist() == [nhs.is_valid(c) for c in candidates]
    assert 800 < ours.sum() < 1000  # about 10 in 11 prefixes have a check digit


@pytest.mark.parametrize(
    "form",
    [
        lambda v: v,
        lambda v: f"{v[:3]} {v[3:6]} {v[6:]}",
        lambda v: f"{v[:3]}-{v[3:6]}-{v[6:]}",
        lambda v: f"{v[:3]}.{v[3:6]}.{v[6:]}",
        lambda v: f" {v[:3]}/{v[3:6]}/{v[6:]} ",
        lambda v: f"{v[:3]} - {v[3:6]}  {v[6:]}",
    ],
    ids=["plain", "spaces", "dashes", "dots", "slashes", "mixed"],
)
def test_an_nhs_number_is_known_in_any_written_form(form: object) -> None:
    known = Known()
    known.add(pd.Series(NHS), NHS_SCHEME)
    written = pd.Series([form(v) for v in NHS] + ["not one"])  # type: ignore[operator]
    assert known.matches(written).tolist() == [True] * len(NHS) + [False]


def test_an_nhs_number_stored_as_a_number_is_known() -> None:
    known = Known()
    known.add(pd.Series(NHS), NHS_SCHEME)
    assert known.matches(pd.Series([int(v) for v in NHS])).all()
    assert known.matches(pd.Series([float(v) for v in NHS])).all()


def test_ni_numbers_in_any_case_and_spacing() -> None:
    known = Known()
    known.add(pd.Series(["JK123456A"]), NI_SCHEME)
    written = pd.Series(["jk123456a", "JK 12 34 56 A", "jk-12-34-56-a", "JK123456B"])
    assert known.matches(written).tolist() == [True, True, True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seen: {a} {b} {c} at the clinic", True),
        ("NHS no.{a}-{b}-{c};", True),
        ("ref {a}{b}{c}", True),
        ("{a}{b}{c}9 is too long", False),
        ("no number here", False),
    ],
)
def test_a_known_nhs_number_inside_text(text: str, expected: bool) -> None:
    value = NHS[0]
    known = Known()
    known.add(pd.Series([value]), NHS_SCHEME)
    filled = text.format(a=value[:3], b=value[3:6], c=value[6:])
    assert search(pd.Series([filled]), known).embedded.tolist() == [expected]


def test_e_mail_addresses_inside_text_and_in_other_case() -> None:
    known = Known()
    known.add(pd.Series(["ann.example@mail.example.org"]), SCHEMES["email"])
    found = search(
        pd.Series(["write to Ann.Example@Mail.Example.org today", "ANN.EXAMPLE@MAIL.EXAMPLE.ORG"]),
        known,
    )
    assert found.known.tolist() == [False, True]  # the whole value, in another case
    assert found.embedded.tolist()[0] and found.any.all()


def _digest_forms(value: str) -> list[str]:
    """Every digest form the issue names, computed independently with hashlib and base64."""
    forms = []
    for name in ("md5", "sha1", "sha256", "sha512"):
        raw = hashlib.new(name, value.encode()).digest()
        forms += [raw.hex(), raw.hex().upper(), raw.hex()[:16], raw.hex()[:23].upper()]
        forms += [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
        forms += [base64.b64encode(raw).decode().rstrip("=")]
    return forms


def test_unkeyed_digests_of_known_identifiers_are_recognised() -> None:
    known = Known()
    known.add(pd.Series(NHS[:3]), NHS_SCHEME)
    forms = [f for v in NHS[:3] for f in _digest_forms(v)]
    assert known.digested(pd.Series(forms)).all()


def test_what_is_not_an_unkeyed_digest_of_a_known_identifier() -> None:
    known = Known()
    known.add(pd.Series(NHS[:3]), NHS_SCHEME)
    keyed = [hashlib.sha256(b"secret-key" + v.encode()).hexdigest() for v in NHS[:3]]
    other = [hashlib.sha256(v.encode()).hexdigest() for v in NHS[3:]]  # not known here
    short = [hashlib.sha256(NHS[0].encode()).hexdigest()[:15]]  # under 16 hex characters
    assert not known.digested(pd.Series(keyed + other + short)).any()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(NHS) - 1),
            st.sampled_from(["plain", "spaced", "text", "sha1", "sha256-prefix", "noise"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_search_agrees_with_a_per_value_oracle(picks: list[tuple[int, str]]) -> None:
    known_values = NHS[:4]
    known = Known()
    known.add(pd.Series(known_values), NHS_SCHEME)
    written: list[str] = []
    for index, how in picks:
        v = NHS[index]
        written.append(
            {
                "plain": v,
                "spaced": f"{v[:3]} {v[3:6]} {v[6:]}",
                "text": f"client {v} moved",
                "sha1": hashlib.sha1(v.encode()).hexdigest(),
                "sha256-prefix": hashlib.sha256(v.encode()).hexdigest()[:20],
                "noise": f"ref-{index}",
            }[how]
        )
    found = search(pd.Series(written), known).any
    assert found.tolist() == [_oracle(w, known_values) for w in written]


def _oracle(value: str, known: list[str]) -> bool:
    """Whether ``value`` holds a known NHS number in some form, decided one value at a time."""
    compact = re.sub(r"[\s\-./]", "", value)
    if compact in known:
        return True
    if any(
        k in re.sub(r"[\s\-./]", "", m)
        for m in re.findall(r"[\d\s\-./]{10,}", value)
        for k in known
    ):
        return True
    for k in known:
        for name in ("md5", "sha1", "sha256", "sha512"):
            digest = hashlib.new(name, k.encode()).hexdigest()
            if len(value) >= 16 and digest.startswith(value.lower()):
                return True
    return False


def test_learning_a_column_scheme() -> None:
    assert learn(pd.Series(NHS)) is NHS_SCHEME
    assert learn(pd.Series(["JK123456A", "JK 12 34 56 B", None])) is NI_SCHEME
    assert learn(pd.Series(["home care", "day care"])) is None


def test_a_column_read_in_several_chunks_is_searched_whole() -> None:
    known = Known()
    known.add(pd.Series(NHS), NHS_SCHEME)
    chunks = pa.chunked_array([[NHS[0], "x", "y"], [f"see {NHS[1]}", "z", NHS[2]]])
    column = pd.Series(pd.arrays.ArrowStringArray(chunks))
    found = search(column, known, [NHS_SCHEME])
    assert found.any.tolist() == [True, False, False, True, False, True]
