"""Shared fixtures: a writable copy of the demo estate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.demo import DEMO_ESTATE


@pytest.fixture
def estate_copy(tmp_path: Path) -> Path:
    """The demo estate's declarations copied to a temporary folder, to break on purpose."""
    dest = tmp_path / "estate"
    shutil.copytree(DEMO_ESTATE, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest
