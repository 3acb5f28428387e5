"""Synthetic source extracts for the demo estate, generated deterministically from a seed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.demo import identifiers as ids
from pipelines.extracts import write_extract

FIRST_F = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Freya",
    "Lily",
    "Sophie",
    "Emily",
    "Zara",
    "Aisha",
    "Priya",
    "Maria",
    "Joan",
    "Margaret",
    "Patricia",
    "Susan",
]
FIRST_M = [
    "Oliver",
    "George",
    "Noah",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Jack",
    "Oscar",
    "Jacob",
    "Ravi",
    "Kwame",
    "Tomasz",
    "John",
    "David",
    "Peter",
    "Michael",
    "Brian",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Robinson",
    "Thompson",
    "Evans",
    "Walker",
    "Khan",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Hughes",
    "Okafor",
    "Nowak",
    "Ahmed",
    "Murphy",
    "Kelly",
    "Lewis",
    "Harris",
    "Begum",
    "Chen",
    "Singh",
    "Edwards",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morris",
    "Baker",
]
SPECIALTIES = [
    "general_medicine",
    "geriatric_medicine",
    "trauma_orthopaedics",
    "cardiology",
    "respiratory",
    "general_surgery",
    "stroke",
    "psychiatry",
]
ICD10 = [
    "I21.4",
    "I50.0",
    "J18.9",
    "J44.1",
    "S72.0",
    "N39.0",
    "F03",
    "I63.9",
    "E11.9",
    "C34.9",
    "K57.3",
    "R55",
    "A41.9",
    "M16.1",
    "G20",
]
SUPPORT_REASONS = [
    "physical_support",
    "sensory_support",
    "memory_and_cognition",
    "learning_disability",
    "mental_health",
    "social_support",
]
SERVICES = {
    "home_care": 320.0,
    "residential_care": 850.0,
    "nursing_care": 1150.0,
    "direct_payment": 280.0,
    "day_care": 140.0,
}
ETHNICITY = (["White", "Asian", "Black", "Mixed", "Other"], [0.8, 0.1, 0.05, 0.03, 0.02])
BENEFITS = {
    "housing_benefit": 95.0,
    "council_tax_reduction": 22.0,
    "discretionary_housing_payment": 40.0,
}


OPT_OUT_SHARE = 0.05


@dataclass(frozen=True)
class Population:
    """People and households from which every department's records are drawn."""

    people: pd.DataFrame
    reference_date: dt.date


def population(n: int, seed: int, reference_date: dt.date) -> Population:
    """``n`` synthetic people in households, with identifiers and demographics."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M", "U"], size=n, p=[0.505, 0.49, 0.005])
    first = [
        FIRST_F[rng.integers(len(FIRST_F))] if s == "F" else FIRST_M[rng.integers(len(FIRST_M))]
        for s in sex
    ]
    ages = np.clip(rng.gamma(4.2, 10.5, size=n), 0, 102).astype(int)
    born = [
        reference_date - dt.timedelta(days=int(a * 365.25 + rng.integers(0, 365))) for a in ages
    ]
    n_households = max(1, n * 10 // 23)
    household = rng.integers(0, n_households, size=n)
    district = rng.choice(ids.DISTRICTS, size=n_households, p=_weights(len(ids.DISTRICTS), rng))
    house_postcode = [ids.postcode(rng, d) for d in district]
    house_uprn = ids.uprns(rng, n_households)
    people = pd.DataFrame(
        {
            "nhs_number": ids.nhs_numbers(rng, n),
            "ni_number": ids.ni_numbers(rng, n),
            "name": [f"{f} {SURNAMES[rng.integers(len(SURNAMES))]}" for f in first],
            "sex": sex,
            "date_of_birth": pd.to_datetime(born),
            "age": ages,
            "household": household,
            "uprn": [house_uprn[h] for h in household],
            "postcode": [house_postcode[h] for h in household],
            "ethnicity": rng.choice(ETHNICITY[0], size=n, p=ETHNICITY[1]),
        }
    )
    return Population(people, reference_date)


def _weights(k: int, rng: np.random.Generator) -> np.ndarray:
    w: np.ndarray = rng.uniform(0.6, 1.4, size=k)
    return w / float(w.sum())


def inpatient_episodes(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Hospital spells in the last 18 months, more for older people."""
    p = pop.people
    rate = np.where(p["age"] >= 75, 0.9, np.where(p["age"] >= 65, 0.5, 0.18))
    counts = rng.poisson(rate * 1.5)
    rows = p.loc[p.index.repeat(counts)].reset_index(drop=True)
    n = len(rows)
    ref = pd.Timestamp(pop.reference_date)
    admitted = ref - pd.to_timedelta(rng.integers(0, 548, size=n), unit="D")
    stay = pd.to_timedelta(rng.geometric(0.18, size=n), unit="D")
    needs_care = rng.random(n) < np.where(rows["age"] >= 65, 0.25, 0.04)
    return pd.DataFrame(
        {
            "episode_id": [f"SP{100000 + i}" for i in range(n)],
            "nhs_number": rows["nhs_number"],
            "patient_name": rows["name"],
            "date_of_birth": rows["date_of_birth"],
            "sex": rows["sex"],
            "postcode": rows["postcode"],
            "admission_date": admitted,
            "discharge_date": admitted + stay,
            "specialty": rng.choice(SPECIALTIES, size=n),
            "primary_diagnosis": rng.choice(ICD10, size=n),
            "needs_social_care": needs_care,
        }
    )


def care_packages(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Adult social care packages, mostly for older people, started in the last three years."""
    p = pop.people
    rate = np.where(
        p["age"] >= 75, 0.28, np.where(p["age"] >= 65, 0.09, np.where(p["age"] >= 18, 0.015, 0.0))
    )
    rows = p.loc[rng.random(len(p)) < rate].reset_index(drop=True)
    n = len(rows)
    service = rng.choice(list(SERVICES), size=n, p=[0.45, 0.15, 0.1, 0.2, 0.1])
    start = pd.Timestamp(pop.reference_date) - pd.to_timedelta(
        rng.integers(0, 3 * 365, size=n), unit="D"
    )
    ended = rng.random(n) < 0.3
    end = (start + pd.to_timedelta(rng.integers(14, 400, size=n), unit="D")).where(ended)
    return pd.DataFrame(
        {
            "package_id": [f"CP{200000 + i}" for i in range(n)],
            "nhs_number": rows["nhs_number"],
            "person_name": rows["name"],
            "date_of_birth": rows["date_of_birth"],
            "sex": rows["sex"],
            "postcode": rows["postcode"],
            "ethnicity": rows["ethnicity"],
            "primary_support_reason": rng.choice(
                SUPPORT_REASONS, size=n, p=[0.5, 0.05, 0.15, 0.1, 0.12, 0.08]
            ),
            "service_type": service,
            "weekly_cost_gbp": np.round([SERVICES[s] * rng.uniform(0.6, 1.6) for s in service], 2),
            "start_date": start,
            "end_date": end,
        }
    )


def tenancies(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Social-rented tenancies, one a household for about a third of households."""
    heads = pop.people.loc[pop.people["age"] >= 18].drop_duplicates("household")
    heads = heads.loc[rng.random(len(heads)) < 0.35].reset_index(drop=True)
    size = pop.people.groupby("household").size()
    n = len(heads)
    in_arrears = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "tenancy_id": [f"T{300000 + i}" for i in range(n)],
            "uprn": heads["uprn"],
            "tenant_name": heads["name"],
            "postcode": heads["postcode"],
            "tenancy_start": pd.Timestamp(pop.reference_date)
            - pd.to_timedelta(rng.integers(30, 20 * 365, size=n), unit="D"),
            "household_size": size.loc[heads["household"]].to_numpy(),
            "rent_arrears_gbp": np.where(
                in_arrears, np.round(rng.exponential(700, size=n), 2), 0.0
            ),
        }
    )


def benefit_claims(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Housing-related benefit claims by adults, about one household in four."""
    adults = pop.people.loc[pop.people["age"] >= 18].drop_duplicates("household")
    rows = adults.loc[rng.random(len(adults)) < 0.25].reset_index(drop=True)
    n = len(rows)
    kind = rng.choice(list(BENEFITS), size=n, p=[0.55, 0.35, 0.1])
    claim_start = pd.Timestamp(pop.reference_date) - pd.to_timedelta(
        rng.integers(1, 6 * 365, size=n), unit="D"
    )
    return pd.DataFrame(
        {
            "claim_id": [f"HB{400000 + i}" for i in range(n)],
            "ni_number": rows["ni_number"],
            "claimant_name": rows["name"],
            "uprn": rows["uprn"],
            "date_of_birth": rows["date_of_birth"],
            "benefit_type": kind,
            "weekly_amount_gbp": np.round([BENEFITS[k] * rng.uniform(0.5, 1.8) for k in kind], 2),
            "claim_start": claim_start,
        }
    )


def national_data_opt_out(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """About one person in twenty has opted out of research and planning use."""
    rows = pop.people.loc[rng.random(len(pop.people)) < OPT_OUT_SHARE].reset_index(drop=True)
    n = len(rows)
    return pd.DataFrame(
        {
            "opt_out_id": [f"OO{500000 + i}" for i in range(n)],
            "nhs_number": rows["nhs_number"],
            "recorded_on": pd.Timestamp(pop.reference_date)
            - pd.to_timedelta(rng.integers(1, 5 * 365, size=n), unit="D"),
        }
    )


SOURCES = {
    ("health", "inpatient_episodes"): inpatient_episodes,
    ("social_care", "care_packages"): care_packages,
    ("housing", "tenancies"): tenancies,
    ("benefits", "benefit_claims"): benefit_claims,
    ("health", "national_data_opt_out"): national_data_opt_out,
}


def generate(
    home: Path, people: int = 10_000, seed: int = 2026, reference_date: dt.date | None = None
) -> dict[str, pd.DataFrame]:
    """Write every demo source extract under ``home`` and return them by dataset name."""
    pop = population(people, seed, reference_date or dt.date.today())
    out: dict[str, pd.DataFrame] = {}
    for i, ((dept, name), make) in enumerate(SOURCES.items()):
        frame = make(pop, np.random.default_rng([seed, i]))
        write_extract(home, dept, name, frame)
        out[name] = frame
    return out
