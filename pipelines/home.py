"""Where tagtrail keeps its files: ``TAGTRAIL_HOME`` (default ``./.tagtrail``), read when asked."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = ".tagtrail"


def tagtrail_home(configured: str | None = None) -> Path:
    """The configured home, else ``TAGTRAIL_HOME``, else ``./.tagtrail``, as an absolute path."""
    return Path(configured or os.environ.get("TAGTRAIL_HOME") or DEFAULT_HOME).resolve()
