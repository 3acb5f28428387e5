"""The code location Dagster loads: the components declared under ``dagster_project/defs/``.

Its one component is the estate named by ``TAGTRAIL_ESTATE`` (default: the demo estate).
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Every component declared in ``defs/``."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
