"""Tenancies in arrears joined to housing-related benefit claims at the same property."""

import pandas as pd

from pipelines.transform import TransformContext

ARREARS_THRESHOLD_GBP = 500.0


def transform(
    ctx: TransformContext, tenancies: pd.DataFrame, benefit_claims: pd.DataFrame
) -> pd.DataFrame:
    """One referral a tenancy in arrears with a live claim; the largest claim if there are several."""
    arrears = tenancies.loc[tenancies["rent_arrears_gbp"] >= ARREARS_THRESHOLD_GBP]
    claims = benefit_claims.sort_values(["weekly_amount_gbp", "claim_id"], ascending=[False, True])
    claims = claims.drop_duplicates("uprn")
    joined = arrears.merge(claims, on="uprn", how="inner", validate="one_to_one")
    weeks = joined["rent_arrears_gbp"] / joined["weekly_amount_gbp"].clip(lower=1.0)
    score = (weeks * 4 + joined["household_size"] * 5).clip(upper=100).round().astype("Int64")
    return pd.DataFrame(
        {
            "household_ref": "HR-" + joined["tenancy_id"],
            "uprn": joined["uprn"],
            "lead_tenant_name": joined["tenant_name"],
            "ni_number": joined["ni_number"],
            "postcode": joined["postcode"],
            "household_size": joined["household_size"],
            "rent_arrears_gbp": joined["rent_arrears_gbp"],
            "benefit_type": joined["benefit_type"],
            "weekly_benefit_gbp": joined["weekly_amount_gbp"],
            "risk_score": score,
        }
    ).sort_values("household_ref", ignore_index=True)
