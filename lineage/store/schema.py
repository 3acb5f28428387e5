"""Where the store's tables live: ``tagtrail_`` names and, on PostgreSQL, a schema of their own.

The store shares a database with other software (Dagster's instance storage has ``runs``,
``jobs`` and ``event_logs`` in ``public``), so every table is named ``tagtrail_<name>`` and, on
PostgreSQL, lives in one schema (``tagtrail`` unless configured), the version table included.
Store connections put only that schema on their ``search_path``, so unqualified SQL (the ORM's,
the reports', the benchmarks') reaches the store and nothing else.

The schema is chosen, first match wins, by the ``schema`` argument of
:func:`lineage.store.open_store`, the URL's ``tagtrail_schema`` query parameter (which
:func:`lineage.store.configured_url` sets from ``TAGTRAIL_LINEAGE_SCHEMA``; it is removed before
connecting), the first schema of the URL's own ``search_path`` (``options=-csearch_path=...``),
else ``tagtrail``. SQLite has no schemas: there the names are prefixed only.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL

from lineage.store.errors import StoreError

PREFIX = "tagtrail_"
DEFAULT_SCHEMA = "tagtrail"
SCHEMA_VARIABLE = "TAGTRAIL_LINEAGE_SCHEMA"
SCHEMA_PARAMETER = "tagtrail_schema"
SCHEMA_INFO = "tagtrail_schema"  # key in a store connection's ``info``: the schema it serves
ALLOWED = (
    "a lowercase name of letters, digits and underscores, starting with a letter or underscore, "
    "at most 63 characters and not starting with pg_"
)

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*((?:\\ |[^\s])+)")


def check_schema(name: str, source: str) -> str:
    """``name`` if it is a schema name the store accepts; a terminal :class:`StoreError` naming
    ``source`` (where the name came from) and what is allowed otherwise."""
    if not _NAME.fullmatch(name) or name.startswith("pg_"):
        raise StoreError(
            f"{source} names the lineage store schema {name!r}, which is not allowed; "
            f"use {ALLOWED} (default {DEFAULT_SCHEMA!r})",
            transient=False,
        )
    return name


def quote(name: str) -> str:
    """``name`` as a PostgreSQL identifier (checked names never need escaping; this is a guard)."""
    return '"' + name.replace('"', '""') + '"'


def search_path_schema(url: URL) -> str | None:
    """The first schema the URL's ``options=-csearch_path=...`` names, if it names one."""
    options = url.query.get("options")
    for option in (options,) if isinstance(options, str) else options or ():
        match = _SEARCH_PATH.search(option)
        if match is None:
            continue
        for entry in match.group(1).replace("\\ ", " ").split(","):
            entry = entry.strip().strip('"')
            if entry and entry != "$user":
                return entry
    return None


def resolve(url: URL, schema: str | None = None) -> tuple[URL, str]:
    """The URL to connect with (without ``tagtrail_schema``) and the PostgreSQL schema to use."""
    given = url.query.get(SCHEMA_PARAMETER)
    stripped = url.difference_update_query([SCHEMA_PARAMETER])
    if schema is not None:
        return stripped, check_schema(schema, "the schema argument")
    if isinstance(given, str) and given:
        return stripped, check_schema(given, f"{SCHEMA_VARIABLE} (or ?{SCHEMA_PARAMETER}=)")
    from_path = search_path_schema(url)
    if from_path is not None:
        return stripped, check_schema(from_path, "the URL's search_path option")
    return stripped, DEFAULT_SCHEMA
