"""Fixtures for the lineage store tests: one suite, run on SQLite and (when configured) PostgreSQL.

PostgreSQL tests need ``TAGTRAIL_TEST_PG_URL``; each test gets its own schema (selected through
``search_path`` in the URL) that is dropped afterwards, so tests and xdist workers never meet.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from lineage.store import LineageStore, open_store
from lineage.store.models import Base

from ...conftest import BACKENDS, backend_url

FIXTURES = Path(__file__).parent / "fixtures"


def _texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.json"))]


@pytest.fixture
def texts() -> list[str]:
    """The hand-written events, as the files hold them, in file (= event-time) order."""
    return _texts()


@pytest.fixture
def fixture_event() -> Callable[[str], dict[str, Any]]:
    """Load one fixture event by file stem as a fresh dict (safe to modify)."""

    def load(stem: str) -> dict[str, Any]:
        return dict(json.loads((FIXTURES / f"{stem}.json").read_text(encoding="utf-8")))

    return load


@pytest.fixture
def build_event() -> Callable[..., dict[str, Any]]:
    """:func:`make_event`, for graph-shape tests."""
    return make_event


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store of its own on the backend under test."""
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[LineageStore]:
    """An open, empty store on the backend under test."""
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def loaded(store: LineageStore) -> LineageStore:
    """A store of its own holding every fixture event: the chain, its source, and a FAIL run."""
    assert store.ingest_many(_texts()) == len(_texts())
    return store


@pytest.fixture(scope="module", params=BACKENDS)
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LineageStore]:
    """Like ``loaded`` but shared by a module's tests, so READ-ONLY: write to ``loaded`` instead."""
    with (
        backend_url(request.param, tmp_path_factory.mktemp("chain")) as url,
        open_store(url) as opened,
    ):
        opened.ingest_many(_texts())
        yield opened
        assert len(opened.events()) == len(_texts()), "a test wrote to the shared chain store"


@pytest.fixture
def counts(store_url: str) -> Iterator[Callable[[], dict[str, int]]]:
    """Row counts of every store table (read through a separate engine)."""
    engine = create_engine(store_url)

    def count() -> dict[str, int]:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in Base.metadata.tables.items()
            }

    yield count
    engine.dispose()


def make_event(
    event_type: str,
    job: str,
    run_id: str,
    at: str,
    *,
    inputs: tuple[str, ...] = (),
    lineage: dict[str, list[tuple[str, str, str]]] | None = None,
    tags: dict[str, list[str]] | None = None,
    namespace: str = "tagtrail.test",
    input_namespace: str | None = None,
) -> dict[str, Any]:
    """A small RunEvent for graph-shape tests: ``lineage`` maps output column to
    (input dataset, input column, DIRECT subtype); ``tags`` maps output column to tags."""
    fields = {
        column: {
            "inputFields": [
                {
                    "namespace": input_namespace or namespace,
                    "name": source,
                    "field": field,
                    "transformations": [{"type": "DIRECT", "subtype": subtype, "masking": False}],
                }
                for source, field, subtype in sources
            ]
        }
        for column, sources in (lineage or {}).items()
    }
    columns = sorted({*(lineage or {}), *(tags or {})})
    facets: dict[str, Any] = {
        "schema": {"fields": [{"name": c, "type": "string"} for c in columns]},
        "columnLineage": {"fields": fields},
        "tagtrail_privacy": {
            "department": "test",
            "agreement": {"id": f"DSA-{job}", "title": job},
            "purpose": f"purpose of {job}",
            "identifiability": "identified",
            "columns": {
                c: {"tags": t, "identifiability": "identified", "attributions": []}
                for c, t in (tags or {}).items()
            },
        },
    }
    return {
        "eventType": event_type,
        "eventTime": at,
        "producer": "https://tagtrail.dev/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": namespace, "name": job},
        "inputs": [
            {"namespace": input_namespace or namespace, "name": name, "facets": {}}
            for name in inputs
        ],
        "outputs": [{"namespace": namespace, "name": job, "facets": copy.deepcopy(facets)}],
    }
