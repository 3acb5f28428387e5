"""Audit records keep the identity tagtrail observed beside the one a run tag claims.

Revision ID: 0004_observed
Revises: 0003_outbox
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_observed"
down_revision: str | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as table:
        table.add_column(sa.Column("observed_by", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_records") as table:
        table.drop_column("observed_by")
