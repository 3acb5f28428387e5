"""Revisions of the lineage store schema."""
