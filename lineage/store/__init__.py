"""The embedded lineage store: every OpenLineage event tagtrail emits, raw, indexed as a graph.

Plain Python and SQLAlchemy (no Dagster). SQLite by default (``<home>/lineage.db``), PostgreSQL
for a team (``TAGTRAIL_LINEAGE_URL=postgresql+psycopg://...``); the schema is created and upgraded
by the Alembic migrations shipped in :mod:`lineage.store.migrations` when the store is opened.
Its tables are named ``tagtrail_*`` and, on PostgreSQL, live in a schema of their own
(``tagtrail``, or ``TAGTRAIL_LINEAGE_SCHEMA``; see :mod:`lineage.store.schema`).

    with open_store(default_url(home)) as store:
        store.ingest(event)
        for hop in store.trace("care_packages", "nhs_number", "downstream"):
            print(hop.to_dataset, hop.to_column, hop.tag_names)
"""

from lineage.store.connect import configured_url, default_url, mask_url
from lineage.store.errors import (
    URL_VARIABLE,
    AmbiguousNameError,
    InvalidEventError,
    StoreError,
    UnknownNameError,
)
from lineage.store.records import (
    AUDIT_KINDS,
    Agreement,
    Assertion,
    Attribution,
    AuditRecord,
    ColumnRecord,
    DatasetRecord,
    Direction,
    Hop,
    RunRecord,
    TagRecord,
    Transformation,
)
from lineage.store.schema import SCHEMA_VARIABLE
from lineage.store.store import LineageStore, open_store

__all__ = [
    "AUDIT_KINDS",
    "SCHEMA_VARIABLE",
    "URL_VARIABLE",
    "Agreement",
    "AmbiguousNameError",
    "Assertion",
    "Attribution",
    "AuditRecord",
    "ColumnRecord",
    "DatasetRecord",
    "Direction",
    "Hop",
    "InvalidEventError",
    "LineageStore",
    "RunRecord",
    "StoreError",
    "TagRecord",
    "Transformation",
    "UnknownNameError",
    "configured_url",
    "default_url",
    "mask_url",
    "open_store",
]
