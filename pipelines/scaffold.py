"""``tagtrail init``: a new estate that validates and runs as generated, to grow into your own.

It holds a manifest, two departments, one agreement, a source dataset with sample data, one flow
with its transform, their suites, a README and a pytest file that runs the flow on the sample data.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "estate_template"
_RENAMES = {"gitignore.txt": ".gitignore"}
_FILLED = (".yaml", ".md")


class InitError(ValueError):
    """The estate cannot be created where asked."""


def estate_name(folder: Path) -> str:
    """A declaration name from a folder name: ``My Estate-2`` becomes ``my_estate_2``."""
    name = re.sub(r"[^a-z0-9_]+", "_", folder.name.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"estate_{name}".rstrip("_")
    return name[:63]


def init_estate(
    dest: Path, *, name: str | None = None, git: bool = False, today: dt.date | None = None
) -> list[Path]:
    """Write a new estate into ``dest`` (absent or empty) and return the files written.

    The agreement starts on 1 January of ``today``'s year, is reviewed two years later and ends
    after four. ``git`` makes ``dest`` a git repository with the files staged.
    """
    dest = dest.expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InitError(f"{dest} already exists and is not an empty folder; choose a new folder")
    name = name or estate_name(dest)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise InitError(
            f"estate name '{name}' must start with a lower-case letter and hold only lower-case "
            "letters, digits and _ (at most 63 characters)"
        )
    today = today or dt.date.today()
    start = dt.date(today.year, 1, 1)
    values = {
        "__NAME__": name,
        "__TITLE__": f"The {name} estate",
        "__START__": start.isoformat(),
        "__REVIEW__": start.replace(year=start.year + 2).isoformat(),
        "__END__": dt.date(start.year + 3, 12, 31).isoformat(),
    }
    written: list[Path] = []
    for src in sorted(TEMPLATE.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(TEMPLATE)
        target = dest / rel.parent / _RENAMES.get(rel.name, rel.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix in _FILLED:
            text = src.read_text(encoding="utf-8")
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(src, target)
        written.append(target)
    if git:
        _git(dest)
    return written


def _git(dest: Path) -> None:
    if shutil.which("git") is None:
        raise InitError("git is not installed; install it or leave out --git")
    for args in (["init", "--quiet"], ["add", "--all"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
