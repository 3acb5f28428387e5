"""At-least-once delivery: several writers sending the same events at once store each once."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

from lineage.store import LineageStore, default_url, open_store


def test_concurrent_writers_store_each_event_once(
    store: LineageStore,
    store_url: str,
    texts: list[str],
    counts: Callable[[], dict[str, int]],
    tmp_path: Path,
) -> None:
    writers = 4
    barrier = threading.Barrier(writers)
    new: list[int] = []
    errors: list[BaseException] = []

    def deliver(seed: int) -> None:
        order = list(texts)
        random.Random(seed).shuffle(order)
        try:
            with open_store(store_url) as writer:
                barrier.wait()
                new.append(writer.ingest_many(order))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(seed,)) for seed in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(new) == len(texts)
    with open_store(default_url(tmp_path / "reference")) as reference:
        reference.ingest_many(texts)
        assert store.events() == reference.events()
        assert store.trace("care_packages", "nhs_number") == reference.trace(
            "care_packages", "nhs_number"
        )
        assert store.columns("care_statistics") == reference.columns("care_statistics")
    assert counts()["tagtrail_events"] == len(texts)
