"""What the store returns: frozen, plain dataclasses (never ORM objects, never live sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from lineage.audit_kinds import AUDIT_KINDS as AUDIT_KINDS
from lineage.audit_kinds import AuditKind as AuditKind

Direction = Literal["upstream", "downstream"]
TERMINAL_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})


@dataclass(frozen=True)
class Attribution:
    """Why a column carries a tag: where the tag started and the flows and rules it went through."""

    tag: str | None
    origin_dataset: str | None
    origin_column: str | None
    origin_tag: str | None
    path: tuple[str, ...]
    rules: tuple[str, ...]
    flows: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribution:
        """Build from the ``tagtrail_privacy`` facet's attribution object (camelCase keys)."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        def texts(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(
            tag=text("tag"),
            origin_dataset=text("originDataset"),
            origin_column=text("originColumn"),
            origin_tag=text("originTag"),
            path=texts("path"),
            rules=texts("rules"),
            flows=texts("flows"),
        )


@dataclass(frozen=True)
class TagRecord:
    """One privacy tag on one column, as of the dataset's latest COMPLETE run."""

    dataset: str
    column: str
    tag: str
    value: str | None
    identifiability: str | None
    attributions: tuple[Attribution, ...]


@dataclass(frozen=True)
class ColumnRecord:
    """A column of a dataset with its current tags."""

    dataset: str
    name: str
    type: str | None
    description: str | None
    position: int | None
    tags: tuple[TagRecord, ...]

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The tag keys alone, in order."""
        return tuple(t.tag for t in self.tags)


@dataclass(frozen=True)
class Agreement:
    """The data-sharing agreement a dataset was produced under."""

    id: str
    title: str | None
    parties: tuple[str, ...]
    start: str | None
    end: str | None
    review: str | None


@dataclass(frozen=True)
class Assertion:
    """A data-quality assertion reported for the dataset's latest version."""

    assertion: str
    success: bool | None
    column: str | None
    severity: str | None


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset and what its latest COMPLETE run declared about it."""

    namespace: str
    name: str
    department: str | None
    description: str | None
    purpose: str | None
    legal_basis: str | None
    retention: str | None
    source_system: str | None
    identifiability: str | None
    agreement: Agreement | None
    owners: tuple[str, ...]
    tags: tuple[str, ...]
    assertions: tuple[Assertion, ...]
    row_count: int | None
    lifecycle_state: str | None
    last_run_id: str | None
    last_completed_at: datetime | None

    @property
    def qualified_name(self) -> str:
        """``namespace/name``, unique across the store."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class RunRecord:
    """One OpenLineage run (one job execution), its state and what it read and wrote."""

    run_id: str
    job_namespace: str
    job_name: str
    parent_run_id: str | None
    parent_job_name: str | None
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    error_message: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Transformation:
    """How an input column became an output column (the OpenLineage transformation object)."""

    type: str | None
    subtype: str | None
    masking: bool | None
    description: str | None


@dataclass(frozen=True)
class Hop:
    """One edge of a trace, always oriented along the data flow (``from`` feeds ``to``).

    ``department``, ``agreement_id`` and ``purpose`` describe the receiving side (the output of
    the job); ``tags`` are the tags now carried at the receiving column (for a dataset-level hop:
    every column tag of the receiving dataset); ``from_tags`` the same for the sending side.
    ``to_column`` is None for a column that affects the whole receiving dataset (a filter, join
    or grouping key) and for dataset-level hops. ``legal_basis`` is the receiving dataset's (GDPR
    Art. 6, the Art. 9/10 condition and the statute), as its latest version declares it.
    """

    depth: int
    from_dataset: str
    from_column: str | None
    to_dataset: str
    to_column: str | None
    job: str
    department: str | None
    agreement_id: str | None
    purpose: str | None
    transformations: tuple[Transformation, ...]
    tags: tuple[TagRecord, ...]
    from_department: str | None
    from_tags: tuple[TagRecord, ...]
    legal_basis: str | None = None

    @property
    def transformation(self) -> Transformation | None:
        """The main transformation: the first DIRECT one, else the first of any kind."""
        direct = [t for t in self.transformations if t.type == "DIRECT"]
        candidates = direct or list(self.transformations)
        return candidates[0] if candidates else None

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The tag keys at the receiving side, deduplicated, in order."""
        return tuple(dict.fromkeys(t.tag for t in self.tags))


@dataclass(frozen=True)
class AuditRecord:
    """One audit fact derived from a tagtrail asset run's events (``tagtrail_audit`` facet).

    ``at`` is the event's time, ``dataset`` the output dataset (``namespace`` its namespace) and
    ``department`` the department owning it; ``agreement`` and ``purpose`` are None for source
    extracts. ``launched_by`` is who launched the run as claimed (a run tag), ``observed_by`` the
    identity tagtrail observed itself (the operating-system user of the step's process). ``details`` depends on ``kind``: for ``control_failed``, ``retention_purge`` and
    ``opt_out_exclusion`` it is the control, retention or opt-out object exactly as emitted.
    """

    kind: str
    at: datetime
    run_id: str
    dagster_run_id: str
    namespace: str
    dataset: str
    department: str
    agreement: str | None
    purpose: str | None
    launched_by: str | None
    launched_at: datetime | None
    details: dict[str, Any]
    observed_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The record as a JSON-safe object (times as ISO 8601 with their UTC offset)."""
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "run_id": self.run_id,
            "dagster_run_id": self.dagster_run_id,
            "namespace": self.namespace,
            "dataset": self.dataset,
            "department": self.department,
            "agreement": self.agreement,
            "purpose": self.purpose,
            "launched_by": self.launched_by,
            "observed_by": self.observed_by,
            "launched_at": self.launched_at.isoformat() if self.launched_at else None,
            "details": self.details,
        }
