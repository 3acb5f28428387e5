"""Golden files for the lineage tests (tests/lineage/golden).

Regenerate them with ``TAGTRAIL_UPDATE_GOLDEN=1 python -m pytest tests/lineage``.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("TAGTRAIL_UPDATE_GOLDEN") == "1"


@pytest.fixture
def lineage_golden() -> Callable[[str, Any], None]:
    """Compare JSON-safe data with golden/<name>.json, or rewrite it when updating."""

    def check(name: str, actual: Any) -> None:
        text = json.dumps(actual, indent=2, allow_nan=False) + "\n"
        path = GOLDEN / f"{name}.json"
        if UPDATE_GOLDEN:
            path.parent.mkdir(parents=True, exist_ok=True)
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
