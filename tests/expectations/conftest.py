"""Shared fixtures for the expectations package tests.

Golden files live in fixtures/golden; regenerate them with
``TAGTRAIL_UPDATE_GOLDEN=1 python -m pytest tests/expectations``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from expectations import Suite, load_suite

FIXTURES = Path(__file__).parent / "fixtures"


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
def golden(golden_file: Callable[[Path, Any], None]) -> Callable[[str, dict[str, Any]], None]:
    """Compare a JSON-safe dict with fixtures/golden/<name>.json (or rewrite it)."""
    return lambda name, actual: golden_file(FIXTURES / "golden" / f"{name}.json", actual)
