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
        {"district": "TT3", "distinct": 1, "size": 1},
        {"district": "TT1", "distinct": 2, "size": 3},
        {"district": "TT2", "distinct": 2, "size": 3},
    )
    assert l_diversity(_diagnoses(), ["district"], "diagnosis", 1).passed
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
    below = {key for key, seen in values.items() if len(seen) < l}
    result = l_diversity(frame, ["a", "b"], "s", l, max_groups=10_000)
    assert result.min_l == min((len(s) for s in values.values()), default=0)
    assert result.classes_below == len(below)
    assert result.rows_below == sum(sizes[key] for key in below)
    got = {(g["a"], g["b"], g["distinct"], g["size"]) for g in result.failing_groups}
    assert got == {(_label(a), _label(b), len(values[a, b]), sizes[a, b]) for a, b in below}


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


def test_suppress_hides_a_zero_when_nothing_positive_is_left() -> None:
    # Not additive, as distinct counts may be: the only candidates left are zeros.
    table = pd.DataFrame({"area": ["A", "B", TOTAL], "count": [2, 0, 0]})
    result = suppress(table, ["area"], 5)
    assert result.table["suppression"].tolist() == ["primary", "secondary", pd.NA]
    assert audit_suppression(result.table, ["area"], 5).passed


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
    published = result.table.drop(columns=["suppressed", "suppression"])
    assert audit_suppression(published, ["area", "service"], 5).passed


def test_audit_finds_missing_secondary_suppression() -> None:
    table = _grid_table(TEXTBOOK).astype({"count": "Int64"})
    primary_only = table.copy()
    primary_only["count"] = table["count"].mask(table["count"] < 5)
    audit = audit_suppression(primary_only, ["area", "service"], 5)
    assert (audit.suppressed, audit.unsafe_cells, audit.recoverable_cells) == (2, 0, 2)
    assert not audit.passed
    assert audit.failing_groups == (
        {"area": "X", "service": "A", "reason": "recoverable from the total of area"},
        {"area": "Z", "service": "C", "reason": "recoverable from the total of area"},
    )
    # Flags with counts still present (an internal table): X/A, Y/A and Z/C suppressed. Row X
    # gives away X/A, row Y gives away Y/A, column C gives away Z/C.
    flagged = table.assign(suppressed=[k in {0, 4, 10} for k in range(len(table))])
    audit = audit_suppression(flagged, ["area", "service"], 5)
    assert (audit.suppressed, audit.recoverable_cells) == (3, 3)
    assert [g["reason"] for g in audit.failing_groups] == [
        "recoverable from the total of service",
        "recoverable from the total of service",
        "recoverable from the total of area",
    ]


def test_audit_finds_a_published_small_cell() -> None:
    out = suppress(_grid_table(TEXTBOOK), ["area", "service"], 5).table
    first = (out["area"] == "X") & (out["service"] == "A")
    out.loc[first, "count"] = 2
    out.loc[first, "suppressed"] = False
    audit = audit_suppression(out, ["area", "service"], 5)
    # X/A shown; Y/A is then alone in column A and X/C alone in row X.
    assert (audit.unsafe_cells, audit.recoverable_cells) == (1, 2)
    assert audit.failing_groups[0] == {"area": "X", "service": "A", "reason": "below threshold"}
    assert {(g["area"], g["service"]) for g in audit.failing_groups[1:]} == {("X", "C"), ("Y", "A")}
    assert all(set(g) == {"area", "service", "reason"} for g in audit.failing_groups)
    assert len(audit_suppression(out, ["area", "service"], 5, max_groups=1).failing_groups) == 1


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
