"""Local suppression: blank quasi-identifiers of rows in small classes, then drop what is left."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pandas as pd
import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.masking import class_sizes, local_suppression
from pipelines.model import KAnonymityRule
from pipelines.transform import TransformContext

QIS = ["age_band", "sex", "district"]


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", *QIS], dtype=object)


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [tuple(r) for r in clean.to_numpy().tolist()]


def _k_by_counter(frame: pd.DataFrame, qis: list[str], unit: str | None = None) -> int:
    """The smallest class, counted independently of the code under test."""
    members: dict[tuple[object, ...], set[object]] = {}
    sizes: Counter[tuple[object, ...]] = Counter()
    for i, row in enumerate(frame.astype(object).where(frame.notna(), None).to_dict("records")):
        key = tuple(row[q] for q in qis)
        sizes[key] += 1
        members.setdefault(key, set()).add(row[unit] if unit else i)
    if unit:
        return min(len(m) for m in members.values())
    return min(sizes.values())


def test_class_sizes_counts_rows_and_distinct_units() -> None:
    frame = pd.DataFrame(
        {
            "person": ["p1", "p1", "p2", "p3", "p4"],
            "age_band": ["18-64", "18-64", "18-64", "65-74", "65-74"],
            "sex": ["F", "F", "F", "M", None],
        }
    )
    assert class_sizes(frame, ["age_band", "sex"]).tolist() == [3, 3, 3, 1, 1]
    assert class_sizes(frame, ["age_band", "sex"], unit="person").tolist() == [2, 2, 2, 1, 1]
    assert class_sizes(frame, ["age_band"], unit="person").tolist() == [2, 2, 2, 2, 2]


def test_class_sizes_treats_missing_values_as_one_value() -> None:
    frame = pd.DataFrame({"a": ["x", None, pd.NA, float("nan")], "b": ["1", "1", "1", "1"]})
    assert class_sizes(frame, ["a", "b"]).tolist() == [1, 3, 3, 3]


def test_single_suppress_column_blanks_then_drops() -> None:
    frame = _frame(
        [
            ("r1", "18-64", "F", "TT1"),
            ("r2", "18-64", "F", "TT1"),  # class of 2: untouched
            ("r3", "18-64", "M", "TT1"),
            ("r4", "18-64", "M", "TT2"),  # r3, r4 alone; blanking district makes a class of 2
            ("r5", "65-74", "F", "TT3"),  # alone even with district blank: dropped
            ("r6", "75-84", "M", "TT1"),
            ("r7", "75-84", "M", "TT1"),  # class of 2: untouched
        ]
    )
    out = local_suppression(frame, QIS, 2, suppress=["district"])
    assert _rows(out) == [
        ("r1", "18-64", "F", "TT1"),
        ("r2", "18-64", "F", "TT1"),
        ("r3", "18-64", "M", None),
        ("r4", "18-64", "M", None),
        ("r6", "75-84", "M", "TT1"),
        ("r7", "75-84", "M", "TT1"),
    ]
    assert list(out.index) == list(range(6))
    assert _k_by_counter(out, QIS) >= 2
    # The input is not modified.
    assert frame.loc[2, "district"] == "TT1"
    assert len(frame) == 7


def test_suppress_columns_are_blanked_in_order() -> None:
    frame = _frame(
        [
            ("a1", "18-64", "F", "TT1"),
            ("a2", "18-64", "F", "TT1"),
            ("a3", "18-64", "F", "TT1"),  # class of 3: untouched
            ("b1", "18-64", "M", "TT1"),
            ("b2", "18-64", "M", "TT2"),
            ("b3", "18-64", "F", "TT2"),  # district blank: (M, -) 2 and (F, -) 1, still small;
            # then sex blank: (18-64, -, -) 3, kept
            ("c1", "65-74", "M", "TT1"),  # alone whatever is blanked: dropped
        ]
    )
    out = local_suppression(frame, QIS, 3, suppress=["district", "sex"])
    assert _rows(out) == [
        ("a1", "18-64", "F", "TT1"),
        ("a2", "18-64", "F", "TT1"),
        ("a3", "18-64", "F", "TT1"),
        ("b1", "18-64", None, None),
        ("b2", "18-64", None, None),
        ("b3", "18-64", None, None),
    ]
    assert _k_by_counter(out, QIS) >= 3


def test_blanking_stops_once_nothing_is_small() -> None:
    frame = _frame(
        [
            ("r1", "18-64", "F", "TT1"),
            ("r2", "18-64", "F", "TT2"),
            ("r3", "65-74", "M", "TT1"),
            ("r4", "65-74", "M", "TT1"),
        ]
    )
    out = local_suppression(frame, QIS, 2, suppress=["district", "sex"])
    # r1 and r2 lose their district; sex is never blanked because nothing is small any more.
    assert _rows(out) == [
        ("r1", "18-64", "F", None),
        ("r2", "18-64", "F", None),
        ("r3", "65-74", "M", "TT1"),
        ("r4", "65-74", "M", "TT1"),
    ]


def test_without_suppress_columns_small_classes_are_dropped() -> None:
    frame = _frame(
        [
            ("r1", "18-64", "F", "TT1"),
            ("r2", "18-64", "F", "TT1"),
            ("r3", "18-64", "M", "TT1"),
        ]
    )
    out = local_suppression(frame, QIS, 2)
    assert out["id"].tolist() == ["r1", "r2"]


def test_already_k_anonymous_frame_is_unchanged() -> None:
    frame = _frame([("r1", "18-64", "F", "TT1"), ("r2", "18-64", "F", "TT1")])
    out = local_suppression(frame, QIS, 2, suppress=["district"])
    pd.testing.assert_frame_equal(out, frame)


def test_unit_counts_distinct_people() -> None:
    frame = pd.DataFrame(
        {
            "person": ["p1", "p1", "p2", "p3", "p4", "p4"],
            "age_band": ["18-64"] * 6,
            "sex": ["F", "F", "M", "M", "F", "M"],
        }
    )
    # Counting rows, (18-64, F) has 3 and (18-64, M) has 3: both pass k=3.
    by_rows = local_suppression(frame, ["age_band", "sex"], 3)
    assert len(by_rows) == 6
    # Counting people, (F) holds p1 and p4, (M) p2, p3 and p4: only M passes.
    by_people = local_suppression(frame, ["age_band", "sex"], 3, unit="person")
    assert by_people["person"].tolist() == ["p2", "p3", "p4"]
    assert by_people["sex"].tolist() == ["M", "M", "M"]
    assert _k_by_counter(by_people, ["age_band", "sex"], unit="person") >= 3


def test_unit_with_blanking_reaches_k_people() -> None:
    frame = pd.DataFrame(
        {
            "person": ["p1", "p1", "p2", "p3", "p4"],
            "age_band": ["18-64"] * 5,
            "sex": ["F", "F", "F", "M", "M"],
            "district": ["TT1", "TT2", "TT3", "TT1", "TT1"],
        }
    )
    out = local_suppression(frame, QIS, 2, suppress=["district"], unit="person")
    # (F, TT1/TT2/TT3) each hold one person: district blanked, (F, -) holds p1 and p2.
    assert _rows(out) == [
        ("p1", "18-64", "F", None),
        ("p1", "18-64", "F", None),
        ("p2", "18-64", "F", None),
        ("p3", "18-64", "M", "TT1"),
        ("p4", "18-64", "M", "TT1"),
    ]
    assert _k_by_counter(out, QIS, unit="person") >= 2


def test_result_is_k_anonymous_on_a_larger_frame() -> None:
    rng = random.Random(7)
    rows = [
        (
            f"p{rng.randrange(150)}",
            rng.choice(["18-64", "65-74", "75-84", "85+"]),
            rng.choice(["F", "M"]),
            rng.choice([f"TT{i}" for i in range(1, 9)]),
        )
        for _ in range(300)
    ]
    frame = pd.DataFrame(rows, columns=["person", *QIS])
    for unit in (None, "person"):
        out = local_suppression(frame, QIS, 5, suppress=["district", "sex"], unit=unit)
        assert len(out) > 0
        assert _k_by_counter(out, QIS, unit=unit) >= 5
        # Only district and sex are ever blanked.
        assert set(out["person"]) <= set(frame["person"])
        assert out["age_band"].notna().all()


def test_numeric_quasi_identifier_can_be_blanked() -> None:
    frame = pd.DataFrame({"a": ["x", "x", "x", "y"], "birth_year": [1950, 1950, 1960, 1970]})
    out = local_suppression(frame, ["a", "birth_year"], 2, suppress=["birth_year"])
    assert out["a"].tolist() == ["x", "x"]
    assert out["birth_year"].tolist() == [1950, 1950]


def test_boolean_quasi_identifier_can_be_blanked() -> None:
    frame = pd.DataFrame(
        {
            "age_band": ["18-64", "18-64", "18-64", "18-64"],
            "disabled": [True, True, False, False],
            "district": ["TT1", "TT1", "TT1", "TT2"],
        }
    )
    out = local_suppression(frame, ["age_band", "disabled", "district"], 2, suppress=["disabled"])
    # (18-64, False, TT1) and (18-64, False, TT2) are alone; blanking "disabled" leaves them
    # alone still (districts differ), so both are dropped.
    assert out["disabled"].tolist() == [True, True]


# TransformContext.k_anonymise


def test_k_anonymise_uses_the_flow_rule_and_agreement_k() -> None:
    disclosure = load_estate(DEMO_ESTATE).flows["care_research_extract"].disclosure
    assert disclosure is not None and disclosure.k_anonymity is not None
    rule = disclosure.k_anonymity
    frame = pd.DataFrame(
        {
            "person_key": ["a", "b", "b", "c", "d", "e"],
            "age_band": ["18-64"] * 6,
            "sex": ["F", "F", "F", "F", "M", "M"],
            "postcode_district": ["TT1", "TT1", "TT1", "TT2", "TT1", "TT1"],
        }
    )
    ctx = TransformContext(
        flow="care_research_extract", as_of=dt.date(2026, 6, 1), k_anonymity=2, k_rule=rule
    )
    out = ctx.k_anonymise(frame, suppress=("postcode_district",))
    # (F, TT1) holds people a and b: kept. (F, TT2) holds c alone: district blanked, still alone,
    # dropped. (M, TT1) holds d and e: kept.
    assert out["person_key"].tolist() == ["a", "b", "b", "d", "e"]
    assert out["postcode_district"].tolist() == ["TT1"] * 5
    pd.testing.assert_frame_equal(
        out,
        local_suppression(
            frame,
            ["age_band", "sex", "postcode_district"],
            2,
            suppress=["postcode_district"],
            unit="person_key",
        ),
    )


def test_k_anonymise_without_a_k_rule_raises() -> None:
    ctx = TransformContext(flow="care_statistics", as_of=dt.date(2026, 6, 1))
    with pytest.raises(ValueError, match=r"care_statistics.*no disclosure\.k_anonymity rule"):
        ctx.k_anonymise(pd.DataFrame({"age_band": ["18-64"]}))


def test_k_anonymise_default_k_is_five() -> None:
    rule = KAnonymityRule(quasi_identifiers=("age_band",))
    ctx = TransformContext(flow="f", as_of=dt.date(2026, 6, 1), k_rule=rule)
    frame = pd.DataFrame({"age_band": ["18-64"] * 5 + ["65-74"] * 4})
    assert ctx.k_anonymise(frame)["age_band"].tolist() == ["18-64"] * 5


def test_rows_outside_stored_do_not_count_and_are_left_alone() -> None:
    """Rows another rule will remove (retention) must not prop up a class that would be too small."""
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(7)],
            "age_band": ["65-74"] * 7,
            "postcode_district": ["TT1"] * 7,
        }
    )
    stored = pd.Series([True, True, True, False, False, False, False])
    out = local_suppression(frame, ["age_band", "postcode_district"], 5, stored=stored)
    assert list(out["record_id"]) == ["r3", "r4", "r5", "r6"]
    assert local_suppression(frame, ["age_band", "postcode_district"], 5).equals(frame)
