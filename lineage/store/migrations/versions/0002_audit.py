"""Audit records derived from the tagtrail_audit and tagtrail_controls facets.

Revision ID: 0002_audit
Revises: 0001_initial
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_audit"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NAME = sa.String(512)
INDEXED = ("event_id", "kind", "at", "dataset", "department", "agreement")


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "event_id",
            ID,
            sa.ForeignKey("events.id", name="fk_audit_records_event_id_events", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("dagster_run_id", sa.String(64), nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("dataset", NAME, nullable=False),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("agreement", sa.String(128), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("launched_by", sa.String(256), nullable=True),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", JSON, nullable=False),
    )
    for column in INDEXED:
        op.create_index(f"ix_audit_records_{column}", "audit_records", [column])


def downgrade() -> None:
    op.drop_table("audit_records")
