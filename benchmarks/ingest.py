"""How fast the lineage store ingests COMPLETE events, one at a time and in batches.

The events are the demo estate's own (built by ``lineage.events.build_event``, 8-23 kB each),
copied into ``--copies`` estates (each copy in namespaces of its own) and run ``--reruns``
times. The START events are stored first, in batches; then the COMPLETE events are timed, once
with ``ingest`` (one event, one transaction: how a step emits them) into a store holding the same
STARTs, and once with ``ingest_many`` (``--batch`` events a transaction: bulk import). Each
backend starts from an empty store: a SQLite file in a temporary folder, or on PostgreSQL a
schema of its own (``tagtrail_bench_ingest_<pid>``) dropped afterwards.

    python benchmarks/ingest.py [--backend sqlite|postgresql|both] [--copies N] [--reruns R]

PostgreSQL: ``TAGTRAIL_BENCH_PG_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
it is skipped, and said so, when the server does not answer. The last line prints the batched
rate of COMPLETE events per second on each backend (target >= 2,000).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from lineage.events import build_event, to_json
from lineage.propagation import propagate
from lineage.store import open_store
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BASE_RUN = "3f6c1b8e-6d0a-4c39-9d2b-6b1f0f3c2a11"
BASE_PARENT = "9a1e2c4d-5b6f-4a7e-8c9d-0e1f2a3b4c5d"
BASE_TIME = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
NAMESPACE = re.compile(r'"tagtrail\.([a-z_]+)"')


def demo_templates() -> list[tuple[str, str]]:
    """(START, COMPLETE) JSON of every demo dataset, in the estate's order."""
    estate = load_estate(DEMO_ESTATE)
    computed = propagate(estate)
    pairs = []
    for dataset in estate.datasets:
        texts = [
            to_json(
                build_event(
                    kind,
                    estate=estate,
                    dataset=dataset,
                    run_id=BASE_RUN,
                    parent_run_id=BASE_PARENT,
                    parent_job_name="__ASSET_JOB",
                    event_time=BASE_TIME,
                    computed=computed,
                    row_count=10_000 if kind == "COMPLETE" else None,
                    lifecycle="OVERWRITE" if kind == "COMPLETE" else None,
                )
            )
            for kind in ("START", "COMPLETE")
        ]
        pairs.append((texts[0], texts[1]))
    return pairs


def workload(copies: int, reruns: int) -> tuple[list[str], list[str]]:
    """The START and the COMPLETE events, each list in the order a run of the estates emits."""
    templates = demo_templates()
    starts: list[str] = []
    completes: list[str] = []
    tick = 0
    for rerun in range(reruns):
        for copy in range(copies):
            parent = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{rerun}/{copy}"))
            for position, (start, complete) in enumerate(templates):
                run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{rerun}/{copy}/{position}"))
                for text, out in ((start, starts), (complete, completes)):
                    tick += 1
                    when = (BASE_TIME + dt.timedelta(milliseconds=tick)).isoformat()
                    text = text.replace(BASE_RUN, run_id).replace(BASE_PARENT, parent)
                    text = text.replace(BASE_TIME.isoformat(), when)
                    out.append(NAMESPACE.sub(rf'"tagtrail.\1_{copy}"', text))
    return starts, completes


@contextmanager
def store_url(backend: str, purpose: str = "ingest") -> Iterator[str]:
    """An empty store's URL: a temporary SQLite file, or a PostgreSQL schema dropped after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'lineage.db'}"
        return
    base = os.environ.get("TAGTRAIL_BENCH_PG_URL", PG_DEFAULT)
    schema = f"tagtrail_bench_{purpose}_{os.getpid()}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def measure(
    backend: str, starts: list[str], completes: list[str], args: argparse.Namespace
) -> float:
    """COMPLETE events per second, batched; prints the other figures on the way."""
    single = completes[: args.single]
    with store_url(backend) as url, open_store(url) as store:
        began = time.perf_counter()
        store.ingest_many(starts, batch_size=args.batch)
        start_rate = len(starts) / (time.perf_counter() - began)
        began = time.perf_counter()
        for event in single:
            store.ingest(event)
        single_rate = len(single) / (time.perf_counter() - began)
    with store_url(backend) as url, open_store(url) as store:
        store.ingest_many(starts, batch_size=args.batch)
        began = time.perf_counter()
        new = store.ingest_many(completes, batch_size=args.batch)
        batch_rate = len(completes) / (time.perf_counter() - began)
        assert new == len(completes), f"{new} of {len(completes)} stored"
        began = time.perf_counter()
        again = store.ingest_many(completes, batch_size=args.batch)
        replay_rate = len(completes) / (time.perf_counter() - began)
        assert again == 0, "re-ingesting stored events must add nothing"
    print(
        f"{backend}: START batched {start_rate:,.0f}/s; COMPLETE one at a time "
        f"{single_rate:,.0f}/s ({len(single)} events), batched {batch_rate:,.0f}/s "
        f"({len(completes)} events, {args.batch} a batch), re-ingest {replay_rate:,.0f}/s",
        flush=True,
    )
    return batch_rate


def pg_available() -> bool:
    """Whether the benchmark's PostgreSQL server answers."""
    engine = sa.create_engine(os.environ.get("TAGTRAIL_BENCH_PG_URL", PG_DEFAULT))
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def main() -> None:
    """Run the benchmark and print its figures, the summary on the last line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--copies", type=int, default=40, help="copies of the demo estate")
    parser.add_argument("--reruns", type=int, default=5, help="runs of every copy")
    parser.add_argument("--batch", type=int, default=500, help="events a transaction")
    parser.add_argument("--single", type=int, default=300, help="events ingested one at a time")
    args = parser.parse_args()
    starts, completes = workload(args.copies, args.reruns)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures = []
    for backend in backends:
        if backend == "postgresql" and not pg_available():
            print("postgresql: server not reachable (TAGTRAIL_BENCH_PG_URL), skipped")
            figures.append("postgresql skipped")
            continue
        rate = measure(backend, starts, completes, args)
        figures.append(f"{backend} {rate:,.0f} events/s")
    print(f"ingest: {', '.join(figures)} (COMPLETE events, batched; target >= 2,000)")


if __name__ == "__main__":
    main()
