"""tagtrail's audit run facet and controls dataset facet: who ran a flow, and what it enforced.

``tagtrail_audit`` (run facet, every event of an asset run) says who launched the run, when, and
under which agreement and purpose. ``tagtrail_controls`` (output dataset facet, COMPLETE and FAIL)
lists each privacy control's outcome with its rule and counts, the retention purge and the
opt-out register applied. Neither ever carries a data value; the lineage store turns both into
audit records. Schemas (1.1.1, the 1.1.0 shape with the URL form described in
:mod:`lineage.facets`): ``lineage/schemas/TagtrailAuditRunFacet.json`` and
``TagtrailControlsDatasetFacet.json``; earlier versions are kept for events already stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal

import attr
from openlineage.client.generated.base import DatasetFacet, RunFacet
from openlineage.client.utils import RedactMixin

from pipelines.policy.optout import Exclusion
from pipelines.policy.result import ControlResult
from pipelines.policy.retention import Purge

AUDIT_KEY: Final = "tagtrail_audit"
CONTROLS_KEY: Final = "tagtrail_controls"
AUDIT_SCHEMA_URL: Final = (
    "https://tagtrail.dev/spec/facets/1-3-0/TagtrailAuditRunFacet.json#/$defs/RunFacet"
)
CONTROLS_SCHEMA_URL: Final = (
    "https://tagtrail.dev/spec/facets/1-1-1/TagtrailControlsDatasetFacet.json#/$defs/DatasetFacet"
)


@dataclass(frozen=True)
class Launch:
    """Who launched a Dagster run and when: ``by`` as claimed (``via`` a run tag, or the OS user
    when none says), and ``observed`` as tagtrail saw it itself (``observed_via``)."""

    by: str
    via: Literal["run_tag", "os_user"]
    at: dt.datetime
    dagster_run_id: str
    observed: str = ""
    observed_via: Literal["os_user", "authenticated_user"] = "os_user"


@dataclass(frozen=True)
class ControlsReport:
    """Every control's outcome for one flow run, with the purge and opt-out applied."""

    as_of: dt.date
    results: tuple[ControlResult, ...]
    purge: Purge | None = None
    exclusion: Exclusion | None = None

    @property
    def halting(self) -> tuple[ControlResult, ...]:
        """The outcomes that halt the flow."""
        return tuple(r for r in self.results if r.halts)


@attr.define
class TagtrailAuditRunFacet(RunFacet):
    """Who launched the run, when, and under which agreement and purpose."""

    launchedBy: str
    launchedVia: str
    launchedAt: str
    dagsterRunId: str
    department: str
    observedBy: str
    observedVia: str
    agreement: str | None = attr.field(default=None)
    purpose: str | None = attr.field(default=None)
    skippedBecause: list[dict[str, str]] | None = attr.field(default=None)
    grant: dict[str, Any] | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return AUDIT_SCHEMA_URL


@attr.define
class Control(RedactMixin):
    """One control's outcome: rule, summary and counts."""

    control: str
    passed: bool
    evaluated: bool
    severity: str
    rule: str
    summary: str
    counts: dict[str, int | str]


@attr.define
class RetentionApplied(RedactMixin):
    """The retention purge applied before the dataset was stored."""

    rule: str
    dateColumn: str
    period: str
    cutoff: str
    purged: int
    previouslyStored: int
    purgedKeysSha256: str | None = attr.field(default=None)


@attr.define
class OptOutApplied(RedactMixin):
    """The opt-out register applied to the flow's input."""

    register: str
    registerVersion: str
    registerSize: int
    matchedOn: str
    excluded: int
    excludedPeople: int
    routes: list[OptOutRoute] = attr.field(factory=list)


@attr.define
class OptOutRoute(RedactMixin):
    """One input the register was applied to: the columns matched and the rows left out."""

    input: str
    columns: list[str]
    excluded: int


@attr.define
class TagtrailControlsDatasetFacet(DatasetFacet):
    """The privacy controls enforced while the dataset was written."""

    asOf: str
    controls: list[Control]
    retention: RetentionApplied | None = attr.field(default=None)
    optOut: OptOutApplied | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return CONTROLS_SCHEMA_URL


def audit_facet(
    launch: Launch,
    *,
    department: str,
    agreement: str | None,
    purpose: str | None,
    producer: str,
    skipped_because: list[dict[str, str]] | None = None,
) -> TagtrailAuditRunFacet:
    """The ``tagtrail_audit`` run facet (``skipped_because`` on the ABORT of a flow not run)."""
    return TagtrailAuditRunFacet(
        producer=producer,
        launchedBy=launch.by,
        launchedVia=launch.via,
        launchedAt=launch.at.isoformat(),
        dagsterRunId=launch.dagster_run_id,
        department=department,
        observedBy=launch.observed or launch.by,
        observedVia=launch.observed_via,
        agreement=agreement,
        purpose=purpose,
        skippedBecause=skipped_because,
    )


def controls_facet(report: ControlsReport, *, producer: str) -> TagtrailControlsDatasetFacet:
    """The ``tagtrail_controls`` dataset facet."""
    purge, excl = report.purge, report.exclusion
    return TagtrailControlsDatasetFacet(
        producer=producer,
        asOf=report.as_of.isoformat(),
        controls=[
            Control(
                control=r.control,
                passed=r.passed,
                evaluated=r.evaluated,
                severity=r.severity,
                rule=r.rule,
                summary=r.summary,
                counts=dict(r.counts),
            )
            for r in report.results
        ],
        retention=RetentionApplied(
            rule=purge.rule,
            dateColumn=purge.date_column,
            period=purge.period,
            cutoff=purge.cutoff.isoformat(),
            purged=purge.purged,
            previouslyStored=purge.previously_stored,
            purgedKeysSha256=purge.keys_sha256,
        )
        if purge
        else None,
        optOut=OptOutApplied(
            register=excl.register,
            registerVersion=excl.version,
            registerSize=excl.register_size,
            matchedOn=excl.matched_on,
            excluded=excl.excluded_rows,
            excludedPeople=excl.excluded_people,
            routes=[OptOutRoute(r.input, list(r.columns), r.excluded_rows) for r in excl.routes],
        )
        if excl
        else None,
    )
