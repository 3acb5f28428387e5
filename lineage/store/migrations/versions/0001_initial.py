"""Initial lineage store: raw events, runs, jobs, datasets, columns, tags and lineage edges.

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NAME = sa.String(512)


def _time(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "events",
        _id(),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(16), nullable=False),
        _time("event_time"),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("parent_run_id", sa.String(64), nullable=True),
        sa.Column("job_namespace", NAME, nullable=False),
        sa.Column("job_name", NAME, nullable=False),
        sa.Column("producer", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        _time("received_at"),
        sa.UniqueConstraint("content_hash", name="uq_events_content_hash"),
    )
    op.create_index("ix_events_event_time", "events", ["event_time"])
    op.create_index("ix_events_run_id", "events", ["run_id"])
    op.create_index("ix_events_parent_run_id", "events", ["parent_run_id"])

    op.create_table(
        "jobs",
        _id(),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.UniqueConstraint("namespace", "name", name="uq_jobs_namespace_name"),
    )

    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column(
            "job_id", ID, sa.ForeignKey("jobs.id", name="fk_runs_job_id_jobs"), nullable=False
        ),
        sa.Column("parent_run_id", sa.String(64), nullable=True),
        sa.Column("parent_job_name", NAME, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _time("state_time"),
        _time("started_at", nullable=True),
        _time("ended_at", nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_job_id", "runs", ["job_id"])
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])

    op.create_table(
        "datasets",
        _id(),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("department", sa.String(128), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("retention", sa.Text(), nullable=True),
        sa.Column("source_system", sa.Text(), nullable=True),
        sa.Column("identifiability", sa.String(64), nullable=True),
        sa.Column("agreement_id", sa.String(128), nullable=True),
        sa.Column("agreement", JSON, nullable=True),
        sa.Column("owners", JSON, nullable=True),
        sa.Column("tags", JSON, nullable=True),
        sa.Column("assertions", JSON, nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("lifecycle_state", sa.String(32), nullable=True),
        sa.Column(
            "version_run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", name="fk_datasets_version_run_id_runs"),
            nullable=True,
        ),
        _time("version_time", nullable=True),
        sa.UniqueConstraint("namespace", "name", name="uq_datasets_namespace_name"),
    )
    op.create_index("ix_datasets_name", "datasets", ["name"])
    op.create_index("ix_datasets_agreement_id", "datasets", ["agreement_id"])

    op.create_table(
        "columns",
        _id(),
        sa.Column(
            "dataset_id",
            ID,
            sa.ForeignKey("datasets.id", name="fk_columns_dataset_id_datasets", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", NAME, nullable=False),
        sa.Column("type", sa.String(256), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.UniqueConstraint("dataset_id", "name", name="uq_columns_dataset_id_name"),
    )

    op.create_table(
        "column_tags",
        _id(),
        sa.Column(
            "column_id",
            ID,
            sa.ForeignKey(
                "columns.id", name="fk_column_tags_column_id_columns", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("identifiability", sa.String(64), nullable=True),
        sa.Column("attributions", JSON, nullable=False),
        sa.UniqueConstraint("column_id", "tag", name="uq_column_tags_column_id_tag"),
    )
    op.create_index("ix_column_tags_tag", "column_tags", ["tag"])

    op.create_table(
        "run_datasets",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", name="fk_run_datasets_run_id_runs", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "dataset_id",
            ID,
            sa.ForeignKey("datasets.id", name="fk_run_datasets_dataset_id_datasets"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(8), primary_key=True),
    )
    op.create_index("ix_run_datasets_dataset_id", "run_datasets", ["dataset_id"])

    op.create_table(
        "dataset_edges",
        _id(),
        _fk("input_dataset_id", "dataset_edges", "datasets"),
        _fk("output_dataset_id", "dataset_edges", "datasets"),
        _fk("job_id", "dataset_edges", "jobs"),
        _fk("run_id", "dataset_edges", "runs", sa.String(64), "run_id"),
        sa.Column("agreement_id", sa.String(128), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.UniqueConstraint(
            "input_dataset_id",
            "output_dataset_id",
            "job_id",
            name="uq_dataset_edges_input_dataset_id_output_dataset_id_job_id",
        ),
    )
    op.create_index("ix_dataset_edges_output_dataset_id", "dataset_edges", ["output_dataset_id"])

    op.create_table(
        "column_edges",
        _id(),
        _fk("from_column_id", "column_edges", "columns"),
        _fk("to_dataset_id", "column_edges", "datasets"),
        _fk("to_column_id", "column_edges", "columns", nullable=True),
        _fk("job_id", "column_edges", "jobs"),
        _fk("run_id", "column_edges", "runs", sa.String(64), "run_id"),
        sa.Column("type", sa.String(16), nullable=True),
        sa.Column("subtype", sa.String(32), nullable=True),
        sa.Column("masking", sa.Boolean(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
    )
    op.create_index("ix_column_edges_from_column_id", "column_edges", ["from_column_id"])
    op.create_index("ix_column_edges_to_column_id", "column_edges", ["to_column_id"])
    op.create_index(
        "ix_column_edges_to_dataset_id_to_column_id",
        "column_edges",
        ["to_dataset_id", "to_column_id"],
    )


def _fk(
    name: str,
    table: str,
    target: str,
    type_: sa.types.TypeEngine[Any] | None = None,
    target_column: str = "id",
    nullable: bool = False,
) -> sa.Column[Any]:
    return sa.Column(
        name,
        type_ if type_ is not None else ID,
        sa.ForeignKey(f"{target}.{target_column}", name=f"fk_{table}_{name}_{target}"),
        nullable=nullable,
    )


def downgrade() -> None:
    for table in (
        "column_edges",
        "dataset_edges",
        "run_datasets",
        "column_tags",
        "columns",
        "datasets",
        "runs",
        "jobs",
        "events",
    ):
        op.drop_table(table)
