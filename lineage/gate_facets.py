"""The publication gate's outcomes as OpenLineage facets, and a FAIL event's default message.

The gate checks the asset's own data before it is stored, so its outcomes go on the output dataset
as ``dataQualityAssertions``, and on the run as the standard ``test`` facet (one test execution
per expectation) for consumers that read run-level test results. Both carry only the expectation
type, columns, success, severity (critical, warning, info as error, warn, info), description and
row counts: never failing keys, observed values, rule values or exception text.
"""

from __future__ import annotations

from typing import Final

from openlineage.client.generated import data_quality_assertions_dataset as dq
from openlineage.client.generated import test_run

from expectations.results import ExpectationOutcome, GateResult

SEVERITY: Final[dict[str, str]] = {"critical": "error", "warning": "warn", "info": "info"}


def assertions_facet(gate: GateResult, *, producer: str) -> dq.DataQualityAssertionsDatasetFacet:
    """The gate's outcomes as assertions: no failing keys, observed values, rule values or errors."""
    return dq.DataQualityAssertionsDatasetFacet(
        assertions=[_assertion(o) for o in gate.outcomes], producer=producer
    )


def gate_test_facet(gate: GateResult, *, producer: str) -> test_run.TestRunFacet:
    """The gate's outcomes as the ``test`` run facet, with the same allow-list as the assertions."""
    return test_run.TestRunFacet(tests=[_test(o) for o in gate.outcomes], producer=producer)


def outcome_name(o: ExpectationOutcome) -> str:
    """``expect_column_values_to_be_in_set on age_band``: the expectation and its columns."""
    return f"{o.expectation_type} on {o.column}" if o.column else o.expectation_type


def outcome_description(o: ExpectationOutcome) -> str:
    """What an expectation checks, saying so when it could not run (never the exception text)."""
    return o.description + (" (the expectation could not run)" if o.exception else "")


def outcome_actual(o: ExpectationOutcome) -> str | None:
    """``3 of 120 rows unexpected``: counts only, never which rows or values."""
    if o.unexpected_count is None:
        return None
    of = f" of {o.element_count}" if o.element_count is not None else ""
    return f"{o.unexpected_count}{of} rows unexpected"


def _columns(o: ExpectationOutcome) -> list[str]:
    return o.column.split(",") if o.column else []


def _assertion(o: ExpectationOutcome) -> dq.Assertion:
    columns = _columns(o)
    return dq.Assertion(
        assertion=o.expectation_type,
        success=o.success,
        column=columns[0] if len(columns) == 1 else None,
        severity=SEVERITY.get(o.severity, o.severity),
        description=outcome_description(o),
        actual=outcome_actual(o),
        params={"gateSeverity": o.severity, **({"columns": columns} if len(columns) > 1 else {})},
    )


def _test(o: ExpectationOutcome) -> test_run.TestExecution:
    columns = _columns(o)
    return test_run.TestExecution(
        name=outcome_name(o),
        status="pass" if o.success else "fail",
        severity=SEVERITY.get(o.severity, o.severity),
        type=o.expectation_type,
        description=outcome_description(o),
        actual=outcome_actual(o),
        params={"gateSeverity": o.severity, **({"columns": columns} if columns else {})},
    )


def gate_message(gate: GateResult | None) -> str:
    """A FAIL event's error message when the caller gives none: the failed critical checks."""
    if gate is None or gate.passed:
        return "the run failed"
    failed = ", ".join(outcome_name(o) for o in gate.failed_critical)
    return f"publication gate failed: {len(gate.failed_critical)} critical expectation(s): {failed}"
