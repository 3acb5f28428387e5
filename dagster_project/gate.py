"""The quality gate as Dagster asset checks: what a steward sees when data is held back.

``quality_gate`` fails at ERROR severity when a critical expectation fails: the asset is not
written and nothing downstream runs. ``quality_warnings`` reports warning-level failures with WARN
severity and never halts. tagtrail halts by not storing the data, not by failing the step, so the
specs are not Dagster-"blocking" (see :mod:`dagster_project.halts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import dagster as dg
import pandas as pd

from expectations import ExpectationOutcome, GateResult, Suite, run_gate
from pipelines.extracts import Conformance
from pipelines.model import ColumnType, Dataset
from pipelines.taxonomy import is_personal

GATE_CHECK = "quality_gate"
WARN_CHECK = "quality_warnings"
MAX_KEYS = 20


def check_specs(key: dg.AssetKey, dataset: Dataset) -> list[dg.AssetCheckSpec]:
    """The two checks every dataset carries."""
    return [
        dg.AssetCheckSpec(
            GATE_CHECK,
            asset=key,
            description=f"Critical expectations of '{dataset.name}' (types, keys, suite rules); "
            "a failure holds the data back and halts everything downstream.",
        ),
        dg.AssetCheckSpec(
            WARN_CHECK,
            asset=key,
            description=f"Warning-level expectations of '{dataset.name}'; reported, never halting.",
        ),
    ]


NULL_LIKE = ("", "NaN", "NULL", "None", "N/A")
NULL_LIKE_REGEX = r"(?i)^\s*(?:|nan|null|none|n/a)\s*$"


def with_contract(suite: Suite, dataset: Dataset) -> Suite:
    """The suite plus the rules every declaration implies about its primary key.

    Every key column is present and never a null-like text (``""``, ``NaN``, ``NULL``, ``None``,
    ``N/A``, in any case, with or without spaces); the key is unique.
    """
    pk = list(dataset.primary_key)
    implied: list[dict[str, object]] = []
    for c in pk:
        implied.append(
            _implied(
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": c}},
                f"primary key column {c} must always be present",
            )
        )
        if dataset.column(c).type is ColumnType.STRING:
            implied.append(
                _implied(
                    {
                        "type": "expect_column_values_to_not_match_regex",
                        "kwargs": {"column": c, "regex": NULL_LIKE_REGEX},
                    },
                    f"primary key column {c} must not hold a null-like text "
                    f"({', '.join(repr(v) for v in NULL_LIKE)}, in any case)",
                )
            )
    unique: dict[str, object] = (
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": pk[0]}}
        if len(pk) == 1
        else {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": pk}}
    )
    implied.append(_implied(unique, f"primary key ({', '.join(pk)}) must be unique"))
    return dataclasses.replace(suite, expectations=(*implied, *suite.expectations))


def _implied(expectation: dict[str, object], notes: str) -> dict[str, object]:
    return expectation | {
        "severity": "critical",
        "meta": {"notes": notes, "source": "declaration"},
    }


def evaluate(
    frame: pd.DataFrame, conformance: Conformance, dataset: Dataset, suite: Suite
) -> GateResult:
    """Run the suite on ``frame`` and add a critical outcome per column with unreadable values."""
    tagged = [c.name for c in dataset.columns if any(is_personal(t) for t in c.tags)]
    result = run_gate(
        frame,
        with_contract(suite, dataset),
        primary_key=dataset.primary_key,
        tagged_columns=tagged,
        max_failing_keys=MAX_KEYS,
    )
    typing = tuple(
        _type_outcome(frame, dataset, col, rows) for col, rows in conformance.failures.items()
    )
    return dataclasses.replace(result, outcomes=(*typing, *result.outcomes))


def contract_failure(
    suite: Suite, message: str, expectation: str = "tagtrail_declared_columns"
) -> GateResult:
    """A gate result for data that could not be validated at all: a delivery that cannot be read
    (``tagtrail_readable_delivery``) or columns that do not match the declaration."""
    outcome = ExpectationOutcome(
        expectation_type=expectation,
        column=None,
        severity="critical",
        success=False,
        description=message,
        element_count=None,
        unexpected_count=None,
        unexpected_percent=None,
        failing_keys=(),
        observed_value=None,
        rule={},
        exception=None,
    )
    return GateResult(suite=suite, row_count=0, outcomes=(outcome,))


def _type_outcome(
    frame: pd.DataFrame, dataset: Dataset, column: str, rows: Sequence[int]
) -> ExpectationOutcome:
    keys = frame.iloc[list(rows)[:MAX_KEYS]][list(dataset.primary_key)]
    kind = dataset.column(column).type.value
    return ExpectationOutcome(
        expectation_type="tagtrail_declared_type",
        column=column,
        severity="critical",
        success=False,
        description=f"{column} values must be readable as {kind}",
        element_count=len(frame),
        unexpected_count=len(rows),
        unexpected_percent=100.0 * len(rows) / max(len(frame), 1),
        failing_keys=tuple(
            {k: (None if pd.isna(v) else str(v)) for k, v in rec.items()}
            | {"row_number": int(i) + 1}
            for i, rec in zip(rows, keys.to_dict("records"), strict=False)
        ),
        observed_value=None,
        rule={"type_": kind},
        exception=None,
    )


def check_results(result: GateResult) -> tuple[dg.AssetCheckResult, dg.AssetCheckResult]:
    """The blocking gate result and the warnings result, with metadata for stewards."""
    critical, warning = result.failed_critical, result.failed_warning
    gate = dg.AssetCheckResult(
        check_name=GATE_CHECK,
        passed=not critical,
        severity=dg.AssetCheckSeverity.ERROR,
        description=_summary(critical, "critical", result),
        metadata=_metadata(result, critical),
    )
    warn = dg.AssetCheckResult(
        check_name=WARN_CHECK,
        passed=not warning,
        severity=dg.AssetCheckSeverity.WARN,
        description=_summary(warning, "warning", result),
        metadata=_metadata(result, warning),
    )
    return gate, warn


def summary(result: GateResult) -> str:
    """The blocking gate's one-line description: what failed, with row counts."""
    return _summary(result.failed_critical, "critical", result)


def _summary(failed: Sequence[ExpectationOutcome], level: str, result: GateResult) -> str:
    if not failed:
        return f"All {level} expectations passed on {result.row_count} rows."
    parts = [f"{o.description} ({_count(o)})" for o in failed]
    return f"{len(failed)} {level} expectation(s) failed: " + "; ".join(parts)


def _count(o: ExpectationOutcome) -> str:
    if o.exception:
        return "could not be evaluated"
    if o.unexpected_count is None:
        return "failed"
    share = f", {o.unexpected_percent:.2f}%" if o.unexpected_percent is not None else ""
    return f"{o.unexpected_count} rows{share}"


def _metadata(
    result: GateResult, failed: Sequence[ExpectationOutcome]
) -> dict[str, dg.RawMetadataValue]:
    rows = [
        f"| {o.severity} | {o.expectation_type} | {o.column or '(table)'} | "
        f"{'' if o.unexpected_count is None else o.unexpected_count} | "
        f"{'' if o.unexpected_percent is None else f'{o.unexpected_percent:.2f}%'} | {o.description} |"
        for o in failed
    ]
    table = "\n".join(
        [
            "| severity | expectation | column | failing rows | share | rule |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    return {
        "suite": dg.MetadataValue.path(str(result.suite.path)),
        "suite_sha256": result.suite.sha256,
        "rows_evaluated": result.row_count,
        "expectations_evaluated": len(result.outcomes),
        "expectations_failed": len(failed),
        "failures": dg.MetadataValue.md(table if failed else "No failures."),
        "failing_row_keys": dg.MetadataValue.json(
            [
                {
                    "expectation": o.expectation_type,
                    "column": o.column,
                    "failing_rows": o.unexpected_count,
                    "keys_shown": len(o.failing_keys),
                    "primary_keys": list(o.failing_keys),
                }
                for o in failed
            ]
        ),
    }
