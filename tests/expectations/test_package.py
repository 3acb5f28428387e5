"""Package-level contract: cheap import and the public names the Dagster layer uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import expectations

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_import_does_not_load_great_expectations_or_dagster() -> None:
    code = (
        "import sys, expectations\n"
        "from expectations import load_suite, run_gate\n"
        "bad = [m for m in ('great_expectations', 'dagster') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


def test_public_api() -> None:
    assert set(expectations.__all__) == {
        "SUITES_DIR",
        "ExpectationOutcome",
        "GateResult",
        "Severity",
        "Suite",
        "SuiteError",
        "is_valid_nhs_number",
        "load_suite",
        "run_gate",
    }
    assert issubclass(expectations.SuiteError, ValueError)
