"""A rerun declaring the facts its dataset was built from only moves the edges to the new run.

Every test compares a store that takes that shortcut with one forced to rebuild every dataset in
full (its facts digest never matches): the two must hold the same rows, whatever the order the
events arrive in and whether a rerun changes its facts or not.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from lineage.store import open_store, rebuild

from .test_batch import demo_events, dump, two_urls  # noqa: F401  (fixture)


def _full_rebuilds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuild, "facts_key", lambda version: uuid.uuid4().hex)


def _moved(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many versions each rebuild moved instead of rebuilding."""
    counts: list[int] = []
    real = rebuild.move_edges

    def spy(session: Any, versions: Any) -> None:
        counts.append(len(versions))
        real(session, versions)

    monkeypatch.setattr(rebuild, "move_edges", spy)
    return counts


def _ingest(url: str, events: list[str], batch: int | None) -> None:
    with open_store(url) as store:
        if batch is None:
            for event in events:
                store.ingest(event)
        else:
            store.ingest_many(events, batch_size=batch)


def _untag(text: str) -> str:
    """The event with its first column tag taken away (a rerun that changes its facts)."""
    event = json.loads(text)
    for output in event.get("outputs", []):
        tags = output.get("facets", {}).get("tags", {}).get("tags")
        if tags:
            del tags[0]
            break
    return json.dumps(event)


@pytest.mark.parametrize("batch", [None, 4])
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_reruns_store_what_a_full_rebuild_stores(
    two_urls: tuple[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    batch: int | None,
    seed: int | None,
) -> None:
    events = demo_events()
    if seed is not None:
        random.Random(seed).shuffle(events)
    shortcut, full = two_urls
    moved = _moved(monkeypatch)
    _ingest(shortcut, events, batch)
    assert sum(moved) > 0, "the second run of the estate declares the same facts"
    _full_rebuilds(monkeypatch)
    moved.clear()
    _ingest(full, events, batch)
    assert sum(moved) == 0
    expected = dump(full)
    assert expected["column_edges"] and expected["column_tags"]
    assert dump(shortcut) == expected


def test_a_rerun_that_changes_its_facts_is_rebuilt_in_full(
    two_urls: tuple[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = demo_events()
    half = len(events) // 2  # the first run of the estate, then the second
    changed = [_untag(e) if json.loads(e)["eventType"] == "COMPLETE" else e for e in events[half:]]
    assert changed != events[half:]
    shortcut, full = two_urls
    _ingest(shortcut, events[:half], None)
    before = set(dump(shortcut)["column_tags"])
    _ingest(shortcut, changed, None)
    after = set(dump(shortcut)["column_tags"])
    assert after != before, "the latest versions say what the rerun declared"
    _full_rebuilds(monkeypatch)
    _ingest(full, [*events[:half], *changed], None)
    assert dump(shortcut) == dump(full)


def test_a_store_from_before_the_digest_rebuilds_in_full_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    events = demo_events()
    _ingest(url, events[: len(events) // 2], None)
    with open_store(url) as store:
        engine = store._engine
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE tagtrail_datasets SET facts_hash = NULL")
    _ingest(url, events[len(events) // 2 :], None)
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    _ingest(reference, events, None)
    assert dump(url) == dump(reference)
