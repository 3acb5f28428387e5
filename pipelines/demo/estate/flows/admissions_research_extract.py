"""Pseudonymised hospital admissions for the research unit."""

import pandas as pd

from pipelines import masking
from pipelines.transform import TransformContext


def transform(ctx: TransformContext, inpatient_episodes: pd.DataFrame) -> pd.DataFrame:
    """Spells with keyed-hash person keys, age bands, months and ICD-10 chapters, k-anonymised.

    Spells of people in a combination of age band and sex shared by fewer than k people are left
    out.
    """
    ep = inpatient_episodes
    stay = pd.to_datetime(ep["discharge_date"]) - pd.to_datetime(ep["admission_date"])
    extract = pd.DataFrame(
        {
            "record_id": ctx.pseudonymise(ep["episode_id"]),
            "person_key": ctx.pseudonymise(ep["nhs_number"]),
            "age_band": ctx.age_band(ep["date_of_birth"]),
            "sex": ep["sex"],
            "admission_month": masking.month(ep["admission_date"]),
            "length_of_stay_days": stay.dt.days.astype("Int64"),
            "diagnosis_chapter": masking.icd10_chapter(ep["primary_diagnosis"]),
        }
    )
    return ctx.k_anonymise(extract).sort_values("record_id", ignore_index=True)
