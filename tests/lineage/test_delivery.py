"""Delivery from the store to a lineage backend, against real loopback HTTP servers that accept,
refuse, fail with 500, reject with 400, or accept and never answer."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineage.delivery import deliver
from lineage.emit import Emitter, configured_client
from lineage.events import build_event
from lineage.propagation import propagate
from lineage.store import LineageStore, default_url, open_store
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate

ESTATE = load_estate(DEMO_ESTATE)
COMPUTED = propagate(ESTATE)


@pytest.fixture
def no_openlineage_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "OPENLINEAGE_CONFIG",
        "OPENLINEAGE_URL",
        "OPENLINEAGE_DISABLED",
        "OPENLINEAGE__TRANSPORT__TYPE",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LineageStore]:
    with open_store(default_url(tmp_path / "store")) as opened:
        yield opened


def _events(n: int) -> list[Any]:
    """``n`` START events of distinct runs, a second apart."""
    return [
        build_event(
            "START",
            estate=ESTATE,
            dataset="care_statistics",
            run_id=f"0195c3a4-1111-7000-8000-{i:012d}",
            parent_run_id="0195c3a4-2222-7000-8000-000000000002",
            parent_job_name="all_flows",
            event_time=dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
            computed=COMPUTED,
        )
        for i in range(n)
    ]


class Backend:
    """A loopback HTTP lineage backend whose behaviour can be switched while it runs."""

    def __init__(self) -> None:
        self.mode = "accept"
        self.received: list[dict[str, Any]] = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if backend.mode == "hang":
                    time.sleep(60)
                    return
                status = {"accept": 201, "fail": 500, "reject": 400}[backend.mode]
                if status == 201:
                    backend.received.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch, no_openlineage_config: None) -> Iterator[Backend]:
    server = Backend()
    monkeypatch.setenv("OPENLINEAGE_URL", server.url)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY__TOTAL", "0")
    yield server
    server.close()


def _store_all(store: LineageStore, events: list[Any]) -> list[str]:
    emitter = Emitter(store)
    return [emitter.emit(e) for e in events]


def test_unconfigured_means_store_only(no_openlineage_config: None, store: LineageStore) -> None:
    _store_all(store, _events(2))
    assert configured_client() is None
    assert deliver(store) is None


def test_events_go_out_exactly_as_stored_in_order(backend: Backend, store: LineageStore) -> None:
    raws = _store_all(store, _events(5))
    report = deliver(store)
    assert report is not None and (report.delivered, report.pending) == (5, 0)
    assert backend.received == [json.loads(r) for r in raws]
    again = deliver(store)
    assert again is not None and again.delivered == 0, "nothing is sent twice"


@pytest.mark.parametrize("mode", ["refuse", "fail", "hang"])
def test_nothing_is_lost_while_the_backend_is_down(
    backend: Backend, store: LineageStore, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = _store_all(store, _events(6))
    if mode == "refuse":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{s.getsockname()[1]}")
    else:
        backend.mode = mode
    started = time.monotonic()
    down = deliver(store, budget_s=1.0, timeout_s=0.5)
    assert time.monotonic() - started < 2.0, "a down backend never holds the caller up"
    assert down is not None and down.delivered == 0 and down.pending == 6
    assert down.error
    monkeypatch.setenv("OPENLINEAGE_URL", backend.url)
    backend.mode = "accept"
    up = deliver(store)
    assert up is not None and (up.delivered, up.pending) == (6, 0)
    received = [json.dumps(e, sort_keys=True) for e in backend.received]
    assert len(received) == len(set(received)) == 6, "0 lost, 0 duplicated"
    assert [e["run"]["runId"] for e in backend.received] == [
        json.loads(r)["run"]["runId"] for r in raws
    ]


def test_a_send_abandoned_while_the_transport_retries_is_not_sent_twice(
    backend: Backend, store: LineageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transport's own retries outlive the time budget; the backend comes back meanwhile."""
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY__TOTAL", "3")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY__BACKOFF_FACTOR", "0.4")
    raws = _store_all(store, _events(3))
    backend.mode = "fail"
    down = deliver(store, budget_s=0.3, timeout_s=0.3)
    assert down is not None and down.delivered == 0 and down.pending == 3
    backend.mode = "accept"
    up = deliver(store, timeout_s=10)
    assert up is not None and (up.delivered, up.pending) == (3, 0)
    time.sleep(1.5)  # any straggling retry would have landed by now
    received = [json.dumps(e, sort_keys=True) for e in backend.received]
    assert sorted(received) == sorted(json.dumps(json.loads(r), sort_keys=True) for r in raws)


def test_a_rejected_event_does_not_block_the_rest(backend: Backend, store: LineageStore) -> None:
    _store_all(store, _events(3))
    backend.mode = "reject"
    report = deliver(store)
    assert report is not None and report.rejected == 3 and report.pending == 0
    backend.mode = "accept"
    later = deliver(store)
    assert later is not None and later.delivered == 0, "a rejected event is not retried"


def test_openlineage_yml_routes_events(
    no_openlineage_config: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store: LineageStore,
) -> None:
    out = tmp_path / "events.ndjson"
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: file\n  log_file_path: {out}\n  append: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    [raw] = _store_all(store, _events(1))
    report = deliver(store)
    assert report is not None and report.transport == f"file:{out}"
    assert json.loads(out.read_text().splitlines()[0]) == json.loads(raw)


def test_disabled_wins(no_openlineage_config: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert configured_client() is None
