"""Alembic scripts for the lineage store (a package so they ship with tagtrail)."""
