"""Loading and validating expectation suite files without importing Great Expectations."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expectations.catalog import (
    COLUMN_KWARGS,
    COLUMN_LIST_KWARG,
    EXPECTATION_KEYS,
    GATE_OWNED_KWARGS,
    SEVERITIES,
    SUITE_KEYS,
    SUPPORTED_TYPES,
)

SUITES_DIR: Path = Path(__file__).resolve().parent / "suites"


class SuiteError(ValueError):
    """A mistake in a suite file, explained in one readable paragraph.

    ``path`` is the suite file, ``location`` the JSON location of the mistake
    (e.g. ``expectations[2].severity``) when there is one.
    """

    def __init__(self, path: Path, problem: str, *, location: str | None = None) -> None:
        self.path = path
        self.location = location
        self.problem = problem
        super().__init__(f"Suite file {path}: {problem}")


@dataclass(frozen=True)
class Suite:
    """A validated suite file: its identity (path, sha256) and its expectation dicts."""

    name: str
    path: Path
    sha256: str
    expectations: tuple[dict[str, Any], ...]

    def columns(self) -> set[str]:
        """Every column named by an expectation (column, column_list, column_A, column_B)."""
        return {column for exp in self.expectations for column in expectation_columns(exp)}


def expectation_columns(expectation: Mapping[str, Any]) -> list[str]:
    """The columns an expectation dict names, in kwargs order, without duplicates."""
    kwargs = expectation.get("kwargs") or {}
    names: list[str] = [kwargs[key] for key in COLUMN_KWARGS if isinstance(kwargs.get(key), str)]
    column_list = kwargs.get(COLUMN_LIST_KWARG)
    if isinstance(column_list, list):
        names.extend(name for name in column_list if isinstance(name, str))
    return list(dict.fromkeys(names))


def load_suite(path: Path) -> Suite:
    """Read and validate a suite JSON file; raise SuiteError describing the first mistake.

    The file must be a JSON object with a non-empty string ``name`` and a non-empty
    ``expectations`` list. Each expectation needs a supported ``type``, an object
    ``kwargs`` and an explicit ``severity`` (critical, warning or info).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(path, f"cannot be read ({exc.strerror or exc}).") from None
    try:
        document = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_reject_duplicate_keys)
    except UnicodeDecodeError:
        raise SuiteError(path, "is not UTF-8 text; save it as UTF-8 JSON.") from None
    except _DuplicateKeyError as exc:
        raise SuiteError(
            path, f'repeats the key "{exc.key}" in one object; each key may appear once.'
        ) from None
    except json.JSONDecodeError as exc:
        raise SuiteError(
            path,
            f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). "
            'A suite is a JSON object with "name" and "expectations".',
        ) from None

    if not isinstance(document, dict):
        raise SuiteError(
            path,
            f'must contain a JSON object with "name" and "expectations", not {_kind(document)}.',
        )
    _check_keys(path, document, SUITE_KEYS, where="the suite")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SuiteError(path, 'field "name" must be a non-empty string.', location="name")
    expectations = document.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(
            path,
            'field "expectations" must be a non-empty list of expectation objects '
            f"(got {_kind(expectations)}).",
            location="expectations",
        )
    for index, expectation in enumerate(expectations):
        _check_expectation(path, index, expectation)

    return Suite(
        name=name,
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        expectations=tuple(copy.deepcopy(exp) for exp in expectations),
    )


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _check_expectation(path: Path, index: int, expectation: object) -> None:
    where = f"expectations[{index}]"
    if not isinstance(expectation, dict):
        raise SuiteError(
            path,
            f"{where} must be a JSON object with type, kwargs and severity, "
            f"not {_kind(expectation)}.",
            location=where,
        )
    exp_type = expectation.get("type")
    if not isinstance(exp_type, str) or not exp_type:
        raise SuiteError(
            path,
            f'{where}: field "type" must be the name of an expectation, '
            'e.g. "expect_column_values_to_not_be_null".',
            location=f"{where}.type",
        )
    where = f"{where} ({exp_type})"
    location = f"expectations[{index}]"

    def fail(field: str, problem: str) -> SuiteError:
        return SuiteError(
            path, f'{where}: field "{field}" {problem}', location=f"{location}.{field}"
        )

    _check_keys(path, expectation, EXPECTATION_KEYS, where=where, location=location)
    if exp_type not in SUPPORTED_TYPES:
        close = difflib.get_close_matches(exp_type, sorted(SUPPORTED_TYPES), n=1)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        raise fail(
            "type",
            f"is not a supported expectation type.{hint} Supported types are the "
            "Great Expectations core types in expectations/catalog.py and "
            '"expect_column_values_to_be_valid_nhs_numbers".',
        )
    if "severity" not in expectation:
        raise fail("severity", f"is missing; every expectation must set it to one of {_choices()}.")
    if expectation["severity"] not in SEVERITIES:
        raise fail(
            "severity",
            f"is {_show(expectation['severity'])}; allowed values are {_choices()}.",
        )
    kwargs = expectation.get("kwargs")
    if not isinstance(kwargs, dict):
        raise fail(
            "kwargs",
            f'must be a JSON object such as {{"column": "nhs_number"}}, not {_kind(kwargs)}.',
        )
    _check_kwargs(exp_type, kwargs, fail)
    if "meta" in expectation and not isinstance(expectation["meta"], dict):
        raise fail("meta", f"must be a JSON object, not {_kind(expectation['meta'])}.")
    meta_notes = (expectation.get("meta") or {}).get("notes")
    for field, value in (
        ("notes", expectation.get("notes")),
        ("meta.notes", meta_notes),
        ("description", expectation.get("description")),
    ):
        if value is not None and not _is_text(value, allow_list=field != "description"):
            raise fail(field, f"must be text, not {_kind(value)}.")


def _check_kwargs(
    exp_type: str, kwargs: dict[str, Any], fail: Callable[[str, str], SuiteError]
) -> None:
    owned = sorted(GATE_OWNED_KWARGS & kwargs.keys())
    if owned:
        raise fail(
            f"kwargs.{owned[0]}",
            "is set by the gate (it controls what results may reveal) and must not "
            "appear in a suite.",
        )
    for key in COLUMN_KWARGS:
        if key in kwargs and (not isinstance(kwargs[key], str) or not kwargs[key]):
            raise fail(f"kwargs.{key}", f"must be a column name, not {_kind(kwargs[key])}.")
    if COLUMN_LIST_KWARG in kwargs:
        value = kwargs[COLUMN_LIST_KWARG]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(name, str) and name for name in value)
        ):
            raise fail(
                f"kwargs.{COLUMN_LIST_KWARG}",
                f"must be a non-empty list of column names, not {_kind(value)}.",
            )
    for key in _required_kwargs(exp_type):
        if key not in kwargs:
            raise fail(f"kwargs.{key}", "is required by this expectation type.")


def _required_kwargs(exp_type: str) -> tuple[str, ...]:
    if exp_type.startswith("expect_column_pair_"):
        return ("column_A", "column_B")
    if exp_type.startswith(("expect_compound_", "expect_multicolumn_", "expect_select_column_")):
        return ("column_list",)
    if exp_type.startswith("expect_column_"):
        return ("column",)
    return ()


def _check_keys(
    path: Path,
    obj: Mapping[str, Any],
    allowed: Iterable[str],
    *,
    where: str,
    location: str | None = None,
) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        field = unknown[0]
        raise SuiteError(
            path,
            f'{where}: field "{field}" is not allowed here; allowed fields are '
            f"{', '.join(sorted(allowed))}.",
            location=f"{location}.{field}" if location else field,
        )


def _is_text(value: object, *, allow_list: bool) -> bool:
    if isinstance(value, str):
        return True
    return allow_list and isinstance(value, list) and all(isinstance(v, str) for v in value)


def _choices() -> str:
    return ", ".join(f'"{s}"' for s in SEVERITIES)


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
