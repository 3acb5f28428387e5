"""An estate's manifest, ``estate.yaml``: its name, where its suites live, its sources, its policy.

Every source dataset says where it comes from: a file (CSV or Parquet) under the extracts folder,
or a SQL table or query read through SQLAlchemy with the connection URL taken from a named
environment variable, never from the YAML. Policy settings are the estate's defaults; an
agreement may set its own.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from pipelines.model import Disclosure, Name, Period, _Strict

MANIFEST = "estate.yaml"
ENV_NAME = r"^[A-Z_][A-Z0-9_]{0,127}$"
_SUFFIXES = {"csv": "csv", "parquet": "parquet", "pq": "parquet"}
_SQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class SqlSource(_Strict):
    """A table (optionally in a schema) or a query, read with the URL held in ``url_env``."""

    url_env: Annotated[str, Field(pattern=ENV_NAME)]
    table: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    query: str | None = None
    updated_column: Name | None = None

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        if self.query is not None and self.schema_ is not None:
            raise ValueError("schema goes with table; write it into the query instead")
        for label, value in (("table", self.table), ("schema", self.schema_)):
            if value is not None and not _SQL_NAME.match(value):
                raise ValueError(
                    f"{label} '{value}' is not a plain SQL name (letters, digits, _ and $, "
                    "starting with a letter or _)"
                )
        if self.query is not None and not self.query.strip().rstrip(";").strip():
            raise ValueError("query is empty")
        return self

    @property
    def statement(self) -> str | None:
        """The query as the database receives it (without a trailing semicolon)."""
        return self.query.strip().rstrip(";").strip() if self.query is not None else None

    @property
    def schema_name(self) -> str | None:
        """The table's schema (None: the connection's default)."""
        return self.schema_

    def describe(self) -> str:
        """``table social_care.care_packages via $CARE_DB_URL`` (never the URL itself)."""
        what = (
            f"table {self.schema_ + '.' if self.schema_ else ''}{self.table}"
            if self.table
            else "a query"
        )
        return f"{what} via ${self.url_env}"


class Source(_Strict):
    """Where a source dataset comes from: ``file`` (under the extracts folder) or ``sql``."""

    file: str | None = None
    format: Literal["csv", "parquet"] | None = None
    encoding: str = "utf-8"
    sql: SqlSource | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if (self.file is None) == (self.sql is None):
            raise ValueError("give exactly one of file or sql")
        if self.sql is not None and (self.format is not None or self.encoding != "utf-8"):
            raise ValueError("format and encoding go with file")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(
                f"encoding '{self.encoding}' is not one Python knows (e.g. utf-8, cp1252, latin-1)"
            ) from None
        if self.file is not None and self.format is None and _suffix(self.file) not in _SUFFIXES:
            raise ValueError(
                f"cannot tell the format of '{self.file}' from its suffix; add format: csv or "
                "format: parquet"
            )
        return self

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or not path.name:
            raise ValueError(
                f"'{value}' must be a path inside the extracts folder, such as "
                "health/inpatient_episodes.csv (no leading / and no ..)"
            )
        return value

    @property
    def file_format(self) -> str:
        """``csv`` or ``parquet``: declared, else from the file's suffix."""
        return self.format or _SUFFIXES.get(_suffix(self.file or ""), "csv")

    def describe(self) -> str:
        """One line for metadata and messages (never a connection URL)."""
        if self.sql is not None:
            return self.sql.describe()
        return f"{self.file_format} file {self.file}"


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower().lstrip(".")


class Floors(_Strict):
    """The least protection any declaration of the estate may give; none is set by default.

    ``k_anonymity``, ``l_diversity`` and ``min_cell_count`` bound the thresholds of agreements,
    of ``policy.disclosure`` and of flows' rules from below; ``retention_shortest`` and
    ``retention_longest`` bound every retention period; a flow to a department listed in
    ``opt_out_required_for`` must apply an opt-out register, and one to a department in
    ``disclosure_required_for`` must declare a disclosure rule.
    """

    k_anonymity: int | None = Field(default=None, ge=2)
    l_diversity: int | None = Field(default=None, ge=2)
    min_cell_count: int | None = Field(default=None, ge=2)
    retention_shortest: Period | None = None
    retention_longest: Period | None = None
    opt_out_required_for: tuple[Name, ...] = ()
    disclosure_required_for: tuple[Name, ...] = ()


class Policy(_Strict):
    """The estate's policy defaults; an agreement's (or a dataset's) own setting wins.

    ``max_drop``: the largest share of rows a dataset may lose from one published version to the
    next without an acknowledgement; ``register_max_drop`` the same for opt-out registers, which
    are never allowed to be empty.
    """

    expiry_warning_days: int = Field(default=30, ge=1, le=366)
    max_drop: float = Field(default=0.5, gt=0, le=1)
    register_max_drop: float = Field(default=0.05, gt=0, le=1)
    review_overdue: Literal["warn", "halt"] = "warn"
    on_agreement_end: Literal["destroy", "archive"] = "destroy"
    disclosure: Disclosure = Disclosure()
    floors: Floors = Floors()


class Manifest(_Strict):
    """``estate.yaml``.

    ``packages`` names installed packages (top-level names) that transforms may come from besides
    the estate folder; nothing else outside the estate can be named by a declaration.
    """

    name: Name
    title: str = ""
    suites: str = "expectations"
    extracts: str | None = None
    sources: dict[Name, Source] = Field(default_factory=dict)
    packages: tuple[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], ...] = ()
    policy: Policy = Policy()


def copy_estate(source: Path, dest: Path) -> Path:
    """Copy the estate in ``source`` to ``dest``, still pointing at the same suites and extracts.

    Relative ``suites`` and ``extracts`` folders in the copy's manifest become absolute paths of
    the originals; everything else, comments included, is copied as it is.
    """
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
    path = dest / MANIFEST
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return dest
    edits = [
        (value.start_mark.index, value.end_mark.index, str((source / value.value).resolve()))
        for key, value in root.value
        if key.value in ("suites", "extracts")
        and isinstance(value, yaml.ScalarNode)
        and not Path(value.value).is_absolute()
    ]
    for start, end, absolute in sorted(edits, reverse=True):
        text = text[:start] + json.dumps(absolute) + text[end:]
    path.write_text(text, encoding="utf-8")
    return dest
