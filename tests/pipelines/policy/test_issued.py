"""Keyed pseudonyms this run issued: not searched as identifiers, compared exactly for opt-outs.

The shortcut must never change a verdict: every check here is run with and without it, and the
leaks are planted with digests computed independently (hashlib, hmac).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from lineage.propagation import propagate
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.defect_transforms import care_in_text, care_unsalted
from pipelines.estate import Estate, load_estate
from pipelines.policy.identifiers import check_pseudonymisation
from pipelines.policy.issued import Issued
from pipelines.policy.optout import check_opt_outs, exclude
from pipelines.policy.result import ControlResult
from pipelines.transform import TransformContext

KEY = b"issued-test-key"
FLOW = "care_research_extract"


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


def _nhs(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        nine = f"999{rng.integers(0, 1_000_000):06d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(nine)) % 11
        if check != 10 and nine + str(check % 11) not in out:
            out.append(nine + str(check % 11))
    return out


def _inputs(people: int = 60) -> dict[str, pd.DataFrame]:
    nhs = _nhs(people)
    rows = people * 2
    care = pd.DataFrame(
        {
            "package_id": [f"CP{i}" for i in range(rows)],
            "nhs_number": [nhs[i % people] for i in range(rows)],
            "person_name": [f"Person {i % people}" for i in range(rows)],
            "date_of_birth": pd.Timestamp("1950-01-01")
            + pd.to_timedelta([(i % people) * 5 for i in range(rows)], unit="D"),
            "sex": ["F", "M"] * people,
            "postcode": ["TT1 1AB"] * rows,
            "ethnicity": ["A"] * rows,
            "primary_support_reason": ["Physical support"] * rows,
            "service_type": ["Home care"] * rows,
            "weekly_cost_gbp": [100.0] * rows,
            "start_date": pd.Timestamp("2025-01-01"),
            "end_date": pd.NaT,
        }
    ).astype({"package_id": "string", "nhs_number": "string", "person_name": "string"})
    register = pd.DataFrame(
        {
            "opt_out_id": ["OO1", "OO2"],
            "nhs_number": nhs[:2],
            "recorded_on": pd.Timestamp("2025-01-01"),
        }
    )
    return {"care_packages": care, "national_data_opt_out": register}


def _context(estate: Estate) -> TransformContext:
    flow = estate.flows[FLOW]
    return TransformContext(
        flow=FLOW,
        as_of=dt.date(2026, 6, 1),
        k_anonymity=2,
        k_rule=flow.disclosure.k_anonymity if flow.disclosure else None,
        _key=KEY,
    )


def _tags(estate: Estate) -> dict[str, tuple[str, ...]]:
    computed = propagate(estate)
    return {c: computed[(FLOW, c)].tags for c in estate.datasets[FLOW].column_names}


def test_pseudonymise_records_exactly_what_it_returned(estate: Estate) -> None:
    ctx = _context(estate)
    values = pd.Series(["a", None, "b"], dtype="string")
    out = ctx.pseudonymise(values)
    expected = hmac.new(KEY, b"a", hashlib.sha256).hexdigest()[:32]
    assert out[0] == expected
    probe = pd.Series([expected, expected.upper(), expected[:16], "a", None], dtype="string")
    assert ctx.issued.mask(probe).tolist() == [True, False, False, False, False]
    assert not Issued().mask(probe).any()


def test_issued_ignores_columns_that_hold_no_text() -> None:
    issued = Issued()
    issued.add(pd.Series(["1", "2"], dtype="string"))
    assert not issued.mask(pd.Series([1, 2])).any()
    assert not issued.mask(pd.Series([1, "2"], dtype=object)).any()
    assert issued.mask(pd.Series(["1", "x"], dtype=object)).tolist() == [True, False]


def _planted(frame: pd.DataFrame, column: str, rows: list[int], values: list[str]) -> pd.DataFrame:
    planted = frame.copy()
    series = planted[column].astype("string")
    series.iloc[rows] = values
    planted[column] = series
    return planted


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_digests_hidden_among_issued_pseudonyms_are_found(estate: Estate, algorithm: str) -> None:
    inputs = _inputs()
    ctx = _context(estate)
    care = inputs["care_packages"]
    out = estate.transforms[FLOW](ctx, care)
    rows = [0, 3, 5]
    digests = [
        hashlib.new(algorithm, care["nhs_number"].iloc[i].encode()).hexdigest()[:32] for i in rows
    ]
    fast, slow = _both_ways(estate, _planted(out, "person_key", rows, digests), care, ctx)
    assert not fast.passed
    assert fast.counts == slow.counts
    assert fast.counts["person_key.identifier_digests"] == len(rows)
    clean, full = _both_ways(estate, out, care, ctx)
    assert clean.passed
    assert clean.counts == full.counts


def _both_ways(
    estate: Estate, out: pd.DataFrame, care: pd.DataFrame, ctx: TransformContext
) -> tuple[ControlResult, ControlResult]:
    """The pseudonymisation check with what ``ctx`` issued left out, and searching everything."""
    flow, tags = estate.flows[FLOW], _tags(estate)
    fast = check_pseudonymisation(
        estate, flow, out, {"care_packages": care}, tags, issued=ctx.issued
    )
    return fast, check_pseudonymisation(estate, flow, out, {"care_packages": care}, tags)


@pytest.mark.parametrize("defect", [care_unsalted, care_in_text])
def test_a_transform_that_hashes_its_own_way_is_searched_in_full(
    estate: Estate, defect: object
) -> None:
    inputs = _inputs()
    ctx = _context(estate)
    care = inputs["care_packages"]
    out = defect(ctx, care)  # type: ignore[operator]
    fast, slow = _both_ways(estate, out, care, ctx)
    assert not fast.passed
    assert fast.counts == slow.counts
    assert fast.counts["rows_with_identifiers"] == len(out)


def test_an_opted_out_persons_issued_pseudonym_is_found_exactly(estate: Estate) -> None:
    inputs = _inputs()
    flow = estate.flows[FLOW]
    ctx = _context(estate)
    _, exclusion, opted = exclude(estate, flow, inputs, ("opt_out_id",), ctx.pseudonymise)
    care = inputs["care_packages"]  # not excluded: the opted-out people reach the transform
    out = estate.transforms[FLOW](ctx, care)
    pk = estate.datasets[FLOW].primary_key
    opted_nhs = set(inputs["national_data_opt_out"]["nhs_number"])
    expected_keys = {hmac.new(KEY, n.encode(), hashlib.sha256).hexdigest()[:32] for n in opted_nhs}
    expected = int(out["person_key"].isin(expected_keys).sum())
    assert expected > 0
    fast = check_opt_outs(flow, out, opted, exclusion, pk, issued=ctx.issued)
    slow = check_opt_outs(flow, out, opted, exclusion, pk)
    assert fast.counts == slow.counts
    assert fast.counts["opted_out_rows_in_output"] == expected
    assert not fast.passed
