"""Exact membership in a large set of strings, built once and asked about many columns.

``pyarrow.compute.is_in`` builds a hash table of its value set on every call: asked about ten
output columns, a set of a million identifiers is hashed ten times. A :class:`ValueSet` keeps its
values as fixed-width rows of 64-bit words, one table per byte length, sorted by a 64-bit key of
the whole value. A column is probed with one sorted ``searchsorted`` per length and each
candidate is confirmed word for word, so an answer is exact whatever the keys do.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MIX = np.uint64(0x9E3779B97F4A7C15)


class ValueSet:
    """A set of strings (nulls are never members)."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        array = _combined(values).drop_null()
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        lengths = np.asarray(pc.binary_length(array), dtype=np.int64)
        distinct = np.unique(lengths)
        for length in distinct:
            same = array if len(distinct) == 1 else array.filter(pa.array(lengths == length))
            rows = _words(_fixed(same, int(length)))
            keys = _keys(rows)
            order = np.argsort(keys)
            # np.take copies whole rows; fancy indexing a 2-D array is several times slower
            self._tables[int(length)] = keys[order], np.take(rows, order, axis=0)
        self._size = len(array)

    def __len__(self) -> int:
        return self._size

    def contains(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Which of ``values`` (strings) are in the set; a null never is."""
        array = _combined(values)
        out = np.zeros(len(array), dtype=bool)
        if not len(array) or not self._size:
            return out
        lengths = pc.fill_null(pc.binary_length(array), -1)
        for length, (keys, rows) in self._tables.items():
            at_length = np.flatnonzero(np.asarray(pc.equal(lengths, length), dtype=bool))
            if not len(at_length):
                continue
            every = len(at_length) == len(array)
            probes = _words(_fixed(array if every else array.take(pa.array(at_length)), length))
            wanted = _keys(probes)
            order = np.argsort(wanted)  # sorted probes walk the table in order: cache-friendly
            ordered = np.take(probes, order, axis=0)
            out[at_length[order[_found(keys, rows, wanted[order], ordered)]]] = True
        return out


def _found(
    keys: np.ndarray, rows: np.ndarray, wanted: np.ndarray, probes: np.ndarray
) -> np.ndarray:
    """Which probes (sorted by key) equal a row of the table; every row of an equal key is
    compared, so two values sharing a key cannot hide each other."""
    at = np.searchsorted(keys, wanted)
    found = np.zeros(len(wanted), dtype=bool)
    pending = np.arange(len(wanted))
    while len(pending):
        pending = pending[at[pending] < len(keys)]
        pending = pending[keys[at[pending]] == wanted[pending]]
        same = (np.take(rows, at[pending], axis=0) == np.take(probes, pending, axis=0)).all(axis=1)
        found[pending[same]] = True
        pending = pending[~same]
        at[pending] += 1
    return found


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    return values


def _fixed(array: pa.Array, length: int) -> np.ndarray:
    """Non-null strings of ``length`` bytes each, as an n-by-length byte matrix (no copy)."""
    n = len(array)
    if not n or not length:
        return np.zeros((n, length), dtype=np.uint8)
    wide = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if wide else np.int32)
    start = int(offsets[array.offset])
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    return data[start : start + n * length].reshape(n, length)


def _words(rows: np.ndarray) -> np.ndarray:
    """Byte rows zero-padded to whole 64-bit words: an n-by-w ``uint64`` matrix."""
    n, length = rows.shape
    if length and length % 8 == 0:  # whole words already: a view of the same bytes
        whole: np.ndarray = np.ascontiguousarray(rows).view(np.uint64)
        return whole
    padded = np.zeros((n, max(-(-length // 8), 1) * 8), dtype=np.uint8)
    padded[:, :length] = rows
    words: np.ndarray = padded.view(np.uint64)
    return words


def _keys(words: np.ndarray) -> np.ndarray:
    """A 64-bit key of each row of words (equal rows, equal keys; unequal ones almost never)."""
    key = np.zeros(len(words), dtype=np.uint64)
    for i in range(words.shape[1]):
        key = (key ^ words[:, i]) * _MIX
    return key
