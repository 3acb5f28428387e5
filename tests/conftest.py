"""Shared fixtures: a writable copy of the demo estate, and golden-file comparison."""

from __future__ import annotations

import difflib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.demo import DEMO_ESTATE


@pytest.fixture
def estate_copy(tmp_path: Path) -> Path:
    """The demo estate's declarations copied to a temporary folder, to break on purpose."""
    dest = tmp_path / "estate"
    shutil.copytree(DEMO_ESTATE, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest


GoldenCheck = Callable[[Path, Any], None]


@pytest.fixture
def golden_file() -> GoldenCheck:
    """Compare JSON-safe data with a golden file, or rewrite it when TAGTRAIL_UPDATE_GOLDEN=1."""

    def check(path: Path, actual: Any) -> None:
        text = json.dumps(actual, indent=2, allow_nan=False) + "\n"
        if os.environ.get("TAGTRAIL_UPDATE_GOLDEN") == "1":
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
                fromfile=str(path.name),
                tofile="actual",
                lineterm="",
            )
            pytest.fail("result differs from golden file:\n" + "\n".join(diff))

    return check
