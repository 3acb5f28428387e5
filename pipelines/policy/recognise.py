"""Recognising people's identifiers in any form: one vectorised component for every control.

An identifier is recognised by its *scheme* (NHS number, National Insurance number, e-mail
address) after normalising it: separators, whitespace and case do not matter, an NHS number
stored as a number is still one (NHS numbers have no leading zeros to lose), and an identifier
inside free
text is found as well as a whole value. Beyond the schemes, the values of the inputs' direct
identifier columns (names, addresses, references) are *known identifiers*, matched whole after
collapsing whitespace and case (a name inside free text needs named-entity recognition, which this
does not attempt). An unkeyed digest (MD5, SHA-1, SHA-256, SHA-512; hex in either
case or base64; whole or a hex prefix of 16 characters or more) of a known identifier is
recognised by hashing the known identifiers (in their normal form) and comparing: anyone can hash
the NHS number range.

Everything runs on whole columns (pyarrow compute, numpy); Python only touches the few values
that already look like a candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from expectations.nhs import is_valid_nhs_number, valid_nhs_array
from pipelines.policy.digests import DigestIndex, candidates
from pipelines.policy.issued import Issued
from pipelines.policy.valueset import ValueSet

MIN_KNOWN_LENGTH = 6
_TEXT = "string[pyarrow]"
_NI_PREFIX_BANNED = ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")
_SEPARATORS = re.compile(r"[\s\-./]")
# a single digest-like token (a pseudonym or hash): searched as a digest, not as text
_TOKEN = r"^(?:[0-9A-Fa-f]{32,}|[A-Za-z0-9+/_\-]{22,}={0,2})$"


@dataclass(frozen=True)
class Scheme:
    """An identifier scheme: how to find it in text, normalise it and tell a valid one."""

    name: str
    label: str
    embedded: re.Pattern[str]  # one occurrence inside text (Python regex)
    candidate: str  # the same, without look-arounds, to find candidate rows (RE2, in pyarrow)
    canonical: str  # RE2 regex a normalised value fully matches
    valid: Callable[[pa.Array], pa.Array] | None = None

    def normalise(self, values: pd.Series) -> pd.Series:
        """Each value in this scheme's normal form (the others unchanged, upper-cased)."""
        text = _arrow(values)
        if self.name == "email":
            return _series(pc.utf8_lower(pc.utf8_trim_whitespace(text)), values.index)
        bare = pc.replace_substring_regex(text, r"[\s\-./]", "")
        return _series(pc.utf8_upper(bare), values.index)

    def normalise_one(self, value: str) -> str:
        """One value in this scheme's normal form (see :meth:`normalise`)."""
        if self.name == "email":
            return value.strip().lower()
        return _SEPARATORS.sub("", value).upper()

    def valid_one(self, normal: str) -> bool:
        """Whether one normalised value is an identifier of this scheme."""
        if not re.fullmatch(self.canonical, normal):
            return False
        if self.name == "nhs_number":
            return is_valid_nhs_number(normal)
        return not (self.name == "ni_number" and normal[:2] in _NI_PREFIX_BANNED)

    def recognised(self, normal: pd.Series) -> np.ndarray:
        """Which normalised values are identifiers of this scheme (shape and check digit)."""
        arr = pa.array(normal, type=pa.string(), from_pandas=True)
        hit = pc.fill_null(pc.match_substring_regex(arr, f"^(?:{self.canonical})$"), False)
        if self.valid is not None:
            hit = pc.and_(hit, pc.fill_null(self.valid(arr), False))
        return np.asarray(hit, dtype=bool)


def nhs_valid(values: pa.Array) -> pa.Array:
    """Modulus-11 check of 10-digit strings, on the whole array."""
    return pa.array(valid_nhs_array(values))


def _ni_valid(values: pa.Array) -> pa.Array:
    text = pc.fill_null(values, "")
    banned = pc.is_in(pc.utf8_slice_codeunits(text, 0, 2), value_set=pa.array(_NI_PREFIX_BANNED))
    return pc.invert(banned)


SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme(
            "nhs_number",
            "NHS number",
            re.compile(r"(?<![\d])\d{3}[\s\-./]?\d{3}[\s\-./]?\d{4}(?![\d])"),
            r"\d{3}[\s\-./]?\d{3}[\s\-./]?\d{4}",
            r"\d{10}",
            nhs_valid,
        ),
        Scheme(
            "ni_number",
            "National Insurance number",
            re.compile(
                r"(?<![A-Za-z0-9])[A-Za-z]{2}[\s\-]?\d{2}[\s\-]?\d{2}[\s\-]?\d{2}[\s\-]?[A-Da-d]"
                r"(?![A-Za-z0-9])"
            ),
            r"[A-Za-z]{2}[\s\-]?\d{2}[\s\-]?\d{2}[\s\-]?\d{2}[\s\-]?[A-Da-d]",
            r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]",
            _ni_valid,
        ),
        Scheme(
            "email",
            "e-mail address",
            re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"),
            r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+",
            r"[^@\s]+@[^@\s]+\.[^@\s]+",
        ),
    )
}


def _as_text(values: pd.Series) -> pd.Series:
    """Values as text, whole floats without their ``.0`` (an identifier stored as a number)."""
    if pd.api.types.is_float_dtype(values.dtype):
        values = values.where(values.isna() | (values == values.round())).astype("Int64")
    return values.astype(_TEXT)


def _arrow(values: pd.Series) -> pa.Array:
    """The values as one Arrow string array (pandas' regex replace runs in Python per value);
    a column read in several chunks (a large CSV or Parquet file) is joined into one."""
    array = pa.array(_as_text(values), type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(values), index=index, dtype=_TEXT)


def generic_normal(values: pd.Series) -> pd.Series:
    """A known identifier's normal form: whitespace collapsed, case folded."""
    text = pc.utf8_trim_whitespace(_arrow(values))
    return _series(pc.utf8_lower(pc.replace_substring_regex(text, r"\s+", " ")), values.index)


def learn(values: pd.Series, share: float = 0.5) -> Scheme | None:
    """The scheme most of a column's values (``share`` of those present) belong to, if any."""
    present = values.dropna()
    if not len(present):
        return None
    counted = pc.value_counts(_arrow(present))  # each distinct text once, with its rows
    distinct = _series(counted.field("values"), pd.RangeIndex(len(counted)))
    rows = np.asarray(counted.field("counts"), dtype=np.int64)
    for scheme in SCHEMES.values():
        if rows[scheme.recognised(scheme.normalise(distinct))].sum() / len(present) >= share:
            return scheme
    return None


class Known:
    """People's identifiers a control searches for: normalised, by scheme, and their digests.

    ``by_scheme`` seeds it with values already in a scheme's normal form.
    """

    def __init__(self, by_scheme: Mapping[str, Iterable[str]] | None = None) -> None:
        self._parts: dict[str, list[pa.Array]] = {}
        self._generic_parts: list[pa.Array] = []
        self._cache: dict[str, Any] = {}
        for name, values in (by_scheme or {}).items():
            self._parts.setdefault(name, []).append(pa.array(list(values), type=pa.string()))

    def add(self, values: pd.Series, scheme: Scheme | None) -> None:
        """Add a column's values, normalised in ``scheme`` (or generically when None)."""
        present = values.dropna()
        distinct = pc.unique(_arrow(present))  # each text once
        present = _series(distinct, pd.RangeIndex(len(distinct)))
        self._cache.clear()
        if scheme is not None:
            normal = scheme.normalise(present)
            recognised = _arrow(normal).filter(pa.array(scheme.recognised(normal)))
            self._parts.setdefault(scheme.name, []).append(pc.unique(recognised))
            return
        normal_text = _arrow(generic_normal(present))
        long_enough = pc.greater_equal(pc.utf8_length(normal_text), MIN_KNOWN_LENGTH)
        self._generic_parts.append(pc.unique(normal_text.filter(long_enough)))

    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def values(self, scheme: str) -> pa.Array:
        """The distinct normalised identifiers of ``scheme``."""
        return cast(
            pa.Array, self._cached(f"values:{scheme}", lambda: _union(self._parts.get(scheme, [])))
        )

    @property
    def schemes(self) -> tuple[str, ...]:
        """The schemes holding at least one identifier."""
        return tuple(name for name in self._parts if len(self.values(name)))

    @property
    def generic(self) -> pa.Array:
        """The distinct known identifiers of no scheme (names, addresses, references)."""
        return cast(pa.Array, self._cached("generic", lambda: _union(self._generic_parts)))

    def _set(self, scheme: str | None) -> ValueSet:
        if scheme is None:
            return cast(ValueSet, self._cached("set:", lambda: ValueSet(self.generic)))
        return cast(ValueSet, self._cached(f"set:{scheme}", lambda: ValueSet(self.values(scheme))))

    def __len__(self) -> int:
        return sum(len(self.values(name)) for name in self._parts) + len(self.generic)

    def holds(self, scheme: str, normals: Sequence[str]) -> np.ndarray:
        """Which of ``normals`` (already in ``scheme``'s normal form) are known identifiers."""
        if scheme not in self._parts or not normals:
            return np.zeros(len(normals), dtype=bool)
        return self._set(scheme).contains(pa.array(list(normals), type=pa.string()))

    def matches(self, values: pd.Series) -> np.ndarray:
        """Which values equal a known identifier after normalising."""
        hit = np.zeros(len(values), dtype=bool)
        for name in self.schemes:
            hit |= self._set(name).contains(_arrow(SCHEMES[name].normalise(values)))
        if len(self.generic):
            hit |= self.generic_matches(values)
        return hit

    def generic_matches(self, values: pd.Series) -> np.ndarray:
        """Which values equal a known identifier of no scheme, whitespace and case aside."""
        if not len(self.generic) or not len(values):
            return np.zeros(len(values), dtype=bool)
        return self._set(None).contains(_arrow(generic_normal(values)))

    def digested(self, values: pd.Series) -> np.ndarray:
        """Which values are an unkeyed digest (or a 16+ hex prefix of one) of a known identifier."""
        out = np.zeros(len(values), dtype=bool)
        if not len(self):
            return out
        rows, hexes = candidates(values)
        if len(rows):  # only then is every known identifier worth hashing
            index = self._cached("digests", lambda: DigestIndex.unkeyed(_digest_inputs(self)))
            out[rows] = cast(DigestIndex, index).lookup(hexes) >= 0
        return out


def _union(parts: list[pa.Array]) -> pa.Array:
    if not parts:
        return pa.array([], type=pa.string())
    return pc.unique(pa.chunked_array(parts, type=pa.string()).combine_chunks())


def _digest_inputs(known: Known) -> list[str]:
    """What an attacker would hash: each known identifier in its normal form."""
    values: list[str] = []
    for array in (*(known.values(name) for name in known.schemes), known.generic):
        values.extend(array.to_pylist())
    return values


@dataclass(frozen=True)
class Found:
    """Where identifiers were found in one column, by kind (row masks)."""

    known: np.ndarray
    shaped: dict[str, np.ndarray]
    embedded: np.ndarray
    digest: np.ndarray

    def mapped(self, change: Callable[[np.ndarray], np.ndarray]) -> Found:
        """Every mask passed through ``change`` (e.g. from distinct values back to rows)."""
        return Found(
            change(self.known),
            {k: change(v) for k, v in self.shaped.items()},
            change(self.embedded),
            change(self.digest),
        )

    def widened(self, rows: np.ndarray, n: int) -> Found:
        """These masks, found on ``rows`` of a column of ``n`` values, over the whole column."""

        def widen(mask: np.ndarray) -> np.ndarray:
            out = np.zeros(n, dtype=bool)
            out[rows] = mask
            return out

        return self.mapped(widen)

    @property
    def any(self) -> np.ndarray:
        """Rows holding an identifier in any form."""
        out: np.ndarray = self.known | self.embedded | self.digest
        for mask in self.shaped.values():
            out = out | mask
        return out


def search(
    values: pd.Series,
    known: Known,
    schemes: Iterable[Scheme] = (),
    *,
    issued: Issued | None = None,
) -> Found:
    """Identifiers in ``values``: known ones (whole, embedded in text or digested) and any value
    valid in one of ``schemes`` (whole or embedded), whoever it belongs to. Values this run's
    context ``issued`` as keyed pseudonyms are none of these (see :mod:`.issued`)."""
    chosen = tuple(schemes)
    n = len(values)
    skip = issued.mask(values) if issued is not None else None
    if skip is not None and skip.any():
        rest = np.flatnonzero(~skip)
        return search(values.iloc[rest], known, chosen).widened(rest, n)
    if (
        not n
        or pd.api.types.is_datetime64_any_dtype(values.dtype)
        or pd.api.types.is_bool_dtype(values.dtype)
    ):  # no identifier is a date or a truth value
        empty = np.zeros(n, dtype=bool)
        return Found(empty, {s.name: empty for s in chosen}, empty, empty)
    encoded = pc.dictionary_encode(_arrow(values))
    if len(encoded.dictionary) > n // 2:
        return _search(values, known, chosen)
    distinct = _series(encoded.dictionary, pd.RangeIndex(len(encoded.dictionary)))
    found = _search(distinct, known, chosen)
    rows = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)

    def spread(mask: np.ndarray) -> np.ndarray:
        spread_out: np.ndarray = np.append(mask, False)[rows]
        return spread_out

    return found.mapped(spread)


def _search(values: pd.Series, known: Known, chosen: tuple[Scheme, ...]) -> Found:
    """The search on whole values. A single digest-like token (32+ hex characters, 22+ of
    base64) is neither a scheme's identifier nor text holding one, so only the known-value and
    digest searches look at it."""
    n = len(values)
    arr = pa.array(_as_text(values), type=pa.string(), from_pandas=True)
    tokens = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _TOKEN), False), dtype=bool)
    rows = np.flatnonzero(~tokens)
    plain = values.iloc[rows] if len(rows) < n else values

    def widen(mask: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[rows] = mask
        return out

    known_hit = widen(known.matches(plain)) if len(known) else np.zeros(n, dtype=bool)
    if len(known.generic) and tokens.any():
        known_hit[tokens] = known.generic_matches(values.iloc[np.flatnonzero(tokens)])
    shaped = {s.name: widen(s.recognised(s.normalise(plain))) for s in chosen}
    embedded = widen(_embedded(plain, known, chosen))
    digest = known.digested(values)
    return Found(known_hit, shaped, embedded, digest)


def _embedded(values: pd.Series, known: Known, schemes: tuple[Scheme, ...]) -> np.ndarray:
    """Rows whose text holds, among other text, a known identifier or a valid one of ``schemes``.

    Candidate rows are found on the whole column; only those are taken apart, one match at a
    time. A value that is a single digest-like token is left to :meth:`Known.digested`.
    """
    hit = np.zeros(len(values), dtype=bool)
    text = _as_text(values)
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    tokens = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _TOKEN), False), dtype=bool)
    wanted = {s.name: s for s in schemes} | {name: SCHEMES[name] for name in known.schemes}
    for scheme in wanted.values():
        rows = np.asarray(
            pc.fill_null(pc.match_substring_regex(arr, scheme.candidate), False), dtype=bool
        )
        any_valid = scheme in schemes
        owners: list[int] = []
        normals: list[str] = []
        for i in np.flatnonzero(rows & ~tokens & ~hit):
            for match in scheme.embedded.finditer(str(arr[i])):
                normal = scheme.normalise_one(match.group(0))
                if any_valid and scheme.valid_one(normal):
                    hit[i] = True
                    break
                owners.append(int(i))
                normals.append(normal)
        held = known.holds(scheme.name, normals)
        hit[np.asarray(owners, dtype=np.int64)[held]] = True
    return hit
