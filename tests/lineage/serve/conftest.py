"""A lineage store holding the demo estate's events (built, not run), served by the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from lineage.serve import ServeSettings, create_app
from lineage.store import open_store
from pipelines.demo import DEMO_ESTATE

from ...fixtures.demo_events import demo_events

ROOT = Path(__file__).resolve().parents[3]
SPEC = Path(os.environ.get("OPENLINEAGE_SPEC_DIR") or ROOT.parent / "shared" / "openlineage-spec")
needs_spec = pytest.mark.skipif(
    not (SPEC / "OpenLineage.json").is_file(),
    reason=f"OpenLineage spec not found at {SPEC}: set OPENLINEAGE_SPEC_DIR to a folder holding "
    "OpenLineage.json and facets/ (the spec/ folder of github.com/OpenLineage/OpenLineage)",
)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'lineage.db'}"
    with open_store(url) as store:
        store.ingest_many(demo_events())
    return url


def client_for(settings: ServeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    yield from client_for(ServeSettings(store_url=store_url, estate_dir=DEMO_ESTATE))


@pytest.fixture
def strict_client(store_url: str) -> Iterator[TestClient]:
    yield from client_for(ServeSettings(store_url=store_url, spec_dir=SPEC))
