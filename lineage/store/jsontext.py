"""JSON for the store: orjson where it gives exactly what the standard library would.

An event's content hash is the SHA-256 of its canonical JSON (keys sorted, no spaces, non-ASCII
kept), as :func:`json.dumps` has always written it, so stores filled before keep recognising
their duplicates. orjson writes the same text for every string, integer and structure; it
differs only on floats (``0.00001`` for ``1e-05``, ``1e-7`` for ``1e-07``) and reads integers
beyond 64 bits as floats. So a document whose canonical text holds a float is written again by
the standard library, and so is anything orjson refuses (lone surrogates, non-finite numbers).
Lineage events rarely hold a float.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# With digits deleted and every closing , ] } made a comma, a float written by orjson
# (1.5, 1e+16, 5e-324) ends in ".," "e+," or "e-,". A string always ends with a quote, so
# text inside strings only matches where it holds such a sequence itself: the slow path then.
_DIGITS = b"0123456789"
_CLOSERS = bytes.maketrans(b"]}", b",,")
_FLOAT_ENDS = (b".,", b"e+,", b"e-,")


def _has_float(canonical: bytes) -> bool:
    # the comma closes a number that is the whole document (nothing follows it)
    stripped = (canonical + b",").translate(_CLOSERS, _DIGITS)
    return any(end in stripped for end in _FLOAT_ENDS)


def _stdlib_canonical(document: Any) -> bytes:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"a string holds a lone surrogate, which UTF-8 cannot store ({exc})"
        ) from exc


def loads_canonical(raw: str | bytes) -> tuple[Any, bytes]:
    """The document in ``raw`` and its canonical JSON bytes (raises :class:`ValueError`)."""
    try:
        document = orjson.loads(raw)
        canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, TypeError):
        pass
    else:
        if not _has_float(canonical):
            return document, canonical
    document = json.loads(raw)
    return document, _stdlib_canonical(document)


def canonical(document: Any) -> bytes:
    """The canonical JSON bytes of a parsed document, as :func:`json.dumps` writes them."""
    try:
        text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return _stdlib_canonical(document)
    return _stdlib_canonical(document) if _has_float(text) else text


def loads(raw: str | bytes) -> Any:
    """Parse JSON text (orjson; the standard library for what orjson refuses, such as NaN).

    Integers beyond 64 bits come back as floats: nothing the store indexes is such a number.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (for JSON columns); the standard library for what orjson
    cannot write."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
