"""Statistical disclosure control: k-anonymity, l-diversity and small-cell suppression.

Record-level extracts are checked by equivalence class: the rows sharing one combination of
quasi-identifier values. Values are compared after conforming to their column's type (the frame's
dtype, which the runner sets from the declaration): strings without surrounding spaces, numbers in
one form (``1`` and ``1.0`` alike), so formatting alone never makes two values distinct. A missing
value (None, NaN, pd.NA) is a value of its own. With ``unit`` (the column identifying a person)
classes are measured in people, not rows; rows with no unit count as one person together.

Published tables (:func:`tabulate`) are audited against a reader who combines every published
entry and total by linear programming (see :mod:`pipelines.policy.tables`); :func:`suppress`
suppresses until each suppressed entry keeps a range of at least the protection width.

Results name classes and table entries by their quasi-identifier or dimension values only, never
by the contents of any other column.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.policy.tables import TOTAL as TOTAL
from pipelines.policy.tables import UNKNOWN as UNKNOWN
from pipelines.policy.tables import at_least_one, check_columns, exposure, grid, protect
from pipelines.policy.tables import tabulate as tabulate

Group = dict[str, str | int | None]


@dataclass(frozen=True)
class KAnonymity:
    """How far a frame is from k-anonymity over its quasi-identifiers.

    Sizes are rows, or people when a ``unit`` was given (``rows_below`` then counts people).
    """

    k: int
    quasi_identifiers: tuple[str, ...]
    min_k: int
    classes: int
    classes_below: int
    rows_below: int
    failing_groups: tuple[Group, ...]

    @property
    def passed(self) -> bool:
        """Whether every equivalence class has at least ``k`` rows (or people)."""
        return self.classes_below == 0


@dataclass(frozen=True)
class LDiversity:
    """How far a frame is from distinct l-diversity of one sensitive column, over people.

    ``classes_below`` counts failing classes: ``classes_under_l`` with fewer than ``l`` distinct
    values, and ``classes_shared`` with some value held by every person (the two overlap).
    """

    l: int  # noqa: E741
    sensitive: str
    quasi_identifiers: tuple[str, ...]
    min_l: int
    classes_below: int
    rows_below: int
    failing_groups: tuple[Group, ...]
    classes_under_l: int = 0
    classes_shared: int = 0

    @property
    def passed(self) -> bool:
        """Whether every class has ``l`` distinct values and none held by all its people."""
        return self.classes_below == 0


@dataclass(frozen=True, eq=False)
class Suppression:
    """A table after primary and secondary suppression, every suppressed entry protected."""

    threshold: int
    table: pd.DataFrame
    primary: int
    secondary: int
    protection: int


@dataclass(frozen=True)
class SuppressionAudit:
    """What a published table gives away: small counts shown, suppressed counts narrowed.

    ``narrowest`` is the smallest range of a suppressed entry not pinned at zero (``inf`` when
    unbounded, None when there is none). ``consistent`` is False when the published counts break
    the table's relations, so no range can be trusted.
    """

    threshold: int
    protection: int
    cells: int
    suppressed: int
    primary: int
    secondary: int
    unsafe_cells: int
    recoverable_cells: int
    narrowest: float | None
    consistent: bool
    additive: bool
    failing_groups: tuple[Group, ...]

    @property
    def passed(self) -> bool:
        """Whether no small count is shown and every suppressed count is protected."""
        return self.consistent and self.unsafe_cells == 0 and self.recoverable_cells == 0


def k_anonymity(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    unit: str | None = None,
    max_groups: int = 20,
) -> KAnonymity:
    """Equivalence classes of ``frame`` over ``quasi_identifiers`` with fewer than ``k`` members.

    Members are rows, or distinct values of ``unit`` (people: one person's rows count once).
    ``failing_groups`` holds up to ``max_groups`` of those classes, smallest first then by key,
    each as its quasi-identifier values (str, None for missing) plus its ``size``.
    """
    qis = check_columns(frame, quasi_identifiers, "quasi-identifier")
    at_least_one("k", k, max_groups)
    ids, labels = _classes(frame, qis)
    sizes = pd.Series(_people(frame, unit, qis)).groupby(ids).nunique(dropna=False)
    below = sizes[sizes < k]
    return KAnonymity(
        k=k,
        quasi_identifiers=qis,
        min_k=int(sizes.min()) if len(sizes) else 0,
        classes=len(sizes),
        classes_below=len(below),
        rows_below=int(below.sum()),
        failing_groups=_failing(labels, pd.DataFrame({"size": below}), max_groups),
    )


def l_diversity(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    l: int,  # noqa: E741
    *,
    unit: str | None = None,
    max_groups: int = 20,
) -> LDiversity:
    """Classes that disclose their people's sensitive values.

    A class fails if it holds fewer than ``l`` distinct values of ``sensitive``, or if some value
    is held by every person in it (in at least one of their rows), whatever ``l`` says: a reader
    who knows someone is in the class learns that value. People are distinct values of ``unit``
    (each row is a person without it). A missing sensitive value counts as one value: "not
    recorded" is something a reader learns about everyone in the class, like any other value.
    ``failing_groups`` is shaped as for :func:`k_anonymity`, with ``distinct``, ``size`` (people)
    and ``shared`` (how many values every person holds), fewest distinct values first.
    """
    qis = check_columns(frame, quasi_identifiers, "quasi-identifier")
    check_columns(frame, [sensitive], "sensitive")
    if sensitive in qis:
        raise ValueError(f"sensitive column {sensitive!r} is also a quasi-identifier")
    at_least_one("l", l, max_groups)
    ids, labels = _classes(frame, qis)
    rows = pd.DataFrame(
        {"id": ids, "person": _people(frame, unit, qis), "value": _conform(frame[sensitive])}
    )
    by_class = rows.groupby("id")
    size = by_class["person"].nunique(dropna=False)
    holders = rows.groupby(["id", "value"], dropna=False)["person"].nunique(dropna=False)
    everyone = holders.to_numpy() == size.loc[holders.index.get_level_values("id")].to_numpy()
    shared = pd.Series(everyone, index=holders.index).groupby(level="id").sum()
    stats = pd.DataFrame(
        {"distinct": by_class["value"].nunique(dropna=False), "size": size, "shared": shared}
    )
    below = stats[(stats["distinct"] < l) | (stats["shared"] > 0)]
    return LDiversity(
        l=l,
        sensitive=sensitive,
        quasi_identifiers=qis,
        min_l=int(stats["distinct"].min()) if len(stats) else 0,
        classes_below=len(below),
        rows_below=int(below["size"].sum()),
        failing_groups=_failing(labels, below, max_groups),
        classes_under_l=int((stats["distinct"] < l).sum()),
        classes_shared=int((stats["shared"] > 0).sum()),
    )


def suppress(
    table: pd.DataFrame,
    dimensions: Sequence[str],
    threshold: int,
    *,
    count_column: str = "count",
    protection: int | None = None,
) -> Suppression:
    """Suppress a table such as :func:`tabulate` returns so that no small count can be learned.

    Primary: every entry, cell or total, with ``0 < count < threshold``. Secondary: first the line
    rule (no line with exactly one suppressed entry), then more until no suppressed entry can be
    narrowed by linear programming over everything published to a range under ``protection``
    (default: the threshold); see :func:`pipelines.policy.tables.protect` for the order. The
    attacker knows which lines sum exactly to their total; so the result passes
    :func:`audit_suppression` as distinct units (``additive=False``) and, whenever the published
    counts are consistent with exact sums, with the default. Raises ``ValueError`` for counts no
    table could hold (a line below its total, an entry above it). It always ends: with everything
    suppressed every entry is unbounded.
    """
    at_least_one("threshold", threshold)
    need = threshold if protection is None else protection
    at_least_one("protection", need)
    _, _, shape, flat = grid(table, dimensions, count_column)
    raw = pd.to_numeric(table[count_column], errors="coerce")
    if raw.isna().any() or (raw < 0).any() or (raw % 1 != 0).any():
        raise ValueError(f"{count_column!r} must hold non-negative whole counts, none missing")
    counts = np.zeros(int(np.prod(shape)))
    counts[flat] = raw.to_numpy(dtype=float)
    primary = (counts > 0) & (counts < threshold)
    hidden = primary.copy()
    protect(counts, hidden, shape, need)
    rows_hidden = hidden[flat]
    rows_primary = primary[flat]
    out = table.copy()
    out[count_column] = raw.astype("Int64").mask(rows_hidden)
    out["suppressed"] = pd.array(rows_hidden, dtype="boolean")
    kind = pd.Series(pd.NA, index=out.index, dtype="string").mask(rows_hidden, "secondary")
    out["suppression"] = kind.mask(rows_primary, "primary")
    n_primary = int(primary.sum())
    return Suppression(threshold, out, n_primary, int(hidden.sum()) - n_primary, need)


def audit_suppression(
    table: pd.DataFrame,
    dimensions: Sequence[str],
    threshold: int,
    *,
    count_column: str = "count",
    suppressed_column: str = "suppressed",
    suppression_column: str = "suppression",
    protection: int | None = None,
    additive: bool = True,
    max_groups: int = 20,
) -> SuppressionAudit:
    """Check a table meant for publication as its reader would attack it.

    An entry is suppressed only if its count is missing: a count still shown is published,
    whatever ``suppressed_column`` says, and fails if it is from 1 to ``threshold - 1``. Each
    suppressed entry is bounded as the module describes; it fails if its range is narrower than
    ``protection`` (default: the threshold) and it is not pinned at zero. ``additive`` says lines
    sum exactly to their totals (row counts); pass False for counts of distinct units. Primary and
    secondary are counted from ``suppression_column`` when present (for the report only).
    ``failing_groups`` lists up to ``max_groups`` entries by dimension values and a ``reason``:
    shown small counts in key order, then under-protected entries, narrowest first; never a count.
    Raises ``ValueError`` if the table is not a complete cross-classification with totals.
    """
    at_least_one("threshold", threshold, max_groups)
    need = threshold if protection is None else protection
    at_least_one("protection", need)
    dims, levels, shape, flat = grid(table, dimensions, count_column)
    shown = pd.to_numeric(table[count_column]).to_numpy(dtype=float, na_value=np.nan)
    rows_hidden = np.isnan(shown)
    if (shown[~rows_hidden] < 0).any() or (shown[~rows_hidden] % 1 != 0).any():
        raise ValueError(f"{count_column!r} must hold non-negative whole counts where shown")
    values = np.zeros(int(np.prod(shape)))
    values[flat] = np.nan_to_num(shown)
    hidden = np.zeros(values.size, dtype=bool)
    hidden[flat] = rows_hidden
    small = ~rows_hidden & (shown > 0) & (shown < threshold)
    flagged = np.zeros(len(table), dtype=bool)
    if suppressed_column in table.columns:
        flagged = table[suppressed_column].astype("boolean").fillna(False).to_numpy(dtype=bool)
    note = np.where(flagged, ", shown although flagged suppressed", "")
    failing = [(int(flat[i]), f"below threshold{note[i]}") for i in np.argsort(flat) if small[i]]
    labels = table.get(suppression_column, pd.Series("", index=table.index))
    primary = int((rows_hidden & (labels == "primary").fillna(False).to_numpy(dtype=bool)).sum())
    exposed = exposure(values, hidden, shape, additive, need)
    widths, narrowest = exposed or ({}, None)
    weak = sorted((w, j) for j, w in widths.items() if w < need)
    failing += [(j, _too_narrow(w, need)) for w, j in weak]
    groups: list[Group] = []
    for entry, reason in failing[:max_groups]:
        coords = np.unravel_index(entry, shape)
        group: Group = {
            d: levels[i][int(c)] for i, (d, c) in enumerate(zip(dims, coords, strict=True))
        }
        groups.append(group | {"reason": reason})
    return SuppressionAudit(
        threshold=threshold,
        protection=need,
        cells=len(table),
        suppressed=int(hidden.sum()),
        primary=primary,
        secondary=int(hidden.sum()) - primary,
        unsafe_cells=int(small.sum()),
        recoverable_cells=len(weak),
        narrowest=narrowest,
        consistent=exposed is not None,
        additive=additive,
        failing_groups=tuple(groups),
    )


def _too_narrow(width: float, need: int) -> str:
    if width == 0:
        return "recoverable exactly from the published counts"
    return f"narrowed by the published counts to a range of {int(width)} (needs {need})"


def _people(frame: pd.DataFrame, unit: str | None, qis: tuple[str, ...]) -> np.ndarray:
    if unit is None:
        return np.arange(len(frame))
    check_columns(frame, [unit], "unit")
    if unit in qis:
        raise ValueError(f"unit column {unit!r} is also a quasi-identifier")
    people: np.ndarray = _conform(frame[unit]).to_numpy(dtype=object, na_value=None)
    return people


def _conform(values: pd.Series) -> pd.Series:
    """Values as comparable strings after their type: see the module docstring."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        text = pa.array(values, type=pa.string(), from_pandas=True)
        trimmed = pd.arrays.ArrowStringArray(pc.utf8_trim_whitespace(text))
        return pd.Series(trimmed, index=values.index, dtype="string[pyarrow]")
    if values.dtype == object:  # mixed types: 1, 1.0 and True hash alike, so value by value
        missing = values.isna().to_numpy()
        out = [None if gone else _canonical(v) for v, gone in zip(values, missing, strict=True)]
        return pd.Series(out, index=values.index, dtype="string")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    canonical = np.array([_canonical(v) for v in uniques.tolist()] + [None], dtype=object)
    return pd.Series(canonical[codes], index=values.index, dtype="string")


def _canonical(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _classes(frame: pd.DataFrame, qis: tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's class number, and each class's quasi-identifier values (index: number)."""
    keys = pd.DataFrame({q: _conform(frame[q]).to_numpy() for q in qis})
    ids = keys.groupby(list(qis), dropna=False, sort=False).ngroup().to_numpy()
    first = ~pd.Series(ids).duplicated().to_numpy()
    return ids, keys[first].set_axis(ids[first])


def _failing(labels: pd.DataFrame, stats: pd.DataFrame, max_groups: int) -> tuple[Group, ...]:
    ranked: list[tuple[tuple[int, list[tuple[bool, str]]], Group]] = []
    for class_id, values in zip(stats.index, stats.to_numpy().tolist(), strict=True):
        key = [None if pd.isna(v) else str(v) for v in labels.loc[class_id]]
        group: Group = dict(zip(labels.columns, key, strict=True))
        group.update(zip(stats.columns, (int(v) for v in values), strict=True))
        ranked.append(((values[0], [(s is None, s or "") for s in key]), group))
    ranked.sort(key=lambda item: item[0])
    return tuple(group for _, group in ranked[:max_groups])
