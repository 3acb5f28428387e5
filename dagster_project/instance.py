"""A tagtrail home made ready once, under a lock, and recovered from whatever a crash left.

Preparing a home creates it owner-only, writes the Dagster instance's ``dagster.yaml`` and opens
the instance and the lineage store once, so their schemas are created before any run uses them:
several first runs started together (or ``make demo`` beside ``make ui``) take turns on the lock
instead of racing each other's migrations. Recovery then closes what dead processes left open:
Dagster runs left STARTED, lineage runs left START, publications left pending, and hidden
write files (which may hold identifiers) left beside the data.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import dagster as dg
from dagster_postgres.utils import DagsterPostgresException
from sqlalchemy.exc import DBAPIError

from dagster_project.deployment import DAGSTER_URL_ENV, Deployment, is_ours
from lineage.recovery import Recovered, close_runs, recover_publications, remove_stale_tables
from lineage.store import LineageStore, StoreError, configured_url, open_store
from lineage.store.connect import is_transient, mask_url
from lineage.store.outbox import OpenRun
from pipelines.store import stale_files
from pipelines.warehouse import Warehouse

PID_TAG: Final = "tagtrail/pid"
HOST_TAG: Final = "tagtrail/host"
LOCK: Final = ".tagtrail.lock"
_ACTIVE = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


@dataclass
class Recovery:
    """What recovering a home did."""

    failed_runs: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    lineage: Recovered = field(default_factory=Recovered)

    def lines(self) -> list[str]:
        """One line per thing done, for the terminal."""
        out = [f"Dagster run {r} marked failed: its process is gone" for r in self.failed_runs]
        out += [f"lineage run {r} closed: its process is gone" for r in self.lineage.closed_runs]
        out += [f"publication of {d} finished" for d in self.lineage.published]
        out += [f"publication of {d} abandoned" for d in self.lineage.abandoned]
        out += [f"left-over file {f} removed" for f in self.removed_files]
        out += [f"left-over staging table {t} removed" for t in self.lineage.removed_tables]
        return out


def dagster_home(home: Path, deployment: Deployment | None = None) -> Path:
    """The Dagster instance folder under ``home`` (created owner-only), its ``dagster.yaml``
    written for ``deployment`` (default: the environment's), unless someone else wrote it."""
    path = home / "dagster"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings = path / "dagster.yaml"
    wanted = (deployment or Deployment.from_env()).instance_yaml()
    current = settings.read_text() if settings.exists() else None
    if current is None or (current != wanted and is_ours(current)):
        settings.write_text(wanted)
    return path


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Exclusive use of ``home`` while it is prepared or recovered (other processes wait)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(home / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def prepare(home: Path, lineage_url: str | None = None) -> Recovery:
    """Make ``home`` ready for runs (once, under the lock) and recover it; what was recovered."""
    with home_lock(home):
        home.chmod(0o700)  # datasets, extracts, keys and the store are for its owner only
        instance_dir = dagster_home(home)
        with (
            open_instance(instance_dir) as instance,
            open_store(lineage_url or configured_url(home)) as store,
        ):
            return _recover(home, instance, store)


@contextmanager
def open_instance(instance_dir: Path) -> Iterator[dg.DagsterInstance]:
    """Dagster's instance in ``instance_dir``; a :class:`StoreError` naming the variable to fix
    when its database (``TAGTRAIL_DAGSTER_URL``) cannot be used."""
    try:
        instance = dg.DagsterInstance.from_config(str(instance_dir))
    except (DBAPIError, DagsterPostgresException) as raised:
        exc = raised.__cause__ if isinstance(raised.__cause__, DBAPIError) else raised
        url = os.environ.get(DAGSTER_URL_ENV, "")
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        reason = (str(orig).strip().splitlines() or ["unknown error"])[0]
        transient = is_transient(exc)
        advice = (
            "check it is running and retry"
            if transient
            else f"set {DAGSTER_URL_ENV} to one you can use"
        )
        raise StoreError(
            f"cannot open Dagster's instance storage at {mask_url(url)}: {reason}; {advice}",
            url=mask_url(url),
            transient=transient,
        ) from None
    with instance:
        yield instance


def launch_tags() -> dict[str, str]:
    """Run tags naming the process that runs a run in-process, so recovery can tell it died."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _recover(home: Path, instance: dg.DagsterInstance, store: LineageStore) -> Recovery:
    done = Recovery()
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(_ACTIVE))):
        run = record.dagster_run
        if _process_gone(run.tags):
            instance.report_run_failed(
                run, message="The process running this run stopped (recovered by tagtrail)."
            )
            done.failed_runs.append(run.run_id)

    def gone(open_run: OpenRun) -> str | None:
        if open_run.parent_run_id is None:
            return None
        parent = instance.get_run_by_id(open_run.parent_run_id)
        if parent is None or parent.status in _ACTIVE:
            return None
        return (
            f"the step stopped without finishing (Dagster run {parent.run_id} is "
            f"{parent.status.value.lower()}); closed by tagtrail recovery"
        )

    warehouse = _warehouse()
    recover_publications(store, done.lineage, warehouse=warehouse)
    if warehouse is not None:
        remove_stale_tables(store, warehouse, done.lineage)
    close_runs(store, gone, done.lineage)
    keep = {Path(p.staged) for p in store.pending_publications()}
    for path in stale_files(home, keep):
        path.unlink(missing_ok=True)
        done.removed_files.append(str(path.relative_to(home)))
    return done


def _warehouse() -> Warehouse | None:
    """The datasets' PostgreSQL database when ``TAGTRAIL_DATASETS_URL`` names one."""
    url = os.environ.get("TAGTRAIL_DATASETS_URL")
    return Warehouse(url) if url else None


def _process_gone(tags: Mapping[str, str]) -> bool:
    """Whether the in-process run these tags describe has lost its process (on this host)."""
    pid, host = tags.get(PID_TAG), tags.get(HOST_TAG)
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False
