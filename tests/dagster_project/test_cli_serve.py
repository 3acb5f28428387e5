"""``tagtrail serve`` in a real process: loopback by default, a token beyond it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lineage.store import open_store

from ..fixtures.demo_events import demo_events

TAGTRAIL = Path(sys.executable).with_name("tagtrail")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("serve") / "home"
    home.mkdir()
    with open_store(f"sqlite:///{home / 'lineage.db'}") as store:
        store.ingest_many(demo_events())
    return home


def _serve(home: Path, host: str, port: int, token: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "TAGTRAIL_SERVE_TOKEN"}
    if token:
        env["TAGTRAIL_SERVE_TOKEN"] = token
    return subprocess.Popen(
        [str(TAGTRAIL), "serve", "--host", host, "--port", str(port), "--home", str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture
def served(home: Path) -> Iterator[tuple[str, str]]:
    port, token = _free_port(), "s3cret-token"
    proc = _serve(home, "0.0.0.0", port, token)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                httpx.get(f"{base}/spec/facets/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_beyond_loopback_without_a_token_it_refuses_to_start(home: Path) -> None:
    proc = _serve(home, "0.0.0.0", _free_port(), None)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "TAGTRAIL_SERVE_TOKEN" in err and "Traceback" not in err


def test_with_a_token_every_api_call_needs_it(served: tuple[str, str]) -> None:
    base, token = served
    assert httpx.get(f"{base}/api/v1/graph").status_code == 401
    wrong = httpx.get(f"{base}/api/v1/graph", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    posted = httpx.post(f"{base}/api/v1/lineage", content=b"{}")
    assert posted.status_code == 401
    ok = httpx.get(f"{base}/api/v1/graph", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json()["datasets"]
    assert httpx.get(f"{base}/spec/facets/").status_code == 200  # schemas are public
