"""Gate result types: allow-listed, JSON-safe summaries of a Great Expectations run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expectations.catalog import Severity
from expectations.suite import SUITES_DIR, Suite

_REPO_ROOT = SUITES_DIR.parent.parent


@dataclass(frozen=True)
class ExpectationOutcome:
    """The outcome of one expectation, holding only allow-listed, non-identifying fields."""

    expectation_type: str
    column: str | None
    severity: Severity
    success: bool
    description: str
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    failing_keys: tuple[dict[str, Any], ...]
    observed_value: Any | None
    rule: dict[str, Any]
    exception: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field (the fields are JSON-safe by construction)."""
        return {
            "expectation_type": self.expectation_type,
            "column": self.column,
            "severity": self.severity,
            "success": self.success,
            "description": self.description,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "failing_keys": [dict(key) for key in self.failing_keys],
            "observed_value": self.observed_value,
            "rule": dict(self.rule),
            "exception": self.exception,
        }


@dataclass(frozen=True)
class GateResult:
    """All outcomes of one suite over one dataframe; ``passed`` means no critical failure."""

    suite: Suite
    row_count: int
    outcomes: tuple[ExpectationOutcome, ...]

    def _failed(self, severity: Severity) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success and o.severity == severity)

    @property
    def failed_critical(self) -> tuple[ExpectationOutcome, ...]:
        """Failed expectations with severity "critical" (these block publication)."""
        return self._failed("critical")

    @property
    def failed_warning(self) -> tuple[ExpectationOutcome, ...]:
        """Failed expectations with severity "warning"."""
        return self._failed("warning")

    @property
    def failed_info(self) -> tuple[ExpectationOutcome, ...]:
        """Failed expectations with severity "info"."""
        return self._failed("info")

    @property
    def passed(self) -> bool:
        """True when no critical expectation failed."""
        return not self.failed_critical

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for golden files and lineage events.

        The suite file is given relative to the repository root when it lies inside
        it (else just its name) so that the summary does not depend on the checkout.
        """
        return {
            "suite": {
                "name": self.suite.name,
                "file": suite_file_label(self.suite),
                "sha256": self.suite.sha256,
            },
            "row_count": self.row_count,
            "passed": self.passed,
            "failed": {
                "critical": len(self.failed_critical),
                "warning": len(self.failed_warning),
                "info": len(self.failed_info),
            },
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }


def suite_file_label(suite: Suite) -> str:
    """The suite path relative to the repository root, or its file name if outside it."""
    try:
        return suite.path.resolve().relative_to(_REPO_ROOT).as_posix()
    except ValueError:
        return suite.path.name
