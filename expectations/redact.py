"""Turning one GX validation result into an ExpectationOutcome by allow-listing.

Nothing is copied from a GX result unless it is named here; raw values from
tagged columns must never reach an outcome.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from expectations.catalog import STRUCTURAL_KWARGS, VALUE_KWARGS
from expectations.describe import describe
from expectations.results import ExpectationOutcome
from expectations.suite import expectation_columns

_MISSING_COLUMN = re.compile(r'column "(?P<name>[^"]+)" in BatchData does not exist')
_MAX_MESSAGE = 200


def build_outcome(
    expectation: Mapping[str, Any],
    gx_result: Any,
    *,
    primary_key: Sequence[str],
    tagged_columns: Collection[str],
    max_failing_keys: int,
) -> ExpectationOutcome:
    """Summarise ``gx_result`` (an ExpectationValidationResult) for ``expectation``."""
    columns = expectation_columns(expectation)
    tagged = any(column in tagged_columns for column in columns)
    rule = allowed_rule(expectation["kwargs"], tagged=tagged)
    result: Mapping[str, Any] = gx_result.result or {}
    errors = exception_messages(gx_result.exception_info)
    exception = _exception_text(errors, tagged=tagged) if errors else None
    percent = _number(result.get("unexpected_percent"))
    return ExpectationOutcome(
        expectation_type=expectation["type"],
        column=",".join(columns) or None,
        severity=expectation["severity"],
        success=bool(gx_result.success) and exception is None,
        description=describe(expectation["type"], rule, columns, _notes(expectation)),
        element_count=_count(result.get("element_count")),
        unexpected_count=_count(result.get("unexpected_count")),
        unexpected_percent=None if percent is None else round(percent, 4),
        failing_keys=()
        if exception
        else failing_keys(result, primary_key=primary_key, limit=max_failing_keys),
        observed_value=None if exception or tagged else json_safe(result.get("observed_value")),
        rule=rule,
        exception=exception,
    )


def allowed_rule(kwargs: Mapping[str, Any], *, tagged: bool) -> dict[str, Any]:
    """Structural kwargs always; value kwargs (ranges, patterns, sets) only if untagged."""
    allowed = STRUCTURAL_KWARGS if tagged else STRUCTURAL_KWARGS | VALUE_KWARGS
    return {key: json_safe(value) for key, value in kwargs.items() if key in allowed}


def failing_keys(
    result: Mapping[str, Any], *, primary_key: Sequence[str], limit: int
) -> tuple[dict[str, Any], ...]:
    """Primary-key values of failing rows, in dataframe row order, at most ``limit``.

    GX gives either one columnar mapping ({pk: [values...]}, when unexpected values
    are excluded) or one mapping per row that may also hold the failing value;
    only primary-key columns are read in both cases.
    """
    rows: list[dict[str, Any]] = []
    for entry in result.get("partial_unexpected_index_list") or ():
        if not isinstance(entry, Mapping):
            continue
        if all(isinstance(entry.get(pk), list) for pk in primary_key):
            columns = [entry[pk] for pk in primary_key]
            rows.extend(
                dict(zip(primary_key, values, strict=True)) for values in zip(*columns, strict=True)
            )
        else:
            rows.append({pk: entry.get(pk) for pk in primary_key})
        if len(rows) >= limit:
            break
    return tuple(
        {pk: json_safe(value) for pk, value in row.items()} for row in rows[: max(limit, 0)]
    )


def json_safe(value: Any) -> Any:
    """Convert to str/int/float/bool/None, lists and str-keyed dicts; dates become ISO text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=repr)
    import numpy as np
    import pandas as pd

    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if not hasattr(value, "__len__") and pd.isna(value):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    return str(value)


def exception_messages(exception_info: Mapping[Any, Any] | None) -> list[tuple[str, str]]:
    """(exception class name, first message line) for each exception GX recorded."""
    if not exception_info:
        return []
    entries = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    found: list[tuple[str, str]] = []
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "").strip()
            found.append((_exception_class(entry.get("exception_traceback")), message))
    return found


def _exception_class(traceback_text: object) -> str:
    lines = [line for line in str(traceback_text or "").splitlines() if line.strip()]
    if lines:
        match = re.match(r"^([A-Za-z_][\w.]*)(?::|$)", lines[-1])
        if match:
            return match.group(1).rsplit(".", 1)[-1]
    return "Exception"


def _notes(expectation: Mapping[str, Any]) -> str | None:
    meta = expectation.get("meta") or {}
    for value in (expectation.get("description"), meta.get("notes"), expectation.get("notes")):
        text = " ".join(value) if isinstance(value, list) else value
        if text:
            return str(text)
    return None


def _exception_text(errors: Sequence[tuple[str, str]], *, tagged: bool) -> str:
    for _, message in errors:
        missing = _MISSING_COLUMN.search(message)
        if missing:
            return f'column "{missing.group("name")}" does not exist in the dataset'
    kind, message = errors[0]
    if tagged:
        return (
            f"{kind} while evaluating this expectation "
            "(details withheld because it involves a tagged column)"
        )
    first_line = message.splitlines()[0] if message else ""
    text = f"{kind}: {first_line}" if first_line else kind
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _count(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
