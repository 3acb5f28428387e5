"""Names in the dataset warehouse: schemas, tables, hidden staging and tombstone tables.

A department is a schema and a dataset a table in it. A version being written lives beside it
under a hidden name carrying the writing process's id and a random token,
``.<dataset>.<pid>.<token>.staged`` (the dataset part shortened to fit PostgreSQL's 63 bytes);
a dataset being disposed of is renamed to ``.<dataset>.disposal-<moment>``. A publication is
recorded under a path-like identity, ``postgresql://<host>:<port>/<database>/<schema>.<table>``,
which names the server but never the credentials.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

MAX_NAME = 63
SCHEME = "postgresql://"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED = re.compile(r"^(pg_.*|information_schema)$")
STAGED = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})\.staged$")
TOMBSTONE = re.compile(r"^\.(?P<name>.+)\.disposal-(?P<stamp>\d{8}T\d{12}Z)$")


class WarehouseNameError(ValueError):
    """A department, dataset or column name the warehouse cannot hold."""


def check_name(kind: str, name: str) -> str:
    """``name`` if it can be a schema (``kind`` "department") or table ("dataset") name."""
    if not _NAME.match(name) or (kind == "department" and _RESERVED.match(name)):
        raise WarehouseNameError(
            f"{kind} name {name!r} cannot name a PostgreSQL {_KIND.get(kind, 'object')}: use "
            "lowercase letters, digits and underscores (at most 63, not starting with a digit"
            + (", not pg_* or information_schema)" if kind == "department" else ")")
        )
    return name


_KIND = {"department": "schema", "dataset": "table"}


def check_column(name: object) -> str:
    """A column name as PostgreSQL will store it (any text up to 63 bytes, no NUL)."""
    if not isinstance(name, str) or not name or "\x00" in name or len(name.encode()) > MAX_NAME:
        raise WarehouseNameError(
            f"column {name!r} cannot be a PostgreSQL column: names are non-empty text of at "
            f"most {MAX_NAME} bytes"
        )
    return name


def _shortened(dataset: str, suffix: str) -> str:
    keep = MAX_NAME - len(suffix) - 1
    return f".{dataset[:keep]}{suffix}"


def staging_name(dataset: str) -> str:
    """A fresh hidden name for the next version of ``dataset``."""
    return _shortened(dataset, f".{os.getpid()}.{secrets.token_hex(4)}.staged")


def tombstone_name(dataset: str, stamp: str) -> str:
    """The hidden name ``dataset`` takes while it is being disposed of at ``stamp``."""
    return _shortened(dataset, f".disposal-{stamp}")


def server_of(url: str | URL) -> str:
    """The server and database of ``url`` without credentials: ``host:port/database``."""
    parsed = make_url(url) if isinstance(url, str) else url
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass(frozen=True)
class TableRef:
    """A table on a server: what a publication record names."""

    server: str
    schema: str
    table: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.server}/{self.schema}.{self.table}"


def parse_ref(text: str) -> TableRef | None:
    """The table a record's path names, or None if it names a file."""
    if not text.startswith(SCHEME):
        return None
    server, _, qualified = text[len(SCHEME) :].rpartition("/")
    schema, _, table = qualified.partition(".")
    if not server or not schema or not table:
        return None
    return TableRef(server, schema, table)
