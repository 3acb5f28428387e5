"""A lineage store holding the demo estate's events (built, not run), served by the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from lineage.serve import ServeSettings, create_app
from lineage.store import open_store
from pipelines.demo import DEMO_ESTATE

from ...fixtures.demo_events import demo_events
from ...openlineage_spec import SPEC_DIR as SPEC
from ...openlineage_spec import needs_spec as needs_spec


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
