"""The structure of published tables, and the attacker their suppression is checked against.

:mod:`pipelines.policy.disclosure` is the public interface; this module holds what it builds on.
A table from :func:`tabulate` crosses its dimensions, each with a ``Total`` level. Each *line*
(all dimensions fixed but one) ties its entries to its total entry: with row counts they sum to it
exactly; with counts of distinct units (people) they sum to at least it and none exceeds it.

The attacker knows the table's shape, every published entry and every line's relation, margins
of margins and the grand total included. A suppressed entry may be any value it takes in some
non-negative assignment to all suppressed entries that keeps every relation; its least and
greatest are two linear programs (HiGHS), rounded inward to whole numbers. This is the LP
relaxation tau-Argus audits with: exact for one- and two-way tables, whose constraint matrices are
totally unimodular; with three or more dimensions an attacker solving integer programs may, rarely,
narrow an entry further. An entry is protected when its range (greatest minus least) is at least
the protection width, or when it is pinned at zero (zeros are published anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import ceil, floor, inf
from typing import Final

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_array, vstack

TOTAL: Final = "Total"
UNKNOWN: Final = "Unknown"
_EPS: Final = 1e-6


def tabulate(
    frame: pd.DataFrame,
    dimensions: Sequence[str],
    *,
    unit: str | None = None,
    count_column: str = "count",
) -> pd.DataFrame:
    """The full cross-classification of ``frame`` over ``dimensions``, with marginal totals.

    One row per combination of each dimension's observed values plus ``Total``, zeros included;
    dimension values as str, missing ones as ``Unknown``; real values in their natural order, then
    ``Unknown``, then ``Total``. Counts are rows by default, which keeps every line additive. With
    ``unit`` they are distinct non-missing values of that column, totals included: a unit in
    several entries of a line is counted once in its total, so a line may sum to more than its
    total (never less, and no entry exceeds it); audit such a table with ``additive=False``.
    """
    dims = check_columns(frame, dimensions, "dimension")
    if unit is not None and (unit in dims or unit not in frame.columns):
        raise ValueError(f"unit {unit!r} must be a column of the frame that is not a dimension")
    if count_column in dims:
        raise ValueError(f"count column {count_column!r} is also a dimension")
    keys = pd.DataFrame({d: _labels(frame[d]) for d in dims}, index=frame.index)
    if unit is not None:
        keys["__unit"] = frame[unit]
    levels = [[*_levels(frame[d]), TOTAL] for d in dims]
    parts = []
    for size in range(len(dims) + 1):
        for kept in combinations(dims, size):
            if kept:
                grouped = keys.groupby(list(kept), sort=False)
                part = (grouped["__unit"].nunique() if unit else grouped.size()).reset_index()
            else:
                count = keys["__unit"].nunique() if unit else len(keys)
                part = pd.DataFrame({"__n": [count]})
            part.columns = [*kept, "__n"]
            parts.append(part.assign(**{d: TOTAL for d in dims if d not in kept}))
    counts = pd.concat(parts, ignore_index=True).set_index(list(dims))["__n"]
    grid = pd.MultiIndex.from_product(levels, names=dims)
    out = counts.reindex(grid, fill_value=0).astype("int64").rename(count_column).reset_index()
    return out.astype(dict.fromkeys(dims, str))


def check_columns(frame: pd.DataFrame, columns: Sequence[str], role: str) -> tuple[str, ...]:
    names = (columns,) if isinstance(columns, str) else tuple(columns)
    if not names:
        raise ValueError(f"at least one {role} column is needed")
    if len(set(names)) != len(names):
        raise ValueError(f"a {role} column is named more than once: {list(names)}")
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{role} column(s) {missing} not in the frame; its columns are {list(frame.columns)}"
        )
    return names


def at_least_one(name: str, value: int, max_groups: int = 0) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    if max_groups < 0:
        raise ValueError(f"max_groups must be at least 0, not {max_groups}")


def _labels(values: pd.Series) -> pd.Series:
    labels = values.astype(object).where(values.notna(), UNKNOWN).astype(str)
    if (labels == TOTAL).any():
        raise ValueError(f"dimension {values.name!r} has a real value {TOTAL!r}")
    return labels


def _levels(values: pd.Series) -> list[str]:
    observed = values.dropna().drop_duplicates()
    try:
        observed = observed.sort_values()
    except TypeError:
        observed = observed.iloc[np.argsort(observed.astype(str).to_numpy(), kind="stable")]
    labels = [*_labels(observed), *([UNKNOWN] if values.isna().any() else [])]
    return list(dict.fromkeys(labels))


def grid(
    table: pd.DataFrame, dimensions: Sequence[str], count_column: str
) -> tuple[tuple[str, ...], list[list[str]], tuple[int, ...], np.ndarray]:
    """Each dimension's values (Total last), the grid's shape and each row's flat position."""
    dims = check_columns(table, dimensions, "dimension")
    check_columns(table, [count_column], "count")
    levels: list[list[str]] = []
    codes: list[np.ndarray] = []
    for d in dims:
        if table[d].isna().any():
            raise ValueError(f"dimension {d!r} has {int(table[d].isna().sum())} missing values")
        labels = table[d].astype(str)
        if not (labels == TOTAL).any():
            raise ValueError(f"dimension {d!r} has no {TOTAL!r} entries")
        values = [v for v in pd.unique(labels) if v != TOTAL] + [TOTAL]
        levels.append(values)
        codes.append(pd.Categorical(labels, categories=values).codes)
    shape = tuple(len(values) for values in levels)
    flat = np.ravel_multi_index(tuple(codes), shape)
    seen = np.bincount(flat, minlength=int(np.prod(shape)))
    if (seen > 1).any():
        raise ValueError(
            f"{int((seen > 1).sum())} combination(s) of {list(dims)} appear more than once "
            f"({int((seen - 1).clip(0).sum())} extra rows)"
        )
    if (seen == 0).any():
        short = []
        for i, d in enumerate(dims):
            per_value = np.bincount(codes[i], minlength=shape[i])
            lacking = int((per_value < len(seen) // shape[i]).sum())
            if lacking:
                short.append(f"{d}: {lacking} of {shape[i]} values")
        raise ValueError(
            f"table is incomplete: {int((seen == 0).sum())} of {len(seen)} combinations of "
            f"{list(dims)} are missing (values lacking combinations: {', '.join(short)})"
        )
    return dims, levels, shape, flat


class Lines:
    """A table's lines as sparse rows over its flat entries.

    ``sums`` has one row per line: +1 on each entry, -1 on the total, so an additive line is
    ``sums @ x == 0``. ``caps`` has one row per (line, entry): entry minus total, ``<= 0`` for
    distinct units; ``cap_line`` is the line of each.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        size = int(np.prod(shape))
        flat = np.arange(size).reshape(shape)
        blocks = [np.moveaxis(flat, a, -1).reshape(-1, n) for a, n in enumerate(shape)]
        entries = np.concatenate([b[:, :-1].ravel() for b in blocks])
        totals = np.concatenate([b[:, -1] for b in blocks])
        widths = np.concatenate([np.full(len(b), b.shape[1] - 1) for b in blocks])
        n, m = len(totals), len(entries)
        self.cap_line = np.repeat(np.arange(n), widths)
        sums = (
            np.r_[np.ones(m), -np.ones(n)],
            (np.r_[self.cap_line, range(n)], np.r_[entries, totals]),
        )
        caps = (
            np.r_[np.ones(m), -np.ones(m)],
            (np.r_[range(m), range(m)], np.r_[entries, totals[self.cap_line]]),
        )
        self.sums = coo_array(sums, shape=(n, size)).tocsr()
        self.caps = coo_array(caps, shape=(m, size)).tocsr()
        self._by_entry = abs(self.sums).T.tocsr()

    def neighbours(self, entry: int) -> np.ndarray:
        """Every entry sharing a line with ``entry``, itself included."""
        through = self._by_entry[[entry]].indices
        return np.unique(self.sums[through].indices)


class Attack:
    """The attacker's linear programs for one table and one choice of relation per line."""

    def __init__(self, lines: Lines, equal: np.ndarray) -> None:
        self.equal = lines.sums[equal]
        self.bounds = vstack([-lines.sums[~equal], lines.caps[~equal[lines.cap_line]]]).tocsr()

    def ranges(
        self,
        values: np.ndarray,
        hidden: np.ndarray,
        check: np.ndarray,
        need: int | None,
        seen: tuple[np.ndarray, np.ndarray],
    ) -> dict[int, tuple[float, float]] | None:
        """[least, greatest] of each hidden entry in ``check``, or None if no assignment fits.

        ``seen`` holds the least and greatest value each entry took in the feasible points found
        so far, updated in place; with ``need``, an entry they already show protected is not
        solved and gets those values (a lower bound on its range) instead of its exact range.
        """
        cols = np.flatnonzero(hidden)
        shown = np.where(hidden, 0.0, values)
        a_eq, b_eq = self.equal[:, cols], -(self.equal @ shown)
        a_ub, b_ub = self.bounds[:, cols], -(self.bounds @ shown)
        broken_eq = np.abs(b_eq[np.diff(a_eq.indptr) == 0]) > _EPS
        if broken_eq.any() or (b_ub[np.diff(a_ub.indptr) == 0] < -_EPS).any():
            return None
        lo_seen, hi_seen = seen

        def solve(objective: np.ndarray) -> tuple[int, float]:
            res = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, method="highs")
            if res.status == 0:
                point = shown.copy()
                point[cols] = res.x
                np.minimum(lo_seen, point, out=lo_seen)
                np.maximum(hi_seen, point, out=hi_seen)
                return 0, float(res.fun)
            if res.status in (2, 3, 4):
                return int(res.status), inf
            raise RuntimeError(f"linear program failed: {res.message}")

        if len(cols) and not np.isfinite(lo_seen[cols]).all() and solve(np.zeros(len(cols)))[0]:
            return None
        position = {int(j): i for i, j in enumerate(cols)}
        out: dict[int, tuple[float, float]] = {}
        for j in map(int, check):
            lo, hi = ceil(lo_seen[j] - _EPS), floor(hi_seen[j] + _EPS)
            if need is not None and hi - lo >= need:
                out[j] = (lo, hi)
                continue
            unit = np.zeros(len(cols))
            unit[position[j]] = 1.0
            if lo > 0:
                lo = ceil(solve(unit)[1] - _EPS)
            status, top = solve(-unit)
            out[j] = (lo, inf if status else floor(-top + _EPS))
        return out


def protect(counts: np.ndarray, hidden: np.ndarray, shape: tuple[int, ...], need: int) -> None:
    """Suppress more entries (``hidden``, flat, in place) until every suppressed one is protected.

    First the line rule, then against two attackers in turn until neither needs more: one who
    knows which lines sum exactly to their total (equations) and which count distinct units
    (inequalities), and, if some line does not sum exactly, one who takes every line as an exact
    sum for as long as the published counts allow that. While a suppressed entry (the first in
    key order) has a range under ``need`` and is not pinned at zero, the cheapest published entry
    on its lines is suppressed (see :func:`cheapest`), then the line rule applied again. Raises
    ``ValueError`` if a line sums to less than its total or an entry exceeds its total.
    """
    lines = Lines(shape)
    excess = lines.sums @ counts
    if (excess < 0).any() or (lines.caps @ counts > 0).any():
        raise ValueError(
            "not a table of counts with totals: a line sums to less than its total or an entry "
            "exceeds its total"
        )
    attackers = [(Attack(lines, excess == 0), (counts.copy(), counts.copy()))]
    if (excess != 0).any():
        unseen = (np.full(counts.size, inf), np.full(counts.size, -inf))
        attackers.append((Attack(lines, np.ones(len(excess), dtype=bool)), unseen))

    def defend(attack: Attack, seen: tuple[np.ndarray, np.ndarray]) -> None:
        # A protected entry stays protected as more are suppressed (the feasible set only
        # grows), so each is settled once; ``seen`` carries feasible points between checks.
        queue = set(np.flatnonzero(hidden).tolist())
        while queue:
            entry = min(queue)
            ranges = attack.ranges(counts, hidden, np.array([entry]), need, seen)
            if ranges is None:
                return
            if protected(*ranges[entry], need):
                queue.discard(entry)
                continue
            before = hidden.copy()
            hidden[cheapest(counts, hidden, lines.neighbours(entry), shape)] = True
            line_rule(counts.reshape(shape), hidden.reshape(shape))
            queue.update(np.flatnonzero(hidden & ~before).tolist())

    line_rule(counts.reshape(shape), hidden.reshape(shape))
    while True:
        suppressed = hidden.sum()
        for attack, seen in attackers:
            defend(attack, seen)
        if len(attackers) == 1 or hidden.sum() == suppressed:
            return


def exposure(
    values: np.ndarray, hidden: np.ndarray, shape: tuple[int, ...], additive: bool, need: int
) -> tuple[dict[int, float], float | None] | None:
    """The range of each suppressed entry not pinned at zero, and the narrowest range.

    Ranges under ``need`` are exact; wider ones may be lower bounds, the narrowest exact (``inf``
    if all are unbounded, None if there are none). Lines are exact sums if ``additive``, else
    distinct units. None if the shown ``values`` break the relations.
    """
    lines = Lines(shape)
    attack = Attack(lines, np.full(lines.sums.shape[0], additive))
    seen = (np.full(values.size, inf), np.full(values.size, -inf))
    ranges = attack.ranges(values, hidden, np.flatnonzero(hidden), need, seen)
    if ranges is None:
        return None
    widths = {j: hi - lo for j, (lo, hi) in ranges.items() if hi > 0}
    narrowest = min((w for w in widths.values() if w < need), default=inf)
    for j in sorted(widths, key=lambda j: (widths[j], j)):
        if widths[j] >= narrowest:
            break
        exact = attack.ranges(values, hidden, np.array([j]), None, seen)
        assert exact is not None
        narrowest = min(narrowest, exact[j][1] - exact[j][0])
        widths[j] = exact[j][1] - exact[j][0]
    return widths, narrowest if widths else None


def protected(least: float, greatest: float, need: int) -> bool:
    """Whether a suppressed entry with this range is safe: wide enough, or pinned at zero."""
    return greatest - least >= need or greatest == 0


def line_rule(counts: np.ndarray, hidden: np.ndarray) -> None:
    """Suppress, in place, a second entry on every line with exactly one suppressed entry."""
    changed = True
    while changed:
        changed = False
        for axis, size in enumerate(counts.shape):
            for position in np.argwhere(hidden.sum(axis=axis) == 1):
                index: list[int | slice] = [int(i) for i in position]
                index.insert(axis, slice(None))
                line = tuple(index)
                if hidden[line].sum() != 1:
                    continue
                open_ = [int(i) for i in np.flatnonzero(~hidden[line])]
                values = counts[line]
                index[axis] = min(
                    open_, key=lambda i: (values[i] <= 0, values[i], i == size - 1, i)
                )
                hidden[tuple(index)] = True
                changed = True


def cheapest(
    counts: np.ndarray, hidden: np.ndarray, near: np.ndarray, shape: tuple[int, ...]
) -> int:
    """The cheapest published entry of ``near`` (of the whole table if none is left there).

    Smallest positive count first, zeros last (a suppressed zero blocks a range on one side);
    on ties inner cells before totals, then key order.
    """
    options = near[~hidden[near]]
    if not len(options):
        options = np.flatnonzero(~hidden)
    totals = np.zeros(len(options), dtype=bool)
    for axis, coords in enumerate(np.unravel_index(options, shape)):
        totals |= coords == shape[axis] - 1
    value = counts[options]
    return int(options[np.lexsort((options, totals, value, value <= 0))[0]])
