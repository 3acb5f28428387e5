"""Published counts with primary and secondary small-cell suppression."""

import pandas as pd

from pipelines.policy.disclosure import suppress, tabulate
from pipelines.transform import TransformContext

DIMENSIONS = ["postcode_district", "age_band"]


def transform(ctx: TransformContext, care_research_extract: pd.DataFrame) -> pd.DataFrame:
    """People by district and age band, with totals.

    A count below ``ctx.min_cell_count`` is withheld (primary), and so is the smallest other entry
    of any row or column where one withheld count could be worked out from the total (secondary).
    """
    table = tabulate(care_research_extract, DIMENSIONS, unit="person_key", count_column="people")
    return suppress(table, DIMENSIONS, ctx.min_cell_count, count_column="people").table
