"""The lineage resource: one store connection per step process, and the events of one asset run."""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import logging
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd
from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated import nominal_time_run
from openlineage.client.uuid import generate_new_uuid, generate_static_uuid
from pydantic import PrivateAttr

from dagster_project.resources import Publication
from expectations import GateResult
from lineage.control_facets import ControlsReport, Launch
from lineage.emit import Emitter
from lineage.propagation import Computed
from pipelines.estate import Estate
from pipelines.home import tagtrail_home

log = logging.getLogger(__name__)
LAUNCHED_BY_TAGS = ("tagtrail/launched_by", "user", "dagster/user")
AUTOMATION_TAGS = {"dagster/schedule_name": "schedule", "dagster/sensor_name": "sensor"}


def launch_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Launch:
    """Who launched this Dagster run and when.

    As claimed: the first of the run tags ``tagtrail/launched_by``, ``user`` (set by Dagster+
    for runs launched in its UI) and ``dagster/user``; then the schedule or sensor that launched
    it (``schedule:agreement_review_daily``); otherwise the operating-system user of the process
    running the step. A tag is whatever the launcher set, so the identity tagtrail observed
    itself (that operating-system user) is recorded beside it.
    """
    return launch_of_run(context.instance, context.run)


def launch_of_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Launch:
    """As :func:`launch_of`, for a run read from the instance."""
    run_id = run.run_id
    record = instance.get_run_record_by_id(run_id)
    at = record.create_timestamp if record is not None else dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    tags = run.tags
    observed = getpass.getuser()
    for tag in LAUNCHED_BY_TAGS:
        if tags.get(tag):
            return Launch(tags[tag], "run_tag", at, run_id, observed)
    for tag, kind in AUTOMATION_TAGS.items():
        if tags.get(tag):
            return Launch(f"{kind}:{tags[tag]}", "run_tag", at, run_id, observed)
    return Launch(observed, "os_user", at, run_id, observed)


class LineageResource(dg.ConfigurableResource["LineageResource"]):
    """Stores every OpenLineage event in the lineage store and sends it where OpenLineage is configured.

    ``url`` is a SQLAlchemy URL; unset, ``TAGTRAIL_LINEAGE_URL`` is used, else
    ``sqlite:///<TAGTRAIL_HOME>/lineage.db``. Resolved when a step starts.
    """

    url: str | None = None
    home: str | None = None
    _emitter: Emitter | None = PrivateAttr(default=None)
    _store: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from lineage.store import configured_url, open_store

        home = tagtrail_home(self.home)
        self._store = open_store(self.url or configured_url(home))
        self._emitter = Emitter(self._store)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.close()

    @property
    def store(self) -> Any:
        """The open lineage store (a :class:`lineage.store.LineageStore`)."""
        assert self._store is not None, "LineageResource used outside a run"
        return self._store

    def recorded_versions(self, namespace: str, dataset: str) -> set[str]:
        """The versions of a dataset whose publication the store recorded."""
        versions: set[str] = self._store.recorded_versions(namespace, dataset)
        return versions

    @property
    def emitter(self) -> Emitter:
        assert self._emitter is not None, "LineageResource used outside a run"
        return self._emitter


def asset_run_id(launched_at: dt.datetime, dagster_run_id: str, dataset: str) -> str:
    """The OpenLineage run id of ``dataset`` in a Dagster run (a UUIDv7 timed at its launch)."""
    key = f"{dagster_run_id}/{dataset}".encode()
    return str(generate_static_uuid(launched_at, key))


@dataclass(frozen=True)
class AssetRun:
    """The OpenLineage run of one asset inside one Dagster run."""

    estate: Estate
    dataset: str
    computed: Computed
    dagster_run_id: str
    job_name: str
    emitter: Emitter
    launch: Launch | None = None
    period: tuple[str, dt.date, dt.date] | None = None

    @functools.cached_property
    def run_id(self) -> str:
        """A UUIDv7 from OpenLineage's client, timed at the Dagster run's launch.

        Derived from the launch time, the Dagster run and the dataset, so the same asset in the
        same Dagster run (a retried step) keeps one OpenLineage run; random without a launch.
        """
        if self.launch is None:
            return str(generate_new_uuid())
        return asset_run_id(self.launch.at, self.dagster_run_id, self.dataset)

    def event(
        self,
        event_type: str,
        *,
        gate: GateResult | None = None,
        row_count: int | None = None,
        error_message: str | None = None,
        lifecycle: str | None = None,
        controls: ControlsReport | None = None,
        version: str | None = None,
    ) -> RunEvent:
        """This run's START, COMPLETE or FAIL event, as of now."""
        from lineage.events import build_event

        event = build_event(
            event_type,  # type: ignore[arg-type]
            estate=self.estate,
            dataset=self.dataset,
            run_id=self.run_id,
            parent_run_id=self.dagster_run_id,
            parent_job_name=self.job_name,
            event_time=dt.datetime.now(dt.UTC),
            computed=self.computed,
            gate=gate,
            row_count=row_count,
            error_message=error_message,
            lifecycle=lifecycle,
            launch=self.launch,
            controls=controls,
            version=version,
        )
        if self.period is not None and event.run.facets is not None:
            event.run.facets["nominalTime"] = _nominal_time(*self.period[1:])
        return event

    def emit(self, event_type: str, **facts: Any) -> None:
        """Store (and send) this run's ``event_type`` event."""
        self.emitter.emit(self.event(event_type, **facts))

    def emit_if_possible(self, event_type: str, **facts: Any) -> None:
        """As :meth:`emit`, but a store that cannot be written is only logged: the step is
        already failing, and recovery closes a run left without its terminal event."""
        from lineage.store import StoreError

        try:
            self.emit(event_type, **facts)
        except StoreError as exc:
            log.warning("%s: its %s event could not be stored (%s)", self.dataset, event_type, exc)

    def publication(
        self, frame: pd.DataFrame, *, gate: GateResult | None, controls: ControlsReport | None
    ) -> Publication:
        """``frame`` to publish, recorded by this run's COMPLETE event before it is visible."""

        def record(path: str, staged: str, sha256: str) -> int:
            event = self.event(
                "COMPLETE",
                gate=gate,
                row_count=len(frame),
                lifecycle="OVERWRITE",
                controls=controls,
                version=sha256,
            )
            return self.emitter.record_publication(event, path=path, staged=staged, sha256=sha256)

        return Publication(frame, record, self.emitter.finish_publication)


def _nominal_time(start: dt.date, end: dt.date) -> nominal_time_run.NominalTimeRunFacet:
    """The reference period a partitioned run publishes, as OpenLineage's nominal time: from
    its first day to the day after its last, in UTC."""
    at = [dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).isoformat() for d in (start, end)]
    return nominal_time_run.NominalTimeRunFacet(nominalStartTime=at[0], nominalEndTime=at[1])
