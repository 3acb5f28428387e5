"""Finding digests of known values in a column: unkeyed hashes anyone can compute, and keyed
pseudonyms only the estate can.

A column is searched in two vectorised steps: the values shaped like a digest (16 to 128 hex
characters, or base64 of a 16/20/32/64-byte digest) are picked out, and their first 64 bits are
looked up in a sorted array of the first 64 bits of every digest of every known value. Only a
value whose 64 bits match is compared whole, so the cost is one hash per known value and
algorithm, then a binary search per candidate.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MIN_PREFIX = 16
UNKEYED = ("md5", "sha1", "sha256", "sha512")
_HASHES = (hashlib.md5, hashlib.sha1, hashlib.sha256, hashlib.sha512)
_TEXT = "string[pyarrow]"

Confirm = Callable[[int, str], bool]


@dataclass(frozen=True)
class DigestIndex:
    """The first 64 bits of known digests, sorted, with an entry number to confirm a match."""

    prefixes: np.ndarray  # uint64, sorted
    entries: np.ndarray  # int64, the entry each prefix belongs to
    confirm: Confirm  # (entry, lower-case hex of 16+ characters) -> whether it is that digest

    @classmethod
    def unkeyed(cls, values: Sequence[str]) -> DigestIndex:
        """Every value hashed with every algorithm of :data:`UNKEYED` (MD5 … SHA-512)."""
        encoded = [v.encode() for v in values]
        parts = [_first64(b"".join([h(v).digest()[:8] for v in encoded])) for h in _HASHES]
        n = len(values)

        def confirm(entry: int, hexed: str) -> bool:
            algorithm, owner = divmod(entry, n)
            return hashlib.new(UNKEYED[algorithm], encoded[owner]).hexdigest().startswith(hexed)

        entries = np.arange(len(UNKEYED) * n, dtype=np.int64)
        return cls._sorted(
            np.concatenate(parts) if parts else np.zeros(0, np.uint64), entries, confirm
        )

    @classmethod
    def of_hex(cls, digests: Sequence[str]) -> DigestIndex:
        """Already computed digests (lower-case hex), e.g. keyed pseudonyms; entry ``i`` is
        ``digests[i]`` (those shorter than 16 characters are left out).

        A value matches a digest when either is a prefix of the other: a pseudonym truncated to
        16 characters, or one recomputed at a greater length, is the same pseudonym.
        """
        kept = [i for i, d in enumerate(digests) if len(d) >= MIN_PREFIX]

        def confirm(entry: int, hexed: str) -> bool:
            digest = digests[entry]
            return digest.startswith(hexed) or hexed.startswith(digest)

        prefixes = _hex64([digests[i] for i in kept])
        return cls._sorted(prefixes, np.asarray(kept, dtype=np.int64), confirm)

    @classmethod
    def _sorted(cls, prefixes: np.ndarray, entries: np.ndarray, confirm: Confirm) -> DigestIndex:
        order = np.argsort(prefixes, kind="stable")
        return cls(prefixes[order], entries[order], confirm)

    def __len__(self) -> int:
        return len(self.prefixes)

    def lookup(self, hexes: list[str]) -> np.ndarray:
        """The entry each lower-case hex string (16+ characters) is (a prefix of), else -1."""
        keys = _hex64(hexes)
        at = np.searchsorted(self.prefixes, keys)
        near = at < len(self.prefixes)
        near[near] = self.prefixes[at[near]] == keys[near]
        out = np.full(len(hexes), -1, dtype=np.int64)
        for i in np.flatnonzero(near):  # a real candidate: compare the whole value
            j = int(at[i])
            while j < len(self.prefixes) and self.prefixes[j] == keys[i]:
                if self.confirm(int(self.entries[j]), hexes[i]):
                    out[i] = self.entries[j]
                    break
                j += 1
        return out

    def find(self, values: pd.Series) -> np.ndarray:
        """For each value, the entry it is a digest of (hex in either case, or base64), else -1.

        A column with few distinct values (a band, a code) is searched once per distinct value.
        """
        out = np.full(len(values), -1, dtype=np.int64)
        if not len(self) or not len(values):
            return out
        text = pa.array(values.astype(_TEXT), type=pa.string(), from_pandas=True)
        encoded = pc.dictionary_encode(
            text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        )
        if len(encoded.dictionary) <= len(values) // 2:
            distinct = pd.Series(pd.arrays.ArrowStringArray(encoded.dictionary), dtype=_TEXT)
            rows_of = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
            spread: np.ndarray = np.append(self.find(distinct), -1)[rows_of]
            return spread
        rows, hexes = candidates(values)
        if len(rows):
            out[rows] = self.lookup(hexes)
        return out

    def search(self, values: pd.Series) -> np.ndarray:
        """Which values are one of the indexed digests (see :meth:`find`)."""
        found: np.ndarray = self.find(values) >= 0
        return found


def candidates(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """The rows holding a digest-shaped value, and each as lower-case hex.

    Hex of 16 to 128 characters (either case), or base64 (standard or URL-safe, padded or not)
    of a 16-, 20-, 32- or 64-byte digest. Base64 is decoded one value at a time: few columns
    hold it, and a column that does is a digest column worth the time.
    """
    text = values.astype(_TEXT).str.strip()
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    hexed = _matches(arr, r"^[0-9A-Fa-f]{16,128}$")
    b64 = _matches(arr, r"^[A-Za-z0-9+/_\-]{22,88}={0,2}$") & ~hexed
    rows = np.flatnonzero(hexed)
    hexes = list(pc.utf8_lower(arr.take(pa.array(rows, type=pa.int64()))).to_pylist())
    extra = []
    for i in np.flatnonzero(b64):
        decoded = _b64_hex(str(arr[i]))
        if decoded is not None:
            extra.append(int(i))
            hexes.append(decoded)
    return np.concatenate([rows, np.asarray(extra, dtype=np.int64)]), hexes


_HEX = np.zeros(256, dtype=np.uint64)
_HEX[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10, dtype=np.uint64)
_HEX[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint64)
_SHIFTS = np.arange(60, -1, -4, dtype=np.uint64)


def _hex64(hexes: Sequence[str]) -> np.ndarray:
    """The first 16 hex digits of each string as a 64-bit number, on the whole list."""
    if not len(hexes):
        return np.zeros(0, dtype=np.uint64)
    raw = np.frombuffer(np.asarray(hexes, dtype="S16").tobytes(), dtype=np.uint8)
    nibbles = _HEX[raw.reshape(-1, 16)]
    keys: np.ndarray = np.bitwise_or.reduce(nibbles << _SHIFTS, axis=1)
    return keys


def _first64(joined: bytes) -> np.ndarray:
    return np.frombuffer(joined, dtype=">u8").astype(np.uint64)


def _b64_hex(value: str) -> str | None:
    """A base64 (standard or URL-safe, padded or not) digest as lower-case hex, if it is one."""
    padded = value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) in (16, 20, 32, 64) else None


def _matches(arr: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, pattern), False), dtype=bool)
