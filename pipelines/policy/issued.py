"""The keyed pseudonyms one run's transform context issued.

A value :meth:`pipelines.transform.TransformContext.pseudonymise` returned is an HMAC-SHA-256
under the estate's secret key. It is not an identifier in any written form, and it is not an
unkeyed digest of one: that would take a collision of at least 64 bits between HMAC-SHA-256 and
MD5, SHA-1 or SHA-2. So the identifier searches leave these values out, which in a pseudonymised
extract are most of its long, distinct values, and the opt-out check compares them exactly with
the opted-out people's pseudonyms (they come from the same function, at the same length).

A transform that hashes some other way (its own key, a plain digest, a truncated or re-cased
pseudonym) writes values that were not issued, and those are searched as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.policy.valueset import ValueSet


class Issued:
    """Pseudonyms issued so far in one run (held in memory for that run only)."""

    def __init__(self) -> None:
        self._chunks: list[pa.Array] = []
        self._set: ValueSet | None = None
        # masks already found, by the Arrow buffers they were found on (held, so not reused):
        # the controls ask about the same output column several times
        self._seen: dict[tuple[int, ...], tuple[pa.Array, np.ndarray]] = {}

    def add(self, pseudonyms: pd.Series) -> None:
        """Record what one call of ``pseudonymise`` returned."""
        array = _strings(pseudonyms)
        self._chunks.extend(array.chunks if isinstance(array, pa.ChunkedArray) else [array])
        self._set = None
        self._seen.clear()

    def mask(self, values: pd.Series) -> np.ndarray:
        """Which of ``values`` are, exactly, pseudonyms this run issued."""
        if not self._chunks or not len(values) or not _textual(values):
            return np.zeros(len(values), dtype=bool)
        try:
            array = pa.array(values, from_pandas=True)  # pandas' own Arrow data, when it has it
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # an object column of mixed values
            return np.zeros(len(values), dtype=bool)
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            return np.zeros(len(values), dtype=bool)
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        identity = tuple(
            part
            for chunk in chunks
            for part in (
                *(b.address if b is not None else 0 for b in chunk.buffers()),
                chunk.offset,
                len(chunk),
            )
        )
        if identity not in self._seen:
            if self._set is None:
                self._set = ValueSet(pa.chunked_array(self._chunks, type=pa.string()))
            self._seen[identity] = (array, self._set.contains(array))
        return self._seen[identity][1].copy()


def _strings(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    return pa.array(values, type=pa.string(), from_pandas=True)


def _textual(values: pd.Series) -> bool:
    return bool(pd.api.types.is_string_dtype(values.dtype) or values.dtype == object)
