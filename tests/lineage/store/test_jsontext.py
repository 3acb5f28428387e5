"""The store's fast JSON gives the standard library's canonical text for every document."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.store import jsontext
from lineage.store.errors import InvalidEventError
from lineage.store.parse import canonical_hash, parse_event

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def _stdlib(document: Any) -> bytes:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


@settings(max_examples=800, derandomize=True)
@given(_DOCUMENTS, st.booleans())
def test_canonical_text_is_the_standard_librarys(document: Any, indent: bool) -> None:
    raw = json.dumps(document, indent=2 if indent else None, ensure_ascii=indent)
    parsed, canonical = jsontext.loads_canonical(raw)
    assert canonical == _stdlib(json.loads(raw))
    assert jsontext.canonical(document) == _stdlib(document)
    assert _stdlib(parsed) == _stdlib(json.loads(raw))


def test_numbers_orjson_writes_differently_take_the_slow_path() -> None:
    for text in (
        '{"a":1e-05}',
        '{"a":[1e-07]}',
        '{"a":1e+16}',
        '{"a":18446744073709551616}',
        '{"a":NaN}',
        '{"a":-9223372036854775809}',
    ):
        document, canonical = jsontext.loads_canonical(text)
        assert canonical == _stdlib(json.loads(text)), text
        assert document == json.loads(text) or text == '{"a":NaN}'


def test_an_events_hash_is_the_one_stores_always_gave_it() -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-03-01T09:30:00+00:00",
        "run": {"runId": "3f6c1b8e-6d0a-4c39-9d2b-6b1f0f3c2a11", "facets": {"x": {"r": 0.00001}}},
        "job": {"namespace": "tagtrail.health", "name": "é"},
        "inputs": [],
        "outputs": [],
    }
    expected = hashlib.sha256(_stdlib(event)).hexdigest()
    assert parse_event(json.dumps(event, indent=1)).content_hash == expected
    assert parse_event(event).content_hash == expected
    assert canonical_hash(event) == expected


def test_a_lone_surrogate_is_refused_as_invalid() -> None:
    with pytest.raises(InvalidEventError):
        parse_event(
            '{"eventType":"START","eventTime":"2026-01-01T00:00:00Z","run":{"runId":"r"},'
            '"job":{"namespace":"n","name":"\\ud800"}}'
        )
