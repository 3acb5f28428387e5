"""Inpatients needing care and support on discharge, for adult social care."""

import datetime as dt

import pandas as pd

from pipelines.transform import TransformContext

WINDOW_DAYS = 28


def transform(ctx: TransformContext, inpatient_episodes: pd.DataFrame) -> pd.DataFrame:
    """Spells assessed as needing social care, discharged within the window or still in hospital."""
    ep = inpatient_episodes
    since = pd.Timestamp(ctx.as_of - dt.timedelta(days=WINDOW_DAYS))
    due = ep["needs_social_care"].fillna(False) & (ep["discharge_date"] >= since)
    out = ep.loc[due]
    return pd.DataFrame(
        {
            "notification_id": out["episode_id"],
            "nhs_number": out["nhs_number"],
            "patient_name": out["patient_name"],
            "date_of_birth": out["date_of_birth"],
            "postcode": out["postcode"],
            "admission_date": out["admission_date"],
            "expected_discharge_date": out["discharge_date"],
            "specialty": out["specialty"],
        }
    ).reset_index(drop=True)
