"""The store's tables as typed SQLAlchemy models. The schema itself is created by the migrations.

Every table is named ``tagtrail_<name>`` and, on PostgreSQL, lives in the store's own schema
(see :mod:`lineage.store.schema`). ``tagtrail_events`` is the raw log and the source of truth: it
has no foreign keys, so it can be written first and every other table can be rebuilt from it.
The other tables are the indexed graph.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Name = String(512)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (the migrations use the same)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: Json,
        list[Any]: Json,
    }


class Event(Base):
    """One OpenLineage event exactly as emitted."""

    __tablename__ = "tagtrail_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(16))
    event_time: Mapped[datetime] = mapped_column(index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    parent_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    job_namespace: Mapped[str] = mapped_column(Name)
    job_name: Mapped[str] = mapped_column(Name)
    producer: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class Job(Base):
    """An OpenLineage job (tagtrail: one job a dataset, named after it)."""

    __tablename__ = "tagtrail_jobs"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(Name)
    name: Mapped[str] = mapped_column(Name)


class Run(Base):
    """A run's current state, derived from all its events (terminal states win over START)."""

    __tablename__ = "tagtrail_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_jobs.id"), index=True)
    parent_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    parent_job_name: Mapped[str | None] = mapped_column(Name)
    state: Mapped[str] = mapped_column(String(16))
    state_time: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)


class Dataset(Base):
    """A dataset and what its latest COMPLETE run declared (privacy facet, owners, statistics)."""

    __tablename__ = "tagtrail_datasets"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(Name)
    name: Mapped[str] = mapped_column(Name, index=True)
    department: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    retention: Mapped[str | None] = mapped_column(Text)
    source_system: Mapped[str | None] = mapped_column(Text)
    identifiability: Mapped[str | None] = mapped_column(String(64))
    agreement_id: Mapped[str | None] = mapped_column(String(128), index=True)
    agreement: Mapped[dict[str, Any] | None]
    owners: Mapped[list[Any] | None]
    tags: Mapped[list[Any] | None]
    assertions: Mapped[list[Any] | None]
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    lifecycle_state: Mapped[str | None] = mapped_column(String(32))
    version_run_id: Mapped[str | None] = mapped_column(ForeignKey("tagtrail_runs.run_id"))
    version_time: Mapped[datetime | None]
    # digest of what the columns, tags and edges were last built from (see derive.facts_key)
    facts_hash: Mapped[str | None] = mapped_column(String(64))


class Column(Base):
    """A column; ``position`` is set for the columns of the dataset's latest version only."""

    __tablename__ = "tagtrail_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Name)
    type: Mapped[str | None] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int | None] = mapped_column(Integer)


class ColumnTag(Base):
    """A privacy tag on a column with its attributions, as of the latest COMPLETE run."""

    __tablename__ = "tagtrail_column_tags"
    __table_args__ = (UniqueConstraint("column_id", "tag"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    column_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_columns.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(128), index=True)
    value: Mapped[str | None] = mapped_column(Text)
    identifiability: Mapped[str | None] = mapped_column(String(64))
    attributions: Mapped[list[Any]]


class RunDataset(Base):
    """What a run declared it reads (``input``) and writes (``output``), whatever its outcome."""

    __tablename__ = "tagtrail_run_datasets"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("tagtrail_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("tagtrail_datasets.id"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(8), primary_key=True)


class DatasetEdge(Base):
    """Input dataset -> output dataset through a job, from the output's latest COMPLETE run."""

    __tablename__ = "tagtrail_dataset_edges"
    __table_args__ = (
        UniqueConstraint(
            "input_dataset_id",
            "output_dataset_id",
            "job_id",
            name="uq_tagtrail_dataset_edges_input_output_job",  # the convention's is too long
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    input_dataset_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_datasets.id"))
    output_dataset_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_datasets.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_jobs.id"))
    run_id: Mapped[str] = mapped_column(ForeignKey("tagtrail_runs.run_id"))
    agreement_id: Mapped[str | None] = mapped_column(String(128))
    purpose: Mapped[str | None] = mapped_column(Text)


class ColumnEdge(Base):
    """Input column -> output column (or the whole output dataset when ``to_column_id`` is null),
    one row per transformation."""

    __tablename__ = "tagtrail_column_edges"
    __table_args__ = (
        Index(
            "ix_tagtrail_column_edges_to_dataset_id_to_column_id", "to_dataset_id", "to_column_id"
        ),
        Index(
            "ix_tagtrail_column_edges_into_column",
            "to_column_id",
            sqlite_where=text("to_column_id IS NOT NULL"),
            postgresql_where=text("to_column_id IS NOT NULL"),
        ),
        Index(
            "ix_tagtrail_column_edges_into_dataset",
            "to_dataset_id",
            sqlite_where=text("to_column_id IS NULL"),
            postgresql_where=text("to_column_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    from_column_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_columns.id"), index=True)
    to_dataset_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_datasets.id"))
    to_column_id: Mapped[int | None] = mapped_column(ForeignKey("tagtrail_columns.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_jobs.id"))
    run_id: Mapped[str] = mapped_column(ForeignKey("tagtrail_runs.run_id"))
    type: Mapped[str | None] = mapped_column(String(16))
    subtype: Mapped[str | None] = mapped_column(String(32))
    masking: Mapped[bool | None] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text)


class AuditRow(Base):
    """An audit fact derived from one event's ``tagtrail_audit`` and ``tagtrail_controls`` facets.

    Written with the event (see :mod:`lineage.store.audit`); deleting the event deletes them.
    """

    __tablename__ = "tagtrail_audit_records"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("tagtrail_events.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    dagster_run_id: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(Name)
    dataset: Mapped[str] = mapped_column(Name, index=True)
    department: Mapped[str] = mapped_column(String(128), index=True)
    agreement: Mapped[str | None] = mapped_column(String(128), index=True)
    purpose: Mapped[str | None] = mapped_column(Text)
    launched_by: Mapped[str | None] = mapped_column(String(256))
    launched_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]]
    observed_by: Mapped[str | None] = mapped_column(String(256))


class Publication(Base):
    """A dataset version recorded (its COMPLETE event) before it became visible.

    ``pending`` until the staged file is renamed into place, then ``published``; ``abandoned``
    if the staged file was lost before that (recovery decides, see :mod:`lineage.store.outbox`).
    """

    __tablename__ = "tagtrail_publications"
    __table_args__ = (Index("ix_tagtrail_publications_dataset", "namespace", "dataset"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_events.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(Name)
    dataset: Mapped[str] = mapped_column(Name)
    path: Mapped[str] = mapped_column(Text)
    staged: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Delivery(Base):
    """Whether one event reached one configured OpenLineage transport (absent: never tried)."""

    __tablename__ = "tagtrail_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "transport"),
        Index("ix_tagtrail_deliveries_transport_state", "transport", "state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("tagtrail_events.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
