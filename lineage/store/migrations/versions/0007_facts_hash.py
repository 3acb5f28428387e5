"""Each dataset remembers a digest of the facts its columns, tags and edges were built from.

A dataset rebuilt from a new version whose schema, tags, column lineage, inputs, agreement and
purpose are the facts it was last built from (a rerun) then only moves its edges to the new run,
instead of reading those facets again and rewriting every row. Existing datasets start with no
digest, so their next rebuild is a full one.

Revision ID: 0007_facts_hash
Revises: 0006_prefixed_schema
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_facts_hash"
down_revision: str | None = "0006_prefixed_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tagtrail_datasets", sa.Column("facts_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    # a plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch rebuild of the table would drop
    # it under the other tables' foreign keys
    op.drop_column("tagtrail_datasets", "facts_hash")
