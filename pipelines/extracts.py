"""The demo's extract files, and the conversion of any frame to its declared types."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.model import ColumnType, Dataset
from pipelines.store import atomic_write

DTYPES: dict[ColumnType, str] = {
    ColumnType.STRING: "string",
    ColumnType.INTEGER: "Int64",
    ColumnType.FLOAT: "Float64",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.DATE: "datetime64[ms]",
}
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class ContractError(ValueError):
    """A frame's columns do not match its dataset declaration."""


@dataclass
class Conformance:
    """Values that could not be read as their declared type: row positions per column."""

    failures: dict[str, list[int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


def extract_path(home: Path, department: str, dataset: str) -> Path:
    """Where the demo's generator writes a dataset's extract (its manifest reads it there)."""
    return Path(home) / "extracts" / department / f"{dataset}.csv"


def write_extract(home: Path, department: str, dataset: str, frame: pd.DataFrame) -> Path:
    """Write an extract atomically: readers see the old file or the new one, never half of one."""
    path = extract_path(home, department, dataset)
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, date_format="%Y-%m-%d"))
    return path


def conform(frame: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, Conformance]:
    """``frame`` with exactly the declared columns, in order, converted to their declared types.

    Values that do not parse become null and are reported in the returned :class:`Conformance`, so
    the quality gate can fail them without the raw values ever being copied anywhere.
    """
    declared = list(dataset.column_names)
    missing = [c for c in declared if c not in frame.columns]
    extra = [c for c in frame.columns if c not in declared]
    if missing or extra:
        parts = [
            f"missing {', '.join(missing)}" if missing else "",
            f"undeclared {', '.join(map(str, extra))}" if extra else "",
        ]
        raise ContractError(
            f"dataset '{dataset.name}': columns do not match the declaration ({'; '.join(p for p in parts if p)}); "
            f"declared columns: {', '.join(declared)}"
        )
    out = pd.DataFrame(index=frame.index)
    report = Conformance()
    for col in dataset.columns:
        converted = _convert(frame[col.name], col.type)
        bad = converted.isna() & frame[col.name].notna()
        if bad.any():
            report.failures[col.name] = [int(i) for i in bad.to_numpy().nonzero()[0]]
        out[col.name] = converted
    return out.reset_index(drop=True), report


def to_dates(values: pd.Series) -> pd.Series:
    """Values as dates (``datetime64[ms]`` at midnight); unreadable values become null.

    A value with a UTC offset or time zone is taken to UTC first, so one column may mix offsets
    (``2026-03-01T23:30:00-05:00`` is 2 March); a value without one is taken as it is.
    """
    textual = values.dtype == "string" or values.dtype == object
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed" if textual else None)
    return parsed.dt.tz_convert(None).dt.normalize().astype(DTYPES[ColumnType.DATE])


def _convert(values: pd.Series, kind: ColumnType) -> pd.Series:
    if kind is ColumnType.STRING:
        return values.astype("string")
    if kind is ColumnType.DATE:
        return to_dates(values)
    if kind is ColumnType.BOOLEAN:
        if pd.api.types.is_bool_dtype(values):
            return values.astype("boolean")
        text = values.astype("string").str.strip().str.lower()
        return text.map(lambda v: True if v in _TRUE else False if v in _FALSE else pd.NA).astype(
            "boolean"
        )
    numeric = pd.to_numeric(values, errors="coerce")
    if kind is ColumnType.INTEGER:
        whole = numeric.where(numeric.isna() | (numeric == numeric.round()))
        return whole.astype("Float64").astype("Int64")
    return numeric.astype("Float64")
