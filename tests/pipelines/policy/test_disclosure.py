"""Disclosure control checked against answers worked out by hand or by brute force."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pytest

from pipelines.policy.disclosure import (
    TOTAL,
    audit_suppression,
    k_anonymity,
    l_diversity,
    suppress,
    tabulate,
)

MISSING = object()


def _norm(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return value


def _label(value: object) -> str | None:
    return None if value is MISSING else str(value)


def _key_order(labels: Sequence[str | None]) -> list[tuple[bool, str]]:
    return [(s is None, s or "") for s in labels]


# k-anonymity


def _people() -> pd.DataFrame:
    rows = (
        [("18-64", "TT1")] * 7
        + [("18-64", "TT2")] * 5
        + [("65-74", None), ("65-74", pd.NA)]
        + [("65-74", "TT1")]
    )
    frame = pd.DataFrame(rows, columns=["age_band", "district"], dtype=object)
    frame["name"] = [f"person {i}" for i in range(len(frame))]
    return frame


def test_k_anonymity_known_classes() -> None:
    result = k_anonymity(_people(), ["age_band", "district"], 5)
    assert (result.min_k, result.classes, result.classes_below, result.rows_below) == (1, 4, 2, 3)
    assert not result.passed
    assert result.failing_groups == (
        {"age_band": "65-74", "district": "TT1", "size": 1},
        {"age_band": "65-74", "district": None, "size": 2},
    )
    assert k_anonymity(_people(), ["age_band", "district"], 5, max_groups=1).failing_groups == (
        {"age_band": "65-74", "district": "TT1", "size": 1},
    )
    assert k_anonymity(_people(), ["age_band", "district"], 1).passed
    assert k_anonymity(_people(), ["age_band"], 3).passed


def test_k_anonymity_missing_values_form_one_class() -> None:
    frame = pd.DataFrame({"district": ["TT1", None, np.nan, pd.NA, "TT1"]}, dtype=object)
    result = k_anonymity(frame, ["district"], 3)
    assert result.classes == 2
    assert result.failing_groups == ({"district": "TT1", "size": 2},)


def test_k_anonymity_empty_frame() -> None:
    result = k_anonymity(pd.DataFrame({"a": []}), ["a"], 3)
    assert (result.min_k, result.classes, result.passed) == (0, 0, True)


def test_k_anonymity_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"\['postcode'\].*'age_band', 'district', 'name'"):
        k_anonymity(_people(), ["age_band", "postcode"], 5)
    with pytest.raises(ValueError, match="at least one"):
        k_anonymity(_people(), [], 5)
    with pytest.raises(ValueError, match="k must be at least 1"):
        k_anonymity(_people(), ["age_band"], 0)


def _random_rows(seed: int) -> list[tuple[object, object, object, object]]:
    rng = random.Random(seed)
    return [
        (
            rng.choice(["p", "q", "r", None]),
            rng.choice([1, 2, float("nan")]),
            rng.choice(["x", "y", pd.NA]),
            rng.choice(["flu", "cold", "asthma", None]),
        )
        for _ in range(rng.randint(0, 80))
    ]


@pytest.mark.parametrize("seed", range(12))
def test_k_anonymity_matches_brute_force(seed: int) -> None:
    rows = _random_rows(seed)
    frame = pd.DataFrame(rows, columns=["a", "b", "c", "s"], dtype=object)
    k = (1, 2, 3, 5)[seed % 4]
    sizes = Counter(tuple(_norm(v) for v in row[:3]) for row in rows)
    below = {key: n for key, n in sizes.items() if n < k}
    result = k_anonymity(frame, ["a", "b", "c"], k, max_groups=10_000)
    assert result.min_k == min(sizes.values(), default=0)
    assert result.classes == len(sizes)
    assert result.classes_below == len(below)
    assert result.rows_below == sum(below.values())
    assert result.passed == (not below)
    expected = sorted(
        (
            {"a": _label(a), "b": _label(b), "c": _label(c), "size": n}
            for (a, b, c), n in below.items()
        ),
        key=lambda g: (g["size"], _key_order([g["a"], g["b"], g["c"]])),
    )
    assert list(result.failing_groups) == expected


# l-diversity


def _diagnoses() -> pd.DataFrame:
    rows = [
        ("TT1", "flu", "Ann"),
        ("TT1", "flu", "Bob"),
        ("TT1", "cold", "Cat"),
        ("TT2", "flu", "Dan"),
        ("TT2", None, "Eve"),
        ("TT2", pd.NA, "Fay"),
        ("TT3", None, "Gus"),
        ("TT4", "flu", "Hal"),
        ("TT4", "cold", "Ida"),
        ("TT4", "asthma", "Jo"),
        ("TT4", "flu", "Kim"),
    ]
    return pd.DataFrame(rows, columns=["district", "diagnosis", "name"], dtype=object)


def test_l_diversity_known_classes() -> None:
    result = l_diversity(_diagnoses(), ["district"], "diagnosis", 3)
    assert (result.min_l, result.classes_below, result.rows_below) == (1, 3, 7)
    assert not result.passed
    assert result.failing_groups == (
        {"district": "TT3", "distinct": 1, "size": 1, "shared": 1},
        {"district": "TT1", "distinct": 2, "size": 3, "shared": 0},
        {"district": "TT2", "distinct": 2, "size": 3, "shared": 0},
    )
    # l=1 asks for nothing, but TT3's one person (diagnosis not recorded) is still disclosed.
    assert l_diversity(_diagnoses(), ["district"], "diagnosis", 1).failing_groups == (
        {"district": "TT3", "distinct": 1, "size": 1, "shared": 1},
    )
    with pytest.raises(ValueError, match="also a quasi-identifier"):
        l_diversity(_diagnoses(), ["district", "diagnosis"], "diagnosis", 2)
    with pytest.raises(ValueError, match="sensitive column"):
        l_diversity(_diagnoses(), ["district"], "diagnoses", 2)


@pytest.mark.parametrize("seed", range(12))
def test_l_diversity_matches_brute_force(seed: int) -> None:
    rows = _random_rows(seed)
    frame = pd.DataFrame(rows, columns=["a", "b", "c", "s"], dtype=object)
    l = (1, 2, 3)[seed % 3]  # noqa: E741
    values: dict[tuple[object, ...], set[object]] = defaultdict(set)
    sizes: Counter[tuple[object, ...]] = Counter()
    for row in rows:
        key = tuple(_norm(v) for v in row[:2])
        values[key].add(_norm(row[3]))
        sizes[key] += 1
    # Each row is a person: a value every person holds means the class has one value only.
    below = {key for key, seen in values.items() if len(seen) < l or len(seen) == 1}
    result = l_diversity(frame, ["a", "b"], "s", l, max_groups=10_000)
    assert result.min_l == min((len(s) for s in values.values()), default=0)
    assert result.classes_below == len(below)
    assert result.rows_below == sum(sizes[key] for key in below)
    got = {(g["a"], g["b"], g["distinct"], g["size"], g["shared"]) for g in result.failing_groups}
    assert got == {
        (_label(a), _label(b), len(values[a, b]), sizes[a, b], int(len(values[a, b]) == 1))
        for a, b in below
    }


def test_l_diversity_over_people_with_several_rows() -> None:
    # Five people all with flu; p1 also had a cold. Two distinct values meet l=2, yet everyone in
    # the class is known to have had flu.
    frame = pd.DataFrame(
        {
            "district": ["TT1"] * 6,
            "person": ["p1", "p1", "p2", "p3", "p4", "p5"],
            "diagnosis": ["flu", "cold", "flu", "flu", "flu", "flu"],
        }
    )
    result = l_diversity(frame, ["district"], "diagnosis", 2, unit="person")
    assert not result.passed
    assert (result.min_l, result.classes_under_l, result.classes_shared) == (2, 0, 1)
    assert result.failing_groups == ({"district": "TT1", "distinct": 2, "size": 5, "shared": 1},)
    # Counting rows as people instead, no value is on every row and the class passes.
    assert l_diversity(frame, ["district"], "diagnosis", 2).passed


def test_l_diversity_shared_value_fails_even_when_l_is_met() -> None:
    # Three people, four distinct values (l=3 met), but every one of them had asthma.
    frame = pd.DataFrame(
        {
            "age": ["65-74"] * 6,
            "person": ["a", "a", "b", "b", "c", "c"],
            "diagnosis": ["asthma", "flu", "asthma", "cold", "asthma", "gout"],
        }
    )
    result = l_diversity(frame, ["age"], "diagnosis", 3, unit="person")
    assert result.failing_groups == ({"age": "65-74", "distinct": 4, "size": 3, "shared": 1},)
    frame.loc[4, "diagnosis"] = "cough"
    assert l_diversity(frame, ["age"], "diagnosis", 3, unit="person").passed


@pytest.mark.parametrize("seed", range(12))
def test_l_diversity_over_people_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        (rng.choice(["p", "q", None]), rng.randrange(8), rng.choice(["flu", "cold", None]))
        for _ in range(rng.randint(0, 40))
    ]
    frame = pd.DataFrame(rows, columns=["a", "person", "s"], dtype=object)
    l = 1 + seed % 3  # noqa: E741
    held: dict[object, dict[object, set[object]]] = defaultdict(lambda: defaultdict(set))
    for a, person, value in rows:
        held[_norm(a)][person].add(_norm(value))
    expected = {}
    for a, people in held.items():
        distinct = set().union(*people.values())
        shared = set.intersection(*people.values())
        if len(distinct) < l or shared:
            expected[_label(a)] = (len(distinct), len(people), len(shared))
    result = l_diversity(frame, ["a"], "s", l, unit="person", max_groups=100)
    got = {g["a"]: (g["distinct"], g["size"], g["shared"]) for g in result.failing_groups}
    assert got == expected
    assert result.rows_below == sum(size for _, size, _ in expected.values())


def test_values_compare_after_conforming_to_their_type() -> None:
    # Spaces around a string and 1 against 1.0 are formatting, not different values.
    frame = pd.DataFrame(
        {
            "district": ["A12", " A12", "A12 ", "B7", "B7"],
            "band": [1, 1.0, np.int64(1), 2, 2],
            "person": ["p1", "p2", " p1", "p3", "p4"],
            "code": [" X", "X", "X ", 3, 3.0],
        },
        dtype=object,
    )
    k = k_anonymity(frame, ["district", "band"], 3)
    assert (k.classes, k.min_k) == (2, 2)
    assert k.failing_groups == ({"district": "B7", "band": "2", "size": 2},)
    people = k_anonymity(frame, ["district", "band"], 3, unit="person")  # p1 and " p1" are one
    assert people.failing_groups == (
        {"district": "A12", "band": "1", "size": 2},
        {"district": "B7", "band": "2", "size": 2},
    )
    assert l_diversity(frame, ["district"], "code", 1).failing_groups == (
        {"district": "A12", "distinct": 1, "size": 3, "shared": 1},
        {"district": "B7", "distinct": 1, "size": 2, "shared": 1},
    )
    typed = pd.DataFrame({"n": pd.array([1, 1, 2], dtype="Int64"), "m": [1.0, 1.0, 2.5]})
    assert k_anonymity(typed, ["n", "m"], 1).failing_groups == ()
    assert k_anonymity(typed, ["n", "m"], 2).failing_groups == ({"n": "2", "m": "2.5", "size": 1},)


# tabulate


def test_tabulate_known_counts_with_zero_cell_and_totals() -> None:
    frame = pd.DataFrame(
        {
            "sex": ["F", "F", "F", "M", "M", "M", "M"],
            "area": ["X", "X", "Y", "X", "X", "X", None],
            "person_key": ["a", "a", "b", "c", "d", "d", "e"],
        }
    )
    table = tabulate(frame, ["sex", "area"])
    assert list(table.columns) == ["sex", "area", "count"]
    assert table["count"].dtype == "int64"
    assert list(table.itertuples(index=False, name=None)) == [
        ("F", "X", 2),
        ("F", "Y", 1),
        ("F", "Unknown", 0),
        ("F", TOTAL, 3),
        ("M", "X", 3),
        ("M", "Y", 0),
        ("M", "Unknown", 1),
        ("M", TOTAL, 4),
        (TOTAL, "X", 5),
        (TOTAL, "Y", 1),
        (TOTAL, "Unknown", 1),
        (TOTAL, TOTAL, 7),
    ]
    people = tabulate(frame, ["sex", "area"], unit="person_key", count_column="people")
    assert people["people"].tolist() == [1, 1, 0, 2, 2, 0, 1, 3, 3, 1, 1, 5]


def test_tabulate_orders_values_naturally() -> None:
    table = tabulate(pd.DataFrame({"n": [10, 9, 9]}), ["n"])
    assert table["n"].tolist() == ["9", "10", TOTAL]
    assert table["count"].tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="real value 'Total'"):
        tabulate(pd.DataFrame({"n": ["Total"]}), ["n"])


# suppression: independent line enumeration


def _lines(table: pd.DataFrame, dims: Sequence[str]) -> Iterator[list[tuple[str, ...]]]:
    """Every line of the table, as the keys of its entries, enumerated with itertools."""
    levels = {d: list(dict.fromkeys(table[d])) for d in dims}
    for free in dims:
        others = [d for d in dims if d != free]
        for fixed in itertools.product(*(levels[d] for d in others)):
            values = dict(zip(others, fixed, strict=True))
            yield [tuple(v if d == free else values[d] for d in dims) for v in levels[free]]


def _check_safe(original: pd.DataFrame, out: pd.DataFrame, dims: Sequence[str], t: int) -> None:
    before = {tuple(r[:-1]): r[-1] for r in original[[*dims, "count"]].itertuples(index=False)}
    hidden = {
        tuple(r[:-1]): bool(r[-1]) for r in out[[*dims, "suppressed"]].itertuples(index=False)
    }
    assert before.keys() == hidden.keys()
    for key, count in before.items():
        assert hidden[key] or not 0 < count < t, key
    for line in _lines(original, dims):
        assert sum(hidden[key] for key in line) != 1, line
    published = out[~out["suppressed"]]
    assert published["count"].notna().all()
    assert out.loc[out["suppressed"], "count"].isna().all()
    for r in published[[*dims, "count"]].itertuples(index=False):
        assert before[tuple(r[:-1])] == r[-1]


# The textbook 2-D table, threshold 5. Primary: X/A (2) and Z/C (3). Lines where area is free
# (columns) come first: column A has only X/A, so its smallest other entry Y/A (12) goes;
# column C has only Z/C, X/C and Y/C tie at 15 and X/C comes first. Then rows: row X already
# has two; row Y has only Y/A, so Y/B (8); row Z has only Z/C, so Z/B (11). A second pass
# finds every line with 0 or 2 suppressed entries.
SERVICES = ["A", "B", "C", TOTAL]
TEXTBOOK = {
    "X": [2, 10, 15, 27],
    "Y": [12, 8, 15, 35],
    "Z": [14, 11, 3, 28],
    TOTAL: [28, 29, 33, 90],
}
EXPECTED = {
    "X": ["primary", None, "secondary", None],
    "Y": ["secondary", "secondary", None, None],
    "Z": [None, "secondary", "primary", None],
    TOTAL: [None, None, None, None],
}


def _grid_table(grid: dict[str, list[int]]) -> pd.DataFrame:
    rows = [(a, s, n) for a, counts in grid.items() for s, n in zip(SERVICES, counts, strict=True)]
    return pd.DataFrame(rows, columns=["area", "service", "count"])


def test_suppress_textbook_two_way_table() -> None:
    table = _grid_table(TEXTBOOK)
    result = suppress(table, ["area", "service"], 5)
    assert (result.primary, result.secondary) == (2, 4)
    kinds = result.table["suppression"].astype(object).where(result.table["suppressed"], None)
    got: dict[str, list[object]] = defaultdict(list)
    for area, kind in zip(result.table["area"], kinds, strict=True):
        got[area].append(kind)
    assert dict(got) == EXPECTED
    assert result.table["count"].dtype == "Int64"
    assert result.table["suppressed"].dtype == "boolean"
    assert result.table["suppression"].dtype == "string"
    _check_safe(table, result.table, ["area", "service"], 5)


def test_suppress_is_deterministic_and_keeps_row_order() -> None:
    table = _grid_table(TEXTBOOK).sample(frac=1, random_state=3)
    first = suppress(table, ["area", "service"], 5).table
    pd.testing.assert_frame_equal(first, suppress(table, ["area", "service"], 5).table)
    assert first.index.tolist() == table.index.tolist()


def test_suppress_rejects_counts_no_table_could_hold() -> None:
    # An entry above its total is impossible for rows and for distinct units alike.
    table = pd.DataFrame({"area": ["A", "B", TOTAL], "count": [2, 0, 0]})
    with pytest.raises(ValueError, match="not a table of counts with totals"):
        suppress(table, ["area"], 5)


def test_suppress_distinct_units_a_line_may_exceed_its_total() -> None:
    # Three people in A, twelve in B, one of them in both: fourteen in all. A is primary; the line
    # rule takes B (12, below the total 14). Then A + B >= 14 and neither above 14: A is anywhere
    # from 0 to 14, read as distinct units or as an exact sum A + B = 14 alike.
    frame = pd.DataFrame(
        {"area": ["A"] * 3 + ["B"] * 12, "person": ["p0", "p1", "p2", "p0", *range(11)]}
    )
    table = tabulate(frame, ["area"], unit="person")
    assert table["count"].tolist() == [3, 12, 14]
    result = suppress(table, ["area"], 5)
    assert result.table["suppression"].tolist() == ["primary", "secondary", pd.NA]
    for additive in (True, False):
        audit = audit_suppression(result.table, ["area"], 5, additive=additive)
        assert audit.passed and audit.narrowest == 14


@pytest.mark.parametrize("seed", range(8))
def test_suppress_three_way_tables_leave_no_line_recoverable(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 300))
    frame = pd.DataFrame(
        {
            "age": rng.choice(["0-17", "18-64", "65-74", "75+"], n, p=[0.1, 0.6, 0.2, 0.1]),
            "sex": rng.choice(["F", "M", "X"], n, p=[0.49, 0.49, 0.02]),
            "area": rng.choice(["N", "S", "E"], n),
        }
    )
    dims = ["age", "sex", "area"]
    table = tabulate(frame, dims)
    for line in _lines(table, dims):
        counts = table.set_index(dims)["count"]
        assert counts[line[:-1]].sum() == counts[line[-1]]
    result = suppress(table, dims, 5)
    assert result.primary == int(((table["count"] > 0) & (table["count"] < 5)).sum())
    assert result.primary + result.secondary == int(result.table["suppressed"].sum())
    _check_safe(table, result.table, dims, 5)
    audit = audit_suppression(result.table, dims, 5)
    assert audit.passed
    assert audit.suppressed == result.primary + result.secondary


def test_suppress_rejects_missing_counts() -> None:
    table = _grid_table(TEXTBOOK).astype({"count": "Int64"})
    table.loc[0, "count"] = pd.NA
    with pytest.raises(ValueError, match="non-negative whole counts"):
        suppress(table, ["area", "service"], 5)


# audit


def test_audit_passes_suppress_output() -> None:
    result = suppress(_grid_table(TEXTBOOK), ["area", "service"], 5)
    audit = audit_suppression(result.table, ["area", "service"], 5)
    assert audit.passed
    assert (audit.cells, audit.suppressed, audit.unsafe_cells, audit.recoverable_cells) == (
        16,
        6,
        0,
        0,
    )
    assert (audit.primary, audit.secondary, audit.protection, audit.consistent) == (2, 4, 5, True)
    # One cycle X/A, X/C, Z/C, Z/B, Y/B, Y/A: with X/A = a the rows and columns give X/C = 17 - a,
    # Z/C = 1 + a, Z/B = 13 - a, Y/B = 6 + a, Y/A = 14 - a, all non-negative for a in [0, 13].
    assert audit.narrowest == 13
    assert not audit_suppression(result.table, ["area", "service"], 5, protection=14).passed
    published = result.table.drop(columns=["suppressed", "suppression"])
    assert audit_suppression(published, ["area", "service"], 5).passed


def test_audit_finds_missing_secondary_suppression() -> None:
    table = _grid_table(TEXTBOOK).astype({"count": "Int64"})
    primary_only = table.copy()
    primary_only["count"] = table["count"].mask(table["count"] < 5)
    audit = audit_suppression(primary_only, ["area", "service"], 5)
    assert (audit.suppressed, audit.unsafe_cells, audit.recoverable_cells) == (2, 0, 2)
    assert not audit.passed
    assert audit.narrowest == 0
    assert audit.failing_groups == (
        {"area": "X", "service": "A", "reason": "recoverable exactly from the published counts"},
        {"area": "Z", "service": "C", "reason": "recoverable exactly from the published counts"},
    )


def test_audit_reads_published_values_not_flags() -> None:
    # X/A (2), Y/A and Z/C (3) flagged suppressed with their counts still shown: they are
    # published, and the two small ones fail whatever the flags say.
    table = _grid_table(TEXTBOOK)
    flagged = table.assign(suppressed=[k in {0, 4, 10} for k in range(len(table))])
    audit = audit_suppression(flagged, ["area", "service"], 5)
    assert (audit.suppressed, audit.unsafe_cells, audit.recoverable_cells) == (0, 2, 0)
    reason = "below threshold, shown although flagged suppressed"
    assert audit.failing_groups == (
        {"area": "X", "service": "A", "reason": reason},
        {"area": "Z", "service": "C", "reason": reason},
    )
    # suppress's own output with Z/C's 3 put back but still flagged: it fails, and with Z/C known
    # the cycle above is broken, so every other suppressed entry follows exactly.
    out = suppress(table, ["area", "service"], 5).table
    out.loc[(out["area"] == "Z") & (out["service"] == "C"), "count"] = 3
    audit = audit_suppression(out, ["area", "service"], 5)
    assert (audit.suppressed, audit.unsafe_cells, audit.recoverable_cells) == (5, 1, 5)
    assert audit.failing_groups[0] == {"area": "Z", "service": "C", "reason": reason}


def test_audit_finds_a_published_small_cell() -> None:
    out = suppress(_grid_table(TEXTBOOK), ["area", "service"], 5).table
    first = (out["area"] == "X") & (out["service"] == "A")
    out.loc[first, "count"] = 2
    out.loc[first, "suppressed"] = False
    audit = audit_suppression(out, ["area", "service"], 5)
    # X/A shown: a = 2 in the cycle above, so each other suppressed entry is known exactly.
    assert (audit.unsafe_cells, audit.recoverable_cells) == (1, 5)
    assert audit.failing_groups[0] == {"area": "X", "service": "A", "reason": "below threshold"}
    assert {(g["area"], g["service"]) for g in audit.failing_groups[1:]} == {
        ("X", "C"),
        ("Y", "A"),
        ("Y", "B"),
        ("Z", "B"),
        ("Z", "C"),
    }
    assert all(set(g) == {"area", "service", "reason"} for g in audit.failing_groups)
    assert len(audit_suppression(out, ["area", "service"], 5, max_groups=1).failing_groups) == 1


def test_audit_a_suppressed_zero_pinned_at_zero_is_safe() -> None:
    # Row X is all zeros with X/A and X/B suppressed: they can only be 0, which is no secret.
    rows = [("X", "A", pd.NA), ("X", "B", pd.NA), ("X", TOTAL, 0)]
    rows += [("Y", "A", 7), ("Y", "B", 8), ("Y", TOTAL, 15)]
    rows += [(TOTAL, "A", 7), (TOTAL, "B", 8), (TOTAL, TOTAL, 15)]
    table = pd.DataFrame(rows, columns=["area", "service", "count"]).astype({"count": "Int64"})
    audit = audit_suppression(table, ["area", "service"], 5)
    assert audit.passed
    assert (audit.suppressed, audit.recoverable_cells, audit.narrowest) == (2, 0, None)


def test_audit_reports_counts_that_break_the_relations() -> None:
    # The grand total shown as 91 while the rows add to 90: no range can be trusted.
    table = _grid_table(TEXTBOOK).astype({"count": "Int64"})
    table["count"] = table["count"].mask(table["count"] < 5)
    table.loc[len(table) - 1, "count"] = 91
    audit = audit_suppression(table, ["area", "service"], 5)
    assert not audit.consistent
    assert not audit.passed
    assert not audit_suppression(table, ["area", "service"], 5, additive=False).consistent


def test_audit_rejects_incomplete_tables() -> None:
    table = _grid_table(TEXTBOOK)
    dims = ["area", "service"]
    with pytest.raises(
        ValueError, match=r"1 of 16 combinations .* area: 1 of 4 values, service: 1 of 4 values"
    ):
        audit_suppression(table.iloc[1:], dims, 5)
    with pytest.raises(ValueError, match=r"1 combination\(s\) .* more than once"):
        audit_suppression(pd.concat([table, table.iloc[[3]]]), dims, 5)
    with pytest.raises(ValueError, match="dimension 'service' has no 'Total'"):
        audit_suppression(table[table["service"] != TOTAL], dims, 5)
    with pytest.raises(ValueError, match=r"dimension column\(s\) \['region'\]"):
        audit_suppression(table, ["region", "service"], 5)
