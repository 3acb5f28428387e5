"""Suppressed tables attacked by the independent linear programs of ``tests/fixtures/lp_oracle``
(dense, one variable per entry, written without the module's code): nothing ``suppress`` hides
can be narrowed below the threshold, and the audit agrees with the attacker."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.policy.disclosure import TOTAL, audit_suppression, suppress, tabulate

from ...fixtures.lp_oracle import lines as _lines
from ...fixtures.lp_oracle import published as _published
from ...fixtures.lp_oracle import ranges as _ranges
from ...fixtures.lp_oracle import weak as _weak


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], int, bool]:
    ndim = draw(st.sampled_from([2, 2, 3]))
    sizes = [draw(st.integers(2, 5 if ndim == 2 else 3)) for _ in range(ndim)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(0, 120))
    dims = [f"d{i}" for i in range(ndim)]
    frame = pd.DataFrame(
        {
            d: rng.choice([f"v{j}" for j in range(s)], n, p=rng.dirichlet(np.ones(s) * 0.6))
            for d, s in zip(dims, sizes, strict=True)
        }
    )
    units = draw(st.booleans())
    if units:  # people with several rows, often in several entries of a line
        frame["person"] = rng.integers(0, max(1, n * 2 // 3), n)
    return frame, dims, draw(st.integers(2, 10)), units


@settings(
    derandomize=True,
    max_examples=70,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(frames())
def test_no_suppressed_count_can_be_narrowed_below_the_threshold(
    case: tuple[pd.DataFrame, list[str], int, bool],
) -> None:
    frame, dims, threshold, units = case
    table = tabulate(frame, dims, unit="person" if units else None)
    truth = {tuple(r[:-1]): r[-1] for r in table[[*dims, "count"]].itertuples(index=False)}
    out = suppress(table, dims, threshold).table
    published = _published(out, dims)
    for key, value in published.items():
        assert value is None or value == truth[key]
        assert value is None or not 0 < value < threshold, key
    assert (out["count"].isna() == out["suppressed"]).all()
    ranges = _ranges(published, exact=not units)
    assert ranges is not None
    for key, (lo, hi) in ranges.items():
        assert lo <= truth[key] <= hi, key
    assert not _weak(ranges, threshold)
    if units:  # a reader who wrongly takes every line as an exact sum learns no more
        assert not _weak(_ranges(published, exact=True) or {}, threshold)


@settings(derandomize=True, max_examples=40, deadline=None)
@given(frames(), st.randoms(use_true_random=False))
def test_audit_agrees_with_an_independent_attack(
    case: tuple[pd.DataFrame, list[str], int, bool], rnd: random.Random
) -> None:
    frame, dims, threshold, units = case
    table = tabulate(frame, dims, unit="person" if units else None)
    small = (table["count"] > 0) & (table["count"] < threshold)
    extra = pd.Series([rnd.random() < 0.25 for _ in range(len(table))], index=table.index)
    hidden = table.assign(count=table["count"].astype("Int64").mask(small | extra))
    audit = audit_suppression(hidden, dims, threshold, additive=not units, max_groups=10_000)
    ranges = _ranges(_published(hidden, dims), exact=not units)
    assert ranges is not None and audit.consistent
    weak = _weak(ranges, threshold)
    assert {tuple(g[d] for d in dims) for g in audit.failing_groups} == weak
    assert audit.recoverable_cells == len(weak)
    widths = [hi - lo for lo, hi in ranges.values() if hi > 0]
    assert audit.narrowest == (min(widths) if widths else None)


# Hand-built: every line holds 0 or at least 2 suppressed entries, so the line rule is content,
# yet the suppressed entries do not all lie on cycles. Rows r1, r2 and columns c1, c2 form one
# block, rows r3, r4 and columns c3, c4 another, and r1/c3 (3 people) joins them. Adding the
# equations of rows r1 and r2 and taking those of columns c1 and c2 leaves r1/c3 alone:
# (93 - 40) + (170 - 50 - 60) - (155 - 45 - 65) - (195 - 55 - 75) = 53 + 60 - 45 - 65 = 3.
BRIDGE = {
    "r1": [20, 30, 3, 40],
    "r2": [25, 35, 50, 60],
    "r3": [45, 55, 22, 33],
    "r4": [65, 75, 44, 28],
}
BRIDGE_HIDDEN = {
    ("r1", "c1"),
    ("r1", "c2"),
    ("r2", "c1"),
    ("r2", "c2"),
    ("r3", "c3"),
    ("r3", "c4"),
    ("r4", "c3"),
    ("r4", "c4"),
    ("r1", "c3"),
}


def _with_totals(grid: dict[str, list[int]]) -> pd.DataFrame:
    rows = {r: [*v, sum(v)] for r, v in grid.items()}
    rows[TOTAL] = [sum(col) for col in zip(*rows.values(), strict=True)]
    cols = [f"c{j + 1}" for j in range(len(next(iter(grid.values()))))] + [TOTAL]
    data = [(r, c, n) for r, v in rows.items() for c, n in zip(cols, v, strict=True)]
    return pd.DataFrame(data, columns=["row", "col", "count"]).astype({"count": "Int64"})


def test_line_rule_content_but_one_cell_recovered_exactly() -> None:
    table = _with_totals(BRIDGE)
    assert table.loc[(table["row"] == "r1") & (table["col"] == TOTAL), "count"].item() == 93
    keys = list(zip(table["row"], table["col"], strict=True))
    for entries, total in _lines(keys, 2):
        assert sum(k in BRIDGE_HIDDEN for k in [*entries, total]) != 1
    hidden = table.assign(count=table["count"].mask([k in BRIDGE_HIDDEN for k in keys]))
    audit = audit_suppression(hidden, ["row", "col"], 5)
    assert not audit.passed
    assert (audit.unsafe_cells, audit.recoverable_cells, audit.narrowest) == (0, 1, 0)
    assert audit.failing_groups == (
        {"row": "r1", "col": "c3", "reason": "recoverable exactly from the published counts"},
    )
    ranges = _ranges(_published(hidden, ["row", "col"]), exact=True)
    assert ranges is not None and ranges["r1", "c3"] == (3, 3)
    fixed = suppress(table, ["row", "col"], 5)
    assert audit_suppression(fixed.table, ["row", "col"], 5).passed


def test_two_way_block_narrowed_below_the_threshold() -> None:
    # X/A (3) and X/B (2) with Y/A and Y/B: one cycle, X/A = 3 + t, X/B = 2 - t, Y/A = 50 - t,
    # Y/B = 60 + t, so t runs from -3 to 2 and each entry ranges over 5 values, under 10.
    table = _with_totals({"X": [3, 2, 40], "Y": [50, 60, 70], "Z": [30, 20, 10]})
    corner = {("X", "c1"), ("X", "c2"), ("Y", "c1"), ("Y", "c2")}
    block = [key in corner for key in zip(table["row"], table["col"], strict=True)]
    hidden = table.assign(count=table["count"].mask(block))
    audit = audit_suppression(hidden, ["row", "col"], 10)
    assert (audit.unsafe_cells, audit.recoverable_cells, audit.narrowest) == (0, 4, 5)
    assert audit.failing_groups[0] == {
        "row": "X",
        "col": "c1",
        "reason": "narrowed by the published counts to a range of 5 (needs 10)",
    }
    assert audit_suppression(hidden, ["row", "col"], 10, protection=5).passed
    assert audit_suppression(suppress(table, ["row", "col"], 10).table, ["row", "col"], 10).passed


@pytest.mark.parametrize("ndim", [2, 3])
def test_documented_random_tables_are_protected(ndim: int) -> None:
    # The adversarial suite's recipe: tabulate random frames, suppress, attack every cell.
    rng = np.random.default_rng(ndim)
    for _ in range(6):
        n = int(rng.integers(30, 200))
        dims = ["age", "sex", "area"][:ndim]
        frame = pd.DataFrame(
            {
                "age": rng.choice(["0-17", "18-64", "65-74", "75+"], n, p=[0.1, 0.6, 0.2, 0.1]),
                "sex": rng.choice(["F", "M", "X"], n, p=[0.49, 0.49, 0.02]),
                "area": rng.choice(["N", "S", "E", "W"], n),
            }
        )
        out = suppress(tabulate(frame, dims), dims, 5).table
        ranges = _ranges(_published(out, dims), exact=True)
        assert ranges is not None and not _weak(ranges, 5)
