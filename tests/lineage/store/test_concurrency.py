"""At-least-once delivery: several writers sending the same events at once store each once."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

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


def test_rows_being_written_do_not_block_rows_that_refer_to_them(
    loaded: LineageStore, store_url: str, texts: list[str]
) -> None:
    """A writer's locks on the dataset it rebuilds and the runs it updates must not make another
    writer's new rows referring to them (an edge, a column: a foreign key takes KEY SHARE) wait;
    with FOR UPDATE they did, and two writers each holding what the other's edges named
    deadlocked."""
    if not store_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite writers take turns on the whole file")
    from sqlalchemy import insert, select, text
    from sqlalchemy.orm import Session

    from lineage.store import derive, ingest
    from lineage.store.models import Column, Dataset, RunDataset
    from lineage.store.parse import parse_event

    engine = loaded._engine
    event = parse_event(texts[0])
    with Session(engine) as holder, holder.begin():
        dataset_id = holder.scalars(select(Dataset.id).order_by(Dataset.id)).first()
        assert dataset_id is not None
        derive._locked(holder, [dataset_id])  # what a refresh holds until it commits
        ingest._locked_runs(holder, [event])  # what indexing an event holds
        with engine.connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            other.execute(insert(Column).values(dataset_id=dataset_id, name="probe"))
            other.execute(
                insert(RunDataset).values(run_id=event.run_id, dataset_id=dataset_id, role="probe")
            )
            other.rollback()
