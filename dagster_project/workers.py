"""Celery worker processes: who is listening on the queue, and starting and stopping our own.

``tagtrail run --workers N`` (and ``make demo-team``) makes sure N workers consume the
deployment's queue for the length of the run: it starts only the ones missing and stops, at the
end, only the ones it started. Workers a team runs as services (``tagtrail worker``) are used
as they are.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from celery import Celery

from dagster_project.deployment import BROKER_ENV, QUEUE_ENV, Deployment

READY_TIMEOUT_S: Final = 90.0
STOP_TIMEOUT_S: Final = 60.0


class BrokerUnavailable(Exception):
    """The Celery broker did not answer (transient: start it, or fix the URL, and retry)."""


def _client(deployment: Deployment) -> Celery:
    return Celery("tagtrail-launcher", broker=deployment.broker, backend="rpc://")


def check_broker(deployment: Deployment) -> None:
    """Raise :class:`BrokerUnavailable` unless the broker accepts a connection."""
    app = _client(deployment)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        raise BrokerUnavailable(
            f"cannot reach the Celery broker at {_masked(deployment.broker)} ({exc}); start it "
            f"or set {BROKER_ENV} to a broker the workers use"
        ) from None


def listening(deployment: Deployment, timeout_s: float = 2.0) -> list[str]:
    """The names of the workers consuming the deployment's queue right now."""
    app = _client(deployment)
    replies = app.control.inspect(timeout=timeout_s).active_queues() or {}
    return sorted(
        name
        for name, queues in replies.items()
        if any(q.get("name") == deployment.queue for q in queues)
    )


def worker_command(deployment: Deployment, name: str) -> list[str]:
    """The command of one worker process (one step at a time) on ``deployment``'s queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "dagster_project.celery_app",
        "worker",
        "--queues",
        deployment.queue,
        "--concurrency",
        "1",
        "--hostname",
        f"{name}@%h",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
    ]


@contextmanager
def ensure_workers(deployment: Deployment, count: int, log_dir: Path) -> Iterator[list[str]]:
    """At least ``count`` workers on the queue while the block runs; yields their names.

    Workers already listening count towards ``count``; those started here are stopped after.
    """
    check_broker(deployment)
    present = listening(deployment)
    if not present and count < 1:
        raise BrokerUnavailable(
            f"no Celery worker consumes queue {deployment.queue!r} on "
            f"{_masked(deployment.broker)}; start workers with `tagtrail worker` (same "
            f"{BROKER_ENV} and {QUEUE_ENV}) or pass --workers N to start some for this run"
        )
    started: list[subprocess.Popen[bytes]] = []
    names: list[str] = []
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, BROKER_ENV: deployment.broker, QUEUE_ENV: deployment.queue}
    try:
        for index in range(max(0, count - len(present))):
            name = f"tagtrail-{index + 1}-{secrets.token_hex(3)}"
            log = (log_dir / f"{name}.log").open("ab")
            started.append(
                subprocess.Popen(
                    worker_command(deployment, name),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
            names.append(name)
        _wait_ready(deployment, names, started)
        yield sorted(present + [n for n in listening(deployment) if n.split("@")[0] in names])
    finally:
        _stop(started)


def _wait_ready(
    deployment: Deployment, names: list[str], procs: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while names:
        ready = {n.split("@")[0] for n in listening(deployment, timeout_s=1.0)}
        if all(n in ready for n in names):
            return
        dead = [p.args for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = "exited" if dead else f"did not answer within {READY_TIMEOUT_S:.0f} s"
            raise BrokerUnavailable(
                f"a Celery worker started for this run {why}; its log is under the home's "
                f"logs/ folder ({QUEUE_ENV}={deployment.queue})"
            )
        time.sleep(0.5)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Warm shutdown (a step in progress finishes), then a kill for any that hang."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _masked(url: str) -> str:
    from lineage.store.connect import mask_url

    return mask_url(url)
