"""URLs, engines and the errors a command line turns into a message and an exit code."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lineage.store import (
    URL_VARIABLE,
    LineageStore,
    StoreError,
    configured_url,
    default_url,
    mask_url,
    open_store,
)
from lineage.store.connect import create_store_engine


def test_default_url_is_an_absolute_sqlite_file(tmp_path: Path) -> None:
    assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/lineage.db"
    assert configured_url(tmp_path, {}) == default_url(tmp_path)
    assert configured_url(tmp_path, {URL_VARIABLE: "postgresql+psycopg://h/db"}) == (
        "postgresql+psycopg://h/db"
    )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with open_store(default_url(tmp_path / "new" / "home")):
        pass
    engine = create_store_engine(default_url(tmp_path / "new" / "home"))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        engine.dispose()
    raw = sqlite3.connect(tmp_path / "new" / "home" / "lineage.db")
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "not a database URL"),
        ("postgresql+nosuchdriver://u@localhost/db", "unknown database driver"),
        ("mysql://u@localhost/db", "unsupported database 'mysql'"),
    ],
)
def test_unusable_urls_are_terminal(url: str, reason: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert raised.value.transient is False
    assert reason in str(raised.value)
    assert URL_VARIABLE in str(raised.value)


def test_unreachable_server_is_transient_and_masks_the_password() -> None:
    url = "postgresql+psycopg://tagtrail:s3cret-pw@127.0.0.1:1/lineage?connect_timeout=2"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert raised.value.transient is True
    assert "s3cret-pw" not in message
    assert "postgresql+psycopg://tagtrail:***@127.0.0.1:1/lineage" in message
    assert raised.value.url is not None and "s3cret-pw" not in raised.value.url
    assert "did not answer" in message and URL_VARIABLE in message


def test_unopenable_sqlite_file_is_terminal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{blocker}/lineage.db")
    assert raised.value.transient is False
    assert "cannot create its directory" in str(raised.value)


def test_not_a_database_is_terminal(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{path}")
    assert raised.value.transient is False
    assert URL_VARIABLE in str(raised.value)


@pytest.mark.parametrize(
    ("user", "database", "reason"),
    [("no_such_role", None, "no_such_role"), (None, "no_such_database", "no_such_database")],
)
def test_postgres_refusals_are_terminal(
    user: str | None, database: str | None, reason: str
) -> None:
    base = os.environ.get("TAGTRAIL_TEST_PG_URL")
    if not base:
        pytest.skip(
            "set TAGTRAIL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test "
            "to run the PostgreSQL store tests"
        )
    url = make_url(base).set(password="pw-secret")
    url = url.set(username=user) if user else url.set(database=database)
    with pytest.raises(StoreError) as raised:
        open_store(url.render_as_string(hide_password=False))
    assert raised.value.transient is False
    assert reason in str(raised.value)
    assert "pw-secret" not in str(raised.value)


def test_mask_url() -> None:
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_closed_store_refuses_work(store: LineageStore) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.events()
