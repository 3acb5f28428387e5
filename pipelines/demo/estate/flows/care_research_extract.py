"""Pseudonymised care packages for the research unit."""

import pandas as pd

from pipelines import masking
from pipelines.transform import TransformContext


def transform(ctx: TransformContext, care_packages: pd.DataFrame) -> pd.DataFrame:
    """Direct identifiers replaced by keyed hashes; quasi-identifiers generalised, then k-anonymised.

    Where a combination of age band, sex and district covers fewer than k people, the district
    is withheld; records still too rare are left out.
    """
    cp = care_packages
    extract = pd.DataFrame(
        {
            "record_id": ctx.pseudonymise(cp["package_id"]),
            "person_key": ctx.pseudonymise(cp["nhs_number"]),
            "age_band": ctx.age_band(cp["date_of_birth"]),
            "sex": cp["sex"],
            "postcode_district": masking.postcode_district(cp["postcode"]),
            "ethnicity": cp["ethnicity"],
            "primary_support_reason": cp["primary_support_reason"],
            "service_type": cp["service_type"],
            "weekly_cost_band": masking.band(
                cp["weekly_cost_gbp"], [250, 500, 1000], ["<250", "250-499", "500-999", "1000+"]
            ),
            "start_year": pd.to_datetime(cp["start_date"]).dt.year.astype("Int64"),
        }
    )
    return ctx.k_anonymise(extract, suppress=("postcode_district",)).sort_values(
        "record_id", ignore_index=True
    )
