"""Golden files for the lineage tests (tests/lineage/golden).

Regenerate them with ``TAGTRAIL_UPDATE_GOLDEN=1 python -m pytest tests/lineage``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def lineage_golden(golden_file: Callable[[Path, Any], None]) -> Callable[[str, Any], None]:
    """Compare JSON-safe data with golden/<name>.json, or rewrite it when updating."""
    return lambda name, actual: golden_file(GOLDEN / f"{name}.json", actual)
