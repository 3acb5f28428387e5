"""How much a down lineage backend slows a run, and whether any event is lost.

Runs the demo estate (generated once) with OPENLINEAGE_URL pointing at a loopback backend that
accepts, refuses connections, answers 500, or accepts and never answers; repetitions are
interleaved so that the machine's noise falls on every mode alike. Then brings the backend up
and sends what waits with `tagtrail events send`, and counts what never arrived.

    python benchmarks/delivery.py [--people N] [--repeat R]

The last line prints the median wall time of each mode over the backend-up one (target <= 1.2)
and the events lost (target 0).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

MODES = ("up", "refuse", "fail", "hang")


class Backend:
    """A loopback HTTP lineage backend whose behaviour can be switched while it runs."""

    def __init__(self) -> None:
        self.mode = "up"
        self.received: list[str] = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if backend.mode == "hang":
                    time.sleep(600)
                    return
                if backend.mode == "fail":
                    self.send_response(500)
                else:
                    backend.received.append(body.decode())
                    self.send_response(201)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _refused() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _tagtrail(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tagtrail-bench-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAGTRAIL_", "OPENLINEAGE"))}
    env = base | {"TAGTRAIL_HOME": str(work / "home"), "HOME": str(work)}
    demo = _tagtrail(["demo", "--people", str(args.people)], env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    backend = Backend()
    refused = _refused()
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(args.repeat):
        for mode in MODES:
            backend.mode = "up" if mode == "refuse" else mode
            url = refused if mode == "refuse" else backend.url
            started = time.perf_counter()
            run = _tagtrail(["run", "--estate", "demo"], env | {"OPENLINEAGE_URL": url})
            times[mode].append(time.perf_counter() - started)
            assert run.returncode == 0, run.stdout + run.stderr
    backend.mode = "up"
    sent = _tagtrail(["events", "send"], env | {"OPENLINEAGE_URL": backend.url})
    stored = _tagtrail(["events"], env).stdout.splitlines()
    received = {json.dumps(json.loads(r), sort_keys=True) for r in backend.received}
    wanted = {json.dumps(json.loads(r), sort_keys=True) for r in stored}
    lost = len(wanted - received)
    duplicated = len(backend.received) - len(received)
    median = {m: statistics.median(t) for m, t in times.items()}
    for mode in MODES:
        print(f"{mode:7} median {median[mode]:.2f} s over {args.repeat} runs: {times[mode]}")
    print(sent.stdout.strip())
    ratios = " ".join(f"{m}={median[m] / median['up']:.2f}" for m in MODES if m != "up")
    print(
        f"delivery: run time down/up {ratios} (target <= 1.20); {len(stored)} events stored, "
        f"{lost} lost, {duplicated} delivered twice after `tagtrail events send`"
    )


if __name__ == "__main__":
    main()
