"""Trace lookups by index on every backend: column edges into a column, and edges into a whole
dataset (``to_column_id`` null), each get a partial index of their own.

The plain ``to_column_id`` index held every whole-dataset edge under one null key; SQLite chose
it for ``to_column_id IS NULL`` and read all of them at every level of an upstream trace.

Revision ID: 0005_trace_indexes
Revises: 0004_observed
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_trace_indexes"
down_revision: str | None = "0004_observed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_NULL = sa.text("to_column_id IS NOT NULL")
NULL = sa.text("to_column_id IS NULL")


def upgrade() -> None:
    op.drop_index("ix_column_edges_to_column_id", table_name="column_edges")
    op.create_index(
        "ix_column_edges_into_column",
        "column_edges",
        ["to_column_id"],
        sqlite_where=NOT_NULL,
        postgresql_where=NOT_NULL,
    )
    op.create_index(
        "ix_column_edges_into_dataset",
        "column_edges",
        ["to_dataset_id"],
        sqlite_where=NULL,
        postgresql_where=NULL,
    )


def downgrade() -> None:
    op.drop_index("ix_column_edges_into_dataset", table_name="column_edges")
    op.drop_index("ix_column_edges_into_column", table_name="column_edges")
    op.create_index("ix_column_edges_to_column_id", "column_edges", ["to_column_id"])
