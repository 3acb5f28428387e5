"""Where the official OpenLineage JSON schemas are, for every test that validates events with them.

``OPENLINEAGE_SPEC_DIR`` names the folder holding ``OpenLineage.json`` and ``facets/``; unset, it is
``../shared/openlineage-spec`` beside the repository. Without it those tests skip, saying how to
enable them; the checks that need no spec (the typed round trip, symlinks) always run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_ENV = "OPENLINEAGE_SPEC_DIR"
SPEC_DIR = Path(os.environ.get(SPEC_ENV) or REPO_ROOT.parent / "shared" / "openlineage-spec")
HAVE_SPEC = (SPEC_DIR / "OpenLineage.json").is_file() and (SPEC_DIR / "facets").is_dir()
SKIP_REASON = (
    f"OpenLineage schema check skipped: no OpenLineage.json and facets/ in {SPEC_DIR}. Set "
    f"{SPEC_ENV} to a checkout of the OpenLineage spec folder (the one holding OpenLineage.json "
    "and facets/), e.g. from github.com/OpenLineage/OpenLineage/tree/main/spec"
)

needs_spec = pytest.mark.skipif(not HAVE_SPEC, reason=SKIP_REASON)


def require_spec() -> Path:
    """The spec folder, or skip the calling test (for a check inside a longer test)."""
    if not HAVE_SPEC:
        pytest.skip(SKIP_REASON)
    return SPEC_DIR
