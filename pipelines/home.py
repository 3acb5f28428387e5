"""Where tagtrail keeps its files and which estate it runs, read when asked (never at import).

``TAGTRAIL_HOME`` (default ``./.tagtrail``) holds extracts, datasets, keys and the Dagster
instance; ``TAGTRAIL_ESTATE`` names the estate folder to run (default: the demo estate).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = ".tagtrail"
ESTATE_ENV = "TAGTRAIL_ESTATE"
DEMO = "demo"


def tagtrail_home(configured: str | None = None) -> Path:
    """The configured home, else ``TAGTRAIL_HOME``, else ``./.tagtrail``, as an absolute path."""
    return Path(configured or os.environ.get("TAGTRAIL_HOME") or DEFAULT_HOME).resolve()


def estate_dir(configured: str | os.PathLike[str] | None = None) -> Path:
    """The estate folder: ``configured``, else ``TAGTRAIL_ESTATE``, else the demo estate.

    ``demo`` names the demo estate shipped with tagtrail.
    """
    from pipelines.demo import DEMO_ESTATE

    value = str(configured or os.environ.get(ESTATE_ENV) or DEMO).strip()
    return DEMO_ESTATE if value == DEMO else Path(value).expanduser().resolve()
