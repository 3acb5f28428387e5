"""People referred to each service by postcode district, with small-cell suppression."""

import pandas as pd

from pipelines import masking
from pipelines.policy.disclosure import suppress, tabulate
from pipelines.transform import TransformContext

DIMENSIONS = ["postcode_district", "service"]


def transform(ctx: TransformContext, referrals: pd.DataFrame) -> pd.DataFrame:
    """Distinct people per district and service, with totals.

    A count below the agreement's minimum is withheld (primary), and so is any other count that
    would let a withheld one be worked out from a total (secondary).
    """
    by_area = referrals.assign(postcode_district=masking.postcode_district(referrals["postcode"]))
    table = tabulate(by_area, DIMENSIONS, unit="nhs_number", count_column="people")
    return suppress(table, DIMENSIONS, ctx.min_cell_count, count_column="people").table
