"""The store as outbox: publications recorded before a dataset becomes visible, and deliveries
of each event to each configured OpenLineage transport.

Revision ID: 0003_outbox
Revises: 0002_audit
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_outbox"
down_revision: str | None = "0002_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NAME = sa.String(512)


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "event_id",
            ID,
            sa.ForeignKey("events.id", name="fk_publications_event_id_events", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("dataset", NAME, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("staged", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_publications_state", "publications", ["state"])
    op.create_index("ix_publications_dataset", "publications", ["namespace", "dataset"])
    op.create_table(
        "deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "event_id",
            ID,
            sa.ForeignKey("events.id", name="fk_deliveries_event_id_events", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("transport", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event_id", "transport", name="uq_deliveries_event_id_transport"),
    )
    op.create_index("ix_deliveries_transport_state", "deliveries", ["transport", "state"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("publications")
