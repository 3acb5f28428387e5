"""Trace lookups use the column-edge indexes on a store of realistic shape, never a scan of the
edges into whole datasets (``to_column_id`` null), before and after ``ANALYZE``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from lineage.store import open_store

from ...conftest import backend_url

ESTATES, PER_ESTATE, COLUMNS = 250, 20, 10  # 5,000 datasets, 56,000 column edges
GOOD = {
    "ix_tagtrail_column_edges_from_column_id",
    "ix_tagtrail_column_edges_into_column",
    "ix_tagtrail_column_edges_into_dataset",
    "ix_tagtrail_column_edges_to_dataset_id_to_column_id",
}


def _column(dataset: int, column: int) -> int:
    return dataset * COLUMNS + column + 1


def _build(url: str) -> None:
    """Estates of 20 datasets: 4 sources, 16 flows each reading the datasets 4 and 1 before it; a
    flow's 10 columns come from its first input, plus two whole-dataset edges a flow."""
    datasets = ESTATES * PER_ESTATE
    flows = [d for d in range(datasets) if d % PER_ESTATE >= 4]
    edges: list[dict[str, Any]] = []
    for d in flows:
        a, b = d - 4, d - 1
        pairs = [(a, c, c) for c in range(COLUMNS)] + [(b, 0, 0), (b, 1, 1)]
        for source, c, target in [*pairs, (b, 0, None), (a, 1, None)]:
            to = _column(d, target) if target is not None else None
            edges.append({"f": _column(source, c), "d": d + 1, "t": to, "j": d + 1, "r": f"r{d}"})
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tagtrail_jobs (id, namespace, name) VALUES (:id, 'tagtrail.t', :name)"
            ),
            [{"id": d + 1, "name": f"job{d}"} for d in flows],
        )
        connection.execute(
            text(
                "INSERT INTO tagtrail_runs (run_id, job_id, state, state_time) "
                "VALUES (:run, :job, 'COMPLETE', '2026-01-01')"
            ),
            [{"run": f"r{d}", "job": d + 1} for d in flows],
        )
        connection.execute(
            text(
                "INSERT INTO tagtrail_datasets (id, namespace, name)"
                " VALUES (:id, 'tagtrail.t', :name)"
            ),
            [{"id": d + 1, "name": f"ds{d}"} for d in range(datasets)],
        )
        connection.execute(
            text(
                "INSERT INTO tagtrail_columns (id, dataset_id, name, position)"
                " VALUES (:id, :d, :n, :p)"
            ),
            [
                {"id": _column(d, c), "d": d + 1, "n": f"col{c}", "p": c}
                for d in range(datasets)
                for c in range(COLUMNS)
            ],
        )
        connection.execute(
            text(
                "INSERT INTO tagtrail_column_edges (from_column_id, to_dataset_id, to_column_id,"
                " job_id, run_id, type) VALUES (:f, :d, :t, :j, :r, 'DIRECT')"
            ),
            edges,
        )
    engine.dispose()


def _analyze(url: str) -> None:
    engine = create_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shaped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store of 5,000 datasets, shared by the module's tests (read only)."""
    with backend_url(request.param, tmp_path_factory.mktemp("plans")) as url:
        open_store(url).close()
        _build(url)
        yield url


def _trace_statements(url: str) -> list[tuple[str, Any]]:
    """The statements (and parameters) tracing a flow column up and a source column down runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "column_edges" in statement:
            seen.append((statement, params))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with open_store(url) as store:
            assert store.trace("ds4999", "col0", "upstream")
            assert store.trace("ds4000", "col0", "downstream")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert seen
    return seen


def _plans(url: str, statements: list[tuple[str, Any]]) -> list[list[tuple[str, str]]]:
    """For each statement, (access, index) for every read of ``column_edges``."""
    engine = create_engine(url)
    found = []
    with engine.connect() as connection:
        for statement, params in statements:
            if engine.dialect.name == "sqlite":
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                details = [row[-1] for row in rows if " tagtrail_column_edges" in row[-1]]
                found.append([(d.split()[0], d) for d in details])
            else:
                rows = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params)
                plan = rows.scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                found.append(
                    [
                        (node["Node Type"], node.get("Index Name", ""))
                        for node in _nodes(plan[0]["Plan"])
                        if node.get("Relation Name") == "tagtrail_column_edges"
                        or node.get("Index Name", "").startswith("ix_tagtrail_column_edges")
                    ]
                )
    engine.dispose()
    return found


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("analyzed", [False, True])
def test_trace_lookups_use_the_column_edge_indexes(shaped: str, analyzed: bool) -> None:
    if analyzed:
        _analyze(shaped)
    elif not shaped.startswith("sqlite"):
        pytest.skip("PostgreSQL always plans with statistics (autovacuum analyses)")
    for accesses in _plans(shaped, _trace_statements(shaped)):
        assert accesses, "column_edges is not read"
        for access, detail in accesses:
            assert access in ("SEARCH", "Index Scan", "Bitmap Heap Scan", "Bitmap Index Scan")
            assert access == "Bitmap Heap Scan" or any(name in detail for name in GOOD), detail
        assert any(name in detail for _, detail in accesses for name in GOOD)


def test_upgrading_from_the_previous_head_replaces_the_index(tmp_path: Path) -> None:
    from alembic import command

    from lineage.store import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0004_observed")
    engine.dispose()
    with open_store(url):
        pass
    engine = create_engine(url)
    with engine.connect() as connection:
        names = {
            row[0]
            for row in connection.execute(
                text("SELECT name FROM sqlite_master WHERE tbl_name = 'tagtrail_column_edges'")
            )
        }
        assert migrate.current_revision(connection) == migrate.head_revision()
    engine.dispose()
    assert not {"ix_column_edges_to_column_id", "ix_tagtrail_column_edges_to_column_id"} & names
    assert {
        "ix_tagtrail_column_edges_into_column",
        "ix_tagtrail_column_edges_into_dataset",
    } <= names
