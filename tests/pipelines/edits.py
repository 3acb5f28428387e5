"""Breaking a copy of an estate on purpose, and reading the declaration error it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.estate import load_estate
from pipelines.yamlfile import DeclarationError


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in ``path``; fail if the fixture no longer holds it."""
    text = path.read_text()
    assert old in text, f"fixture text not found in {path}: {old!r}"
    path.write_text(text.replace(old, new, 1))


def declaration_error(root: Path) -> str:
    """The message of the declaration error loading ``root`` must raise."""
    with pytest.raises(DeclarationError) as info:
        load_estate(root)
    return str(info.value)
