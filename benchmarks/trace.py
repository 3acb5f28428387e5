"""Column trace latency in a large lineage store: p50 up- and downstream, SQLite and PostgreSQL.

Builds a store of ``--datasets`` datasets (default 100,000) through the packaged migrations, then
fills its tables directly, in bulk, with the shape tagtrail's estates have: estates of 20
datasets (4 sources, then 8, 6 and 2 flows each reading two datasets of the level before), 10 columns a
dataset, every flow column derived from one input column (two for the first two), two
whole-dataset edges (join and filter keys: ``to_column_id`` null) a flow, and three tagged
columns a dataset: 1.12M column edges at 100k datasets. Then times ``LineageStore.trace`` on
``--samples`` random columns, upstream from flow columns and downstream from source columns, with
no depth limit. SQLite is timed as the store leaves it and again after ``ANALYZE`` (the worse
counts); PostgreSQL after ``ANALYZE`` (as autovacuum leaves it). PostgreSQL works in a schema of
its own (``tagtrail_bench_trace_<pid>``), dropped afterwards.

    python benchmarks/trace.py [--backend sqlite|postgresql|both] [--datasets N] [--samples S]

PostgreSQL: ``TAGTRAIL_BENCH_PG_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
The last line prints each backend's p50 in milliseconds (target <= 20 ms both ways).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from ingest import pg_available, store_url

from lineage.store import LineageStore, open_store
from lineage.store.schema import PREFIX

ESTATE, SOURCES, COLUMNS = 20, 4, 10
TAGS = ("person.id.pseudonymous", "person.quasi", "person.special.health")
NAMESPACE = "tagtrail.bench"


def inputs_of(i: int) -> tuple[int, int]:
    """The two datasets flow ``i`` of an estate reads: 4 sources feed 8 flows, which feed 6,
    which feed 2 (three levels, like the demo estate's)."""
    if i < 12:
        return (i - 4) % 4, (i - 3) % 4
    if i < 18:
        return 4 + (i - 12), 4 + (i - 12 + 2) % 8
    return 12 + (i - 18) * 3, 13 + (i - 18) * 3


def rows(datasets: int) -> dict[str, Iterator[tuple[Any, ...]]]:
    """Every table's rows, ids given explicitly (dataset d's column c has id d * 10 + c + 1)."""
    when = "2026-01-01 00:00:00"
    flows = [d for d in range(datasets) if d % ESTATE >= SOURCES]

    def column(d: int, c: int) -> int:
        return d * COLUMNS + c + 1

    def base(d: int) -> int:
        return d - d % ESTATE

    def column_edges() -> Iterator[tuple[Any, ...]]:
        edge = 0
        for d in flows:
            a, b = (base(d) + i for i in inputs_of(d % ESTATE))
            pairs: list[tuple[int, int, int | None]] = [(a, c, c) for c in range(COLUMNS)]
            pairs += [(b, 0, 0), (b, 1, 1), (b, 0, None), (a, 1, None)]
            for source, c, target in pairs:
                edge += 1
                to = column(d, target) if target is not None else None
                yield (edge, column(source, c), d + 1, to, d + 1, f"r{d}", "DIRECT", "IDENTITY")

    def dataset_edges() -> Iterator[tuple[Any, ...]]:
        for n, d in enumerate(flows):
            for k, i in enumerate(inputs_of(d % ESTATE)):
                yield (2 * n + k + 1, base(d) + i + 1, d + 1, d + 1, f"r{d}", "DSA-1", "p")

    return {
        "jobs": ((d + 1, NAMESPACE, f"job{d}") for d in flows),
        "runs": ((f"r{d}", d + 1, "COMPLETE", when, when, when) for d in flows),
        "datasets": ((d + 1, NAMESPACE, f"ds{d}", "bench") for d in range(datasets)),
        "columns": (
            (column(d, c), d + 1, f"col{c}", "string", c)
            for d in range(datasets)
            for c in range(COLUMNS)
        ),
        "column_tags": (
            (column(d, c) * 10 + t, column(d, c), tag, "[]")
            for d in range(datasets)
            for c in range(3)
            for t, tag in enumerate(TAGS[: c + 1])
        ),
        "dataset_edges": dataset_edges(),
        "column_edges": column_edges(),
    }


COLUMN_NAMES = {
    "jobs": ("id", "namespace", "name"),
    "runs": ("run_id", "job_id", "state", "state_time", "started_at", "ended_at"),
    "datasets": ("id", "namespace", "name", "department"),
    "columns": ("id", "dataset_id", "name", "type", "position"),
    "column_tags": ("id", "column_id", "tag", "attributions"),
    "dataset_edges": (
        "id",
        "input_dataset_id",
        "output_dataset_id",
        "job_id",
        "run_id",
        "agreement_id",
        "purpose",
    ),
    "column_edges": (
        "id",
        "from_column_id",
        "to_dataset_id",
        "to_column_id",
        "job_id",
        "run_id",
        "type",
        "subtype",
    ),
}


def fill(url: str, datasets: int) -> None:
    """Write the synthetic graph into the (migrated, empty) store at ``url``, then ANALYZE."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for name, generated in rows(datasets).items():
            names, table = COLUMN_NAMES[name], PREFIX + name
            if connection.dialect.name == "postgresql":
                cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in generated:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in names)
                statement = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
                connection.connection.driver_connection.executemany(statement, generated)  # type: ignore[union-attr]
    if engine.dialect.name == "postgresql":
        analyze(engine)
    engine.dispose()


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))


def timed(store: LineageStore, targets: list[tuple[str, str]], direction: str) -> float:
    """Median milliseconds of a full-depth column trace from each target."""
    times = []
    for dataset, column in targets:
        began = time.perf_counter()
        hops = store.trace(dataset, column, direction)  # type: ignore[arg-type]
        times.append((time.perf_counter() - began) * 1000)
        assert hops, f"no hops {direction} of {dataset}.{column}"
    return statistics.median(times)


def measure(url: str, args: argparse.Namespace) -> tuple[float, float]:
    """(upstream p50, downstream p50) in ms for the store at ``url``."""
    rng = random.Random(2026)
    estates = args.datasets // ESTATE
    up = [
        (f"ds{rng.randrange(estates) * ESTATE + rng.randrange(SOURCES, ESTATE)}", "col0")
        for _ in range(args.samples)
    ]
    down = [
        (f"ds{rng.randrange(estates) * ESTATE + rng.randrange(SOURCES)}", f"col{rng.randrange(2)}")
        for _ in range(args.samples)
    ]
    with open_store(url) as store:
        timed(store, up[:5], "upstream")
        return timed(store, up, "upstream"), timed(store, down, "downstream")


def main() -> None:
    """Build the store on each backend, time the traces, print the summary last."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    args.datasets -= args.datasets % ESTATE
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures = []
    for backend in backends:
        if backend == "postgresql" and not pg_available():
            print("postgresql: server not reachable (TAGTRAIL_BENCH_PG_URL), skipped")
            figures.append("postgresql skipped")
            continue
        with store_url(backend, "trace") as url:
            open_store(url).close()
            began = time.perf_counter()
            fill(url, args.datasets)
            print(
                f"{backend}: built {args.datasets:,} datasets in {time.perf_counter() - began:.0f} s"
            )
            up, down = measure(url, args)
            print(f"{backend}: upstream p50 {up:.1f} ms, downstream p50 {down:.1f} ms", flush=True)
            if backend == "sqlite":
                engine = sa.create_engine(url)
                analyze(engine)
                engine.dispose()
                up2, down2 = measure(url, args)
                print(
                    f"{backend} after ANALYZE: upstream p50 {up2:.1f} ms, downstream {down2:.1f} ms"
                )
                up, down = max(up, up2), max(down, down2)
        figures.append(f"{backend} up {up:.1f} ms / down {down:.1f} ms")
    print(f"trace p50 at {args.datasets:,} datasets: {', '.join(figures)} (target <= 20 ms)")


if __name__ == "__main__":
    main()
