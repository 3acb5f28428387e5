"""Frames to and from PostgreSQL: column types, the COPY text a frame loads as, and back.

Each column is typed from its pandas or Arrow dtype (integers, floats, booleans, text, dates,
timestamps with or without a time zone, decimals) and the dtype itself is kept in the table's
comment, so that reading a table back gives a frame equal to the one written, nulls included.
Rows travel both ways as CSV through COPY, written and parsed by Arrow; the SHA-256 of the CSV
a frame loads as (after its column names and types) is the version's content identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from pipelines.warehouse.names import check_column

CHUNK_ROWS = 100_000
_INT_TYPES = {8: "smallint", 16: "smallint", 32: "integer", 64: "bigint"}
_UINT_TYPES = {8: "smallint", 16: "integer", 32: "bigint", 64: "numeric(20)"}
_OBJECT_TYPES = {
    "string": "text",
    "empty": "text",
    "date": "date",
    "boolean": "boolean",
    "integer": "bigint",
    "floating": "double precision",
    "mixed-integer-float": "double precision",
    "decimal": "numeric",
}
_ARROW_TEXT = {"string": pa.string(), "large_string": pa.large_string()}
ALLOWED = (
    "integers, floats, booleans, text, dates, timestamps (with or without time zone) and "
    "decimals, as numpy, pandas nullable or Arrow dtypes"
)


class UnsupportedColumn(TypeError):
    """A column whose dtype the warehouse cannot store faithfully."""


@dataclass(frozen=True)
class Column:
    """A column as stored: its name, PostgreSQL type and the pandas dtype it reads back as."""

    name: str
    sql_type: str
    dtype: str


def _arrow_type(name: str, kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_signed_integer(kind):
        return _INT_TYPES[kind.bit_width]
    if pa.types.is_unsigned_integer(kind):
        return _UINT_TYPES[kind.bit_width]
    if pa.types.is_floating(kind):
        return "real" if kind.bit_width <= 32 else "double precision"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    if pa.types.is_decimal(kind):
        return "numeric"
    raise UnsupportedColumn(
        f"column {name!r} has Arrow type {kind}; the warehouse stores {ALLOWED}"
    )


def _sql_type(name: str, series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_type(name, dtype.pyarrow_dtype)
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_signed_integer_dtype(dtype):
        return _INT_TYPES[dtype.itemsize * 8]
    if pd.api.types.is_unsigned_integer_dtype(dtype):
        return _UINT_TYPES[dtype.itemsize * 8]
    if pd.api.types.is_float_dtype(dtype):
        return "real" if dtype.itemsize <= 4 else "double precision"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in _OBJECT_TYPES:
            return _OBJECT_TYPES[inferred]
        if inferred == "datetime":
            aware = series.dropna().map(lambda v: v.tzinfo is not None)
            return "timestamptz" if aware.all() and len(aware) else "timestamp"
    raise UnsupportedColumn(f"column {name!r} has dtype {dtype}; the warehouse stores {ALLOWED}")


def dtype_name(dtype: Any) -> str:
    """A dtype as text that :func:`dtype_of` turns back into the same dtype."""
    if isinstance(dtype, pd.StringDtype):
        prefix = "str" if dtype.na_value is not pd.NA else "string"
        return f"{prefix}[{dtype.storage}]"
    if isinstance(dtype, pd.ArrowDtype):
        return f"arrow:{dtype.pyarrow_dtype}"
    return str(dtype)


def dtype_of(name: str) -> Any:
    """The dtype :func:`dtype_name` wrote as ``name``."""
    for prefix, na_value in (("str[", np.nan), ("string[", pd.NA)):
        if name.startswith(prefix) and name.endswith("]"):
            return pd.StringDtype(name[len(prefix) : -1], na_value=na_value)
    if name.startswith("arrow:"):
        kind = name[len("arrow:") :]
        if kind in _ARROW_TEXT:
            return pd.ArrowDtype(_ARROW_TEXT[kind])
        return pd.api.types.pandas_dtype(f"{kind}[pyarrow]")
    return pd.api.types.pandas_dtype(name)


def columns_of(frame: pd.DataFrame) -> list[Column]:
    """How each column of ``frame`` is stored; a clear error for one that cannot be."""
    names = [check_column(c) for c in frame.columns]
    if not names:
        raise UnsupportedColumn("a dataset needs at least one column")
    if len(set(names)) != len(names):
        raise UnsupportedColumn(
            f"column names repeat: {sorted({n for n in names if names.count(n) > 1})}"
        )
    return [
        Column(n, _sql_type(n, frame.iloc[:, i]), dtype_name(frame.iloc[:, i].dtype))
        for i, n in enumerate(names)
    ]


def _check_precision(frame: pd.DataFrame, columns: Sequence[Column]) -> None:
    for i, column in enumerate(columns):
        series = frame.iloc[:, i]
        stamps = column.sql_type.startswith("timestamp")
        if stamps and pd.api.types.is_object_dtype(series):
            continue  # Python datetimes hold microseconds at most
        if stamps and (series.dt.nanosecond.fillna(0) != 0).any():
            raise UnsupportedColumn(
                f"column {column.name!r} holds timestamps finer than a microsecond, which "
                "PostgreSQL cannot store; round it to microseconds first"
            )


def header(columns: Sequence[Column]) -> bytes:
    """The column names and types a version's identity starts with."""
    return json.dumps([[c.name, c.sql_type] for c in columns]).encode() + b"\n"


def copy_chunks(frame: pd.DataFrame, columns: Sequence[Column]) -> Iterator[bytes]:
    """``frame`` as CSV for ``COPY ... (FORMAT csv)``, ``CHUNK_ROWS`` rows a chunk: a null is an
    empty field, an empty string a quoted one."""
    _check_precision(frame, columns)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise UnsupportedColumn(
            f"a column mixes kinds of values Arrow cannot type ({type(exc).__name__}); give "
            f"each column one dtype: {ALLOWED}"
        ) from None
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(batch, sink, options)
        yield sink.getvalue().to_pybytes()


def sha256_of_frame(frame: pd.DataFrame) -> str:
    """The content identity of ``frame`` as the warehouse would store it."""
    columns = columns_of(frame)
    digest = hashlib.sha256(header(columns))
    for chunk in copy_chunks(frame, columns):
        digest.update(chunk)
    return digest.hexdigest()


_READ_TYPES = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us"),  # selected AT TIME ZONE 'UTC'
}


def read_type(sql_type: str) -> pa.DataType:
    """The Arrow type a column's CSV text is parsed as (text for anything else)."""
    return _READ_TYPES.get(sql_type, pa.string())


def parse_csv(data: bytes, names: Sequence[str], types: Sequence[pa.DataType]) -> pa.Table:
    """Rows PostgreSQL wrote with ``COPY ... TO STDOUT (FORMAT csv)`` as an Arrow table."""
    if not data:
        return pa.table({n: pa.array([], type=t) for n, t in zip(names, types, strict=True)})
    return pa_csv.read_csv(
        pa.BufferReader(data),
        read_options=pa_csv.ReadOptions(column_names=list(names), block_size=1 << 24),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict(zip(names, types, strict=True)),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def column_from(array: pa.ChunkedArray, dtype_text: str | None, sql_type: str) -> pd.Series:
    """One column read back from PostgreSQL as the dtype it was written with."""
    dtype = dtype_of(dtype_text) if dtype_text else _default_dtype(sql_type)
    if sql_type == "numeric":
        values = [None if v is None else Decimal(v) for v in array.to_pylist()]
        return pd.Series(values, dtype=dtype)
    arrow = pd.Series(array.to_pandas(types_mapper=pd.ArrowDtype))
    if sql_type == "timestamp with time zone":
        utc = arrow.astype("datetime64[us]").dt.tz_localize("UTC")
        if isinstance(dtype, pd.ArrowDtype):
            return utc.astype(dtype)
        return utc.dt.tz_convert(getattr(dtype, "tz", "UTC")).astype(dtype)
    if isinstance(dtype, np.dtype):
        if dtype.kind == "O":
            return pd.Series(array.to_pylist(), dtype=object)
        if dtype.kind in "iub" and array.null_count:
            return arrow.astype("boolean" if dtype.kind == "b" else "Int64")
    return arrow.astype(dtype)


def _default_dtype(sql_type: str) -> Any:
    """The dtype of a column written by something else (no dtype recorded)."""
    defaults = {
        "smallint": "Int64",
        "integer": "Int64",
        "bigint": "Int64",
        "real": "Float64",
        "double precision": "Float64",
        "boolean": "boolean",
        "text": "string",
        "character varying": "string",
        "timestamp without time zone": "datetime64[us]",
        "timestamp with time zone": "datetime64[us, UTC]",
    }
    return pd.api.types.pandas_dtype(defaults.get(sql_type, "object"))
