"""Great Expectations publication gate for tagtrail datasets.

Importing this package does not import Great Expectations; the gate loads it
(and registers the custom NHS number expectation) the first time it runs.
"""

from expectations.catalog import Severity
from expectations.gate import run_gate
from expectations.nhs import is_valid_nhs_number
from expectations.results import ExpectationOutcome, GateResult
from expectations.suite import SUITES_DIR, Suite, SuiteError, load_suite

__all__ = [
    "SUITES_DIR",
    "ExpectationOutcome",
    "GateResult",
    "Severity",
    "Suite",
    "SuiteError",
    "is_valid_nhs_number",
    "load_suite",
    "run_gate",
]
