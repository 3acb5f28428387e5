"""Shared fixtures for the expectations package tests.

Golden files live in fixtures/golden; regenerate them with
``TAGTRAIL_UPDATE_GOLDEN=1 python -m pytest tests/expectations``.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from expectations import Suite, load_suite

FIXTURES = Path(__file__).parent / "fixtures"
UPDATE_GOLDEN = os.environ.get("TAGTRAIL_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="session")
def gx_runtime() -> Any:
    """Create the one shared GX context up front so its cost is paid once per session."""
    from expectations.runtime import get_runtime

    return get_runtime()


@pytest.fixture
def fixture_suite() -> Callable[[str], Suite]:
    """Load a suite from fixtures/suites by name (without .json)."""

    def load(name: str) -> Suite:
        return load_suite(FIXTURES / "suites" / f"{name}.json")

    return load


@pytest.fixture
def golden() -> Callable[[str, dict[str, Any]], None]:
    """Compare a JSON-safe dict with fixtures/golden/<name>.json (or rewrite it)."""

    def check(name: str, actual: dict[str, Any]) -> None:
        text = json.dumps(actual, indent=2, allow_nan=False) + "\n"
        path = FIXTURES / "golden" / f"{name}.json"
        if UPDATE_GOLDEN:
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"missing golden file {path}; run with TAGTRAIL_UPDATE_GOLDEN=1")
        expected = json.loads(path.read_text(encoding="utf-8"))
        if actual != expected:
            diff = difflib.unified_diff(
                json.dumps(expected, indent=2).splitlines(),
                text.splitlines(),
                fromfile=f"golden/{name}.json",
                tofile="actual",
                lineterm="",
            )
            pytest.fail("result differs from golden file:\n" + "\n".join(diff))

    return check
