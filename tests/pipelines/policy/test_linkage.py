"""Linking people by identifier: the lookups equal a pandas merge on (scheme, value)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.policy.linkage import People, person_of

SCHEMES = st.sampled_from(["nhs_number", "ni_number", "email"])
VALUES = st.sampled_from(["9434765919", "JK123456A", "a@b.example", "", "x\x1fy", "é"])


@st.composite
def ids_and_rows(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs = draw(st.lists(st.tuples(SCHEMES, VALUES), max_size=12, unique=True))
    ids = pd.DataFrame(
        {
            "scheme": [s for s, _ in pairs],
            "value": [v for _, v in pairs],
            "person": draw(st.lists(st.integers(0, 5), min_size=len(pairs), max_size=len(pairs))),
        }
    ).astype({"scheme": object, "value": object, "person": "int64"})
    rows = draw(st.lists(st.tuples(st.integers(0, 8), SCHEMES, VALUES), max_size=25))
    frame = pd.DataFrame(rows, columns=["row", "scheme", "value"]).astype(
        {"row": "int64", "scheme": object, "value": object}
    )
    return frame, ids


@settings(max_examples=200, deadline=None)
@given(ids_and_rows())
def test_owners_equal_the_merge(case: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, ids = case
    expected = frame.merge(ids, on=["scheme", "value"]).groupby("row")["person"].min()
    got = People.owners(frame, ids)
    assert got.to_dict() == expected.to_dict()
    merged = frame.merge(ids, on=["scheme", "value"], how="left")["person"]
    assert person_of(frame["scheme"], frame["value"], ids).tolist() == [
        -1 if pd.isna(p) else int(p) for p in merged
    ]


@settings(max_examples=100, deadline=None)
@given(ids_and_rows())
def test_linking_reaches_what_repeated_merges_reach(
    case: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    frame, ids = case
    ids = ids.drop_duplicates(["scheme", "value"]).reset_index(drop=True)
    seeds = People(ids)
    linked = seeds.link([frame])
    reference = ids
    if frame["scheme"].nunique() > 1:
        for _ in range(50):
            owner = frame.merge(reference, on=["scheme", "value"]).groupby("row")["person"].min()
            tied = frame.merge(owner.rename("person"), left_on="row", right_index=True)
            grown = pd.concat([reference, tied[["scheme", "value", "person"]]], ignore_index=True)
            grown = grown.drop_duplicates(["scheme", "value"])
            if len(grown) == len(reference):
                break
            reference = grown.reset_index(drop=True)
    key = ["scheme", "value", "person"]
    assert sorted(map(tuple, linked.ids[key].to_numpy().tolist())) == sorted(
        map(tuple, reference[key].to_numpy().tolist())
    )
