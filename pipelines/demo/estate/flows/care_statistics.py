"""Published counts with small-cell suppression."""

import pandas as pd

from pipelines.transform import TransformContext

KEYS = ["start_year", "postcode_district", "age_band", "service_type"]


def transform(ctx: TransformContext, care_research_extract: pd.DataFrame) -> pd.DataFrame:
    """Distinct people per cell; a cell below ``ctx.min_cell_count`` is withheld."""
    cells = (
        care_research_extract.groupby(KEYS, dropna=False)["person_key"]
        .nunique()
        .rename("people")
        .reset_index()
    )
    suppressed = cells["people"] < ctx.min_cell_count
    cells["people"] = cells["people"].astype("Int64").mask(suppressed)
    cells["suppressed"] = suppressed.astype("boolean")
    return cells.sort_values(KEYS, ignore_index=True)
