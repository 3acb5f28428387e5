"""Statistical disclosure control: k-anonymity, l-diversity and small-cell suppression.

Record-level extracts are checked by equivalence class: the rows sharing one combination of
quasi-identifier values. A missing quasi-identifier value (None, NaN, pd.NA) is a value of its own.

Published aggregate tables are a full cross-classification of their dimensions with marginal
totals (see :func:`tabulate`). Each *line* of such a table, all dimensions fixed but one, is an
equation: its entries sum to the entry where the free dimension is ``Total``. A line with exactly
one suppressed entry gives that entry away by subtraction; :func:`suppress` adds secondary
suppressions until no line does, and :func:`audit_suppression` checks that. This is the usual line
rule, not a full linear-programming audit: it does not look for attacks that combine several
lines or narrow a suppressed entry to an interval.

Results name classes and table entries by their quasi-identifier or dimension values only, never
by the contents of any other column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Final

import numpy as np
import pandas as pd

TOTAL: Final = "Total"
UNKNOWN: Final = "Unknown"

Group = dict[str, str | int | None]


@dataclass(frozen=True)
class KAnonymity:
    """How far a frame is from k-anonymity over its quasi-identifiers."""

    k: int
    quasi_identifiers: tuple[str, ...]
    min_k: int
    classes: int
    classes_below: int
    rows_below: int
    failing_groups: tuple[Group, ...]

    @property
    def passed(self) -> bool:
        """Whether every equivalence class has at least ``k`` rows."""
        return self.classes_below == 0


@dataclass(frozen=True)
class LDiversity:
    """How far a frame is from distinct l-diversity of one sensitive column."""

    l: int  # noqa: E741
    sensitive: str
    quasi_identifiers: tuple[str, ...]
    min_l: int
    classes_below: int
    rows_below: int
    failing_groups: tuple[Group, ...]

    @property
    def passed(self) -> bool:
        """Whether every equivalence class has at least ``l`` distinct sensitive values."""
        return self.classes_below == 0


@dataclass(frozen=True, eq=False)
class Suppression:
    """A table after primary and secondary suppression."""

    threshold: int
    table: pd.DataFrame
    primary: int
    secondary: int


@dataclass(frozen=True)
class SuppressionAudit:
    """Entries of a published table that disclose small counts, directly or by subtraction."""

    threshold: int
    cells: int
    suppressed: int
    unsafe_cells: int
    recoverable_cells: int
    failing_groups: tuple[Group, ...]

    @property
    def passed(self) -> bool:
        """Whether no small count is published and none can be recovered from a line."""
        return self.unsafe_cells == 0 and self.recoverable_cells == 0


def k_anonymity(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int, *, max_groups: int = 20
) -> KAnonymity:
    """Equivalence classes of ``frame`` over ``quasi_identifiers`` with fewer than ``k`` rows.

    ``failing_groups`` holds up to ``max_groups`` of those classes, smallest first then by key,
    each as its quasi-identifier values (str, None for missing) plus its ``size``.
    """
    qis = _check_columns(frame, quasi_identifiers, "quasi-identifier")
    _at_least_one("k", k, max_groups)
    sizes = _classes(frame, qis).size()
    below = sizes[sizes < k]
    return KAnonymity(
        k=k,
        quasi_identifiers=qis,
        min_k=int(sizes.min()) if len(sizes) else 0,
        classes=len(sizes),
        classes_below=len(below),
        rows_below=int(below.sum()),
        failing_groups=_failing(pd.DataFrame({"size": below}), qis, max_groups),
    )


def l_diversity(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    l: int,  # noqa: E741
    *,
    max_groups: int = 20,
) -> LDiversity:
    """Equivalence classes with fewer than ``l`` distinct values of the ``sensitive`` column.

    A missing sensitive value counts as one value: "not recorded" is something a reader learns
    about everyone in the class, like any other value. A class whose sensitive values are all
    missing therefore has one distinct value. ``failing_groups`` is shaped as for
    :func:`k_anonymity`, with ``distinct`` and ``size``, fewest distinct values first.
    """
    qis = _check_columns(frame, quasi_identifiers, "quasi-identifier")
    _check_columns(frame, [sensitive], "sensitive")
    if sensitive in qis:
        raise ValueError(f"sensitive column {sensitive!r} is also a quasi-identifier")
    _at_least_one("l", l, max_groups)
    grouped = _classes(frame, qis)[sensitive]
    stats = pd.DataFrame({"distinct": grouped.nunique(dropna=False), "size": grouped.size()})
    below = stats[stats["distinct"] < l]
    return LDiversity(
        l=l,
        sensitive=sensitive,
        quasi_identifiers=qis,
        min_l=int(stats["distinct"].min()) if len(stats) else 0,
        classes_below=len(below),
        rows_below=int(below["size"].sum()),
        failing_groups=_failing(below, qis, max_groups),
    )


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
    several entries of a line is counted once in its total, so lines may then sum to more than the
    total; suppression still treats them as equations, which is conservative.
    """
    dims = _check_columns(frame, dimensions, "dimension")
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


def suppress(
    table: pd.DataFrame, dimensions: Sequence[str], threshold: int, *, count_column: str = "count"
) -> Suppression:
    """Primary and secondary suppression of a complete table such as :func:`tabulate` returns.

    Primary: every entry, cell or total, with ``0 < count < threshold`` (a zero is published).
    Secondary, repeated until stable: on each line with exactly one suppressed entry, suppress the
    unsuppressed entry with the smallest positive count, non-``Total`` entries first on ties, then
    in key order (the order values first appear in the table). If no positive entry is left, the
    smallest remaining one (a zero) is suppressed so the line still has two unknowns.
    """
    _at_least_one("threshold", threshold)
    _, _, shape, flat = _grid(table, dimensions, count_column)
    raw = pd.to_numeric(table[count_column], errors="coerce")
    if raw.isna().any() or (raw < 0).any() or (raw % 1 != 0).any():
        raise ValueError(f"{count_column!r} must hold non-negative whole counts, none missing")
    counts = np.zeros(int(np.prod(shape)))
    counts[flat] = raw.to_numpy(dtype=float)
    counts = counts.reshape(shape)
    primary = (counts > 0) & (counts < threshold)
    hidden = primary.copy()
    changed = True
    while changed:
        changed = False
        for axis, size in enumerate(shape):
            for position in np.argwhere(hidden.sum(axis=axis) == 1):
                index: list[int | slice] = [int(i) for i in position]
                index.insert(axis, slice(None))
                line = tuple(index)
                if hidden[line].sum() != 1:
                    continue
                open_ = [int(i) for i in np.flatnonzero(~hidden[line])]
                index[axis] = _pick(counts[line], open_, size - 1)
                hidden[tuple(index)] = True
                changed = True
    rows_hidden = hidden.ravel()[flat]
    rows_primary = primary.ravel()[flat]
    out = table.copy()
    out[count_column] = raw.astype("Int64").mask(rows_hidden)
    out["suppressed"] = pd.array(rows_hidden, dtype="boolean")
    kind = pd.Series(pd.NA, index=out.index, dtype="string").mask(rows_hidden, "secondary")
    out["suppression"] = kind.mask(rows_primary, "primary")
    n_primary = int(primary.sum())
    return Suppression(threshold, out, n_primary, int(hidden.sum()) - n_primary)


def audit_suppression(
    table: pd.DataFrame,
    dimensions: Sequence[str],
    threshold: int,
    *,
    count_column: str = "count",
    suppressed_column: str = "suppressed",
    max_groups: int = 20,
) -> SuppressionAudit:
    """Check a table meant for publication against the small-cell rule and the line rule.

    An entry counts as suppressed if its count is missing or, when the table has
    ``suppressed_column``, that column is true (the count may then still be present for internal
    use). ``failing_groups`` lists up to ``max_groups`` entries by dimension values and a
    ``reason``: unsafe entries first, then recoverable ones, each in key order; never a count.
    Raises ``ValueError`` if the table is not a complete cross-classification with totals.
    """
    _at_least_one("threshold", threshold, max_groups)
    dims, levels, shape, flat = _grid(table, dimensions, count_column)
    counts = pd.to_numeric(table[count_column]).to_numpy(dtype=float, na_value=np.nan)
    rows_hidden = np.isnan(counts)
    if suppressed_column in table.columns:
        flags = table[suppressed_column].astype("boolean").fillna(False)
        rows_hidden |= flags.to_numpy(dtype=bool)
    hidden = np.zeros(int(np.prod(shape)), dtype=bool)
    hidden[flat] = rows_hidden
    hidden = hidden.reshape(shape)
    unsafe = np.zeros(hidden.size, dtype=bool)
    unsafe[flat] = ~rows_hidden & (counts > 0) & (counts < threshold)
    reasons: dict[int, str] = {}
    for axis, dim in enumerate(dims):
        first = hidden.argmax(axis=axis)
        for position in np.argwhere(hidden.sum(axis=axis) == 1):
            index = [int(i) for i in position]
            index.insert(axis, int(first[tuple(position)]))
            entry = int(np.ravel_multi_index(tuple(index), shape))
            reasons.setdefault(entry, f"recoverable from the total of {dim}")
    failing = [(int(p), "below threshold") for p in np.flatnonzero(unsafe)]
    failing += sorted(reasons.items())
    groups: list[Group] = []
    for entry, reason in failing[:max_groups]:
        coords = np.unravel_index(entry, shape)
        group: Group = {
            d: levels[i][int(c)] for i, (d, c) in enumerate(zip(dims, coords, strict=True))
        }
        group["reason"] = reason
        groups.append(group)
    return SuppressionAudit(
        threshold=threshold,
        cells=len(table),
        suppressed=int(hidden.sum()),
        unsafe_cells=int(unsafe.sum()),
        recoverable_cells=len(reasons),
        failing_groups=tuple(groups),
    )


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], role: str) -> tuple[str, ...]:
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


def _at_least_one(name: str, value: int, max_groups: int = 0) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    if max_groups < 0:
        raise ValueError(f"max_groups must be at least 0, not {max_groups}")


def _classes(frame: pd.DataFrame, qis: tuple[str, ...]) -> pd.api.typing.DataFrameGroupBy:
    keys = [frame[q].astype(object).map(str).astype("string").mask(frame[q].isna()) for q in qis]
    return frame.groupby(keys, dropna=False, sort=False)


def _failing(stats: pd.DataFrame, qis: tuple[str, ...], max_groups: int) -> tuple[Group, ...]:
    ranked: list[tuple[tuple[int, list[tuple[bool, str]]], Group]] = []
    for key, values in zip(stats.index, stats.to_numpy().tolist(), strict=True):
        parts = key if isinstance(key, tuple) else (key,)
        labels = [None if pd.isna(v) else str(v) for v in parts]
        group: Group = dict(zip(qis, labels, strict=True))
        group.update(zip(stats.columns, (int(v) for v in values), strict=True))
        ranked.append(((values[0], [(s is None, s or "") for s in labels]), group))
    ranked.sort(key=lambda item: item[0])
    return tuple(group for _, group in ranked[:max_groups])


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


def _grid(
    table: pd.DataFrame, dimensions: Sequence[str], count_column: str
) -> tuple[tuple[str, ...], list[list[str]], tuple[int, ...], np.ndarray]:
    """Each dimension's values (Total last), the grid's shape and each row's flat position."""
    dims = _check_columns(table, dimensions, "dimension")
    _check_columns(table, [count_column], "count")
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


def _pick(counts: np.ndarray, candidates: list[int], total_index: int) -> int:
    return min(candidates, key=lambda i: (counts[i] <= 0, counts[i], i == total_index, i))
