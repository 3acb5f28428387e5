"""Synthetic source extracts for the demo estate, generated deterministically from a seed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
MAX_PEOPLE = ids.CAPACITY


@dataclass(frozen=True)
class Population:
    """People and households from which every department's records are drawn."""

    people: pd.DataFrame
    reference_date: dt.date


def population(n: int, seed: int, reference_date: dt.date) -> Population:
    """``n`` synthetic people in households, with identifiers and demographics.

    Raises ValueError beyond :data:`MAX_PEOPLE` (8 million), the fake identifiers' capacity.
    """
    if not 1 <= n <= MAX_PEOPLE:
        raise ValueError(
            f"the demo population must be between 1 and {MAX_PEOPLE:,} people, not {n:,}: "
            "beyond that the never-issued identifier ranges it draws from run out"
        )
    rng = np.random.default_rng(seed)
    sex = rng.choice(3, size=n, p=[0.505, 0.49, 0.005])
    first = np.where(
        sex == 0,
        rng.integers(len(FIRST_F), size=n),
        len(FIRST_F) + rng.integers(len(FIRST_M), size=n),
    )
    surname = rng.integers(len(SURNAMES), size=n)
    ages = np.clip(rng.gamma(4.2, 10.5, size=n), 0, 102).astype(int)
    days_old = (ages * 365.25 + rng.integers(0, 365, size=n)).astype(np.int64)
    n_households = max(1, n * 10 // 23)
    household = rng.integers(0, n_households, size=n)
    district = rng.choice(ids.DISTRICTS, size=n_households, p=_weights(len(ids.DISTRICTS), rng))
    house_postcode = pa.array(ids.postcodes(rng, district))
    house_uprn = pa.array(ids.uprns(rng, n_households))
    name = pc.binary_join_element_wise(
        _pick(FIRST_F + FIRST_M, first), _pick(SURNAMES, surname), " "
    )
    people = pd.DataFrame(
        {
            "nhs_number": _text(ids.nhs_number_array(rng, n)),
            "ni_number": _text(ids.ni_number_array(rng, n)),
            "name": _text(name),
            "sex": _text(_pick(["F", "M", "U"], sex)),
            "date_of_birth": pd.to_datetime(np.datetime64(reference_date, "D") - days_old),
            "age": ages,
            "household": household,
            "uprn": _text(pc.take(house_uprn, household)),
            "postcode": _text(pc.take(house_postcode, household)),
            "ethnicity": _text(rng.choice(ETHNICITY[0], size=n, p=ETHNICITY[1])),
        }
    )
    return Population(people, reference_date)


def _weights(k: int, rng: np.random.Generator) -> np.ndarray:
    w: np.ndarray = rng.uniform(0.6, 1.4, size=k)
    return w / float(w.sum())


def _pick(values: list[str], index: np.ndarray) -> pa.Array:
    """``values[i]`` for each ``i`` of ``index``, as an Arrow string array."""
    return pc.take(pa.array(values), index)


def _text(values: np.ndarray | pa.Array) -> pd.Series:
    """Strings as a pandas text column, through Arrow (much faster than from numpy)."""
    return pd.Series(values if isinstance(values, pa.Array) else pa.array(values), dtype="str")


def _ids(prefix: str, start: int, n: int) -> pd.Series:
    """``prefix`` followed by ``start``, ``start + 1`` ... (``n`` record identifiers)."""
    return _text(np.char.add(prefix, np.arange(start, start + n).astype(str)))


def _days_alive(pop: Population, born: pd.Series) -> np.ndarray:
    """Whole days from each birth to the reference date."""
    alive: np.ndarray = (pd.Timestamp(pop.reference_date) - born).dt.days.to_numpy()
    return alive


def _days_back(
    rng: np.random.Generator, low: int, high: int, latest: np.ndarray
) -> pd.TimedeltaIndex:
    """Days before the reference date, uniform in [low, high) but at most ``latest`` each.

    ``latest`` is how many days ago the earliest allowed date was (a birth, or a birthday), so no
    date drawn falls before it.
    """
    hi = np.minimum(high, np.maximum(latest, 0) + 1)
    lo = np.minimum(low, hi - 1)
    return pd.to_timedelta(rng.integers(lo, hi), unit="D")


def _household_heads(pop: Population) -> pd.Index:
    """The row of each household's first adult, in population order."""
    p = pop.people
    adult = p["age"].to_numpy() >= 18
    first = ~pd.Series(p["household"].to_numpy()[adult]).duplicated().to_numpy()
    heads: pd.Index = p.index[adult][first]
    return heads


def inpatient_episodes(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Hospital spells in the last 18 months (none before birth), more for older people."""
    p = pop.people
    rate = np.where(p["age"] >= 75, 0.9, np.where(p["age"] >= 65, 0.5, 0.18))
    counts = rng.poisson(rate * 1.5)
    used = ["nhs_number", "name", "date_of_birth", "sex", "postcode", "age"]
    rows = p[used].loc[p.index.repeat(counts)].reset_index(drop=True)
    n = len(rows)
    ref = pd.Timestamp(pop.reference_date)
    admitted = ref - _days_back(rng, 0, 548, _days_alive(pop, rows["date_of_birth"]))
    stay = pd.to_timedelta(rng.geometric(0.18, size=n), unit="D")
    needs_care = rng.random(n) < np.where(rows["age"] >= 65, 0.25, 0.04)
    return pd.DataFrame(
        {
            "episode_id": _ids("SP", 100000, n),
            "nhs_number": rows["nhs_number"],
            "patient_name": rows["name"],
            "date_of_birth": rows["date_of_birth"],
            "sex": rows["sex"],
            "postcode": rows["postcode"],
            "admission_date": admitted,
            "discharge_date": admitted + stay,
            "specialty": _text(rng.choice(SPECIALTIES, size=n)),
            "primary_diagnosis": _text(rng.choice(ICD10, size=n)),
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
    kind = rng.choice(len(SERVICES), size=n, p=[0.45, 0.15, 0.1, 0.2, 0.1])
    start = pd.Timestamp(pop.reference_date) - _days_back(
        rng, 0, 3 * 365, _days_alive(pop, rows["date_of_birth"])
    )
    ended = rng.random(n) < 0.3
    end = (start + pd.to_timedelta(rng.integers(14, 400, size=n), unit="D")).where(ended)
    return pd.DataFrame(
        {
            "package_id": _ids("CP", 200000, n),
            "nhs_number": rows["nhs_number"],
            "person_name": rows["name"],
            "date_of_birth": rows["date_of_birth"],
            "sex": rows["sex"],
            "postcode": rows["postcode"],
            "ethnicity": rows["ethnicity"],
            "primary_support_reason": _text(
                rng.choice(SUPPORT_REASONS, size=n, p=[0.5, 0.05, 0.15, 0.1, 0.12, 0.08])
            ),
            "service_type": _text(np.asarray(list(SERVICES))[kind]),
            "weekly_cost_gbp": np.round(
                np.asarray(list(SERVICES.values()))[kind] * rng.uniform(0.6, 1.6, size=n), 2
            ),
            "start_date": start,
            "end_date": end,
        }
    )


def tenancies(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Social-rented tenancies, one a household for about a third of households.

    A tenancy starts in the last 20 years, and not before the tenant's 16th birthday.
    """
    heads = _household_heads(pop)
    heads = pop.people.loc[heads[rng.random(len(heads)) < 0.35]].reset_index(drop=True)
    size = pop.people.groupby("household").size()
    n = len(heads)
    in_arrears = rng.random(n) < 0.3
    since_16 = _days_alive(pop, heads["date_of_birth"]) - int(16 * 365.25)
    return pd.DataFrame(
        {
            "tenancy_id": _ids("T", 300000, n),
            "uprn": heads["uprn"],
            "tenant_name": heads["name"],
            "postcode": heads["postcode"],
            "tenancy_start": pd.Timestamp(pop.reference_date)
            - _days_back(rng, 30, 20 * 365, since_16),
            "household_size": size.loc[heads["household"]].to_numpy(),
            "rent_arrears_gbp": np.where(
                in_arrears, np.round(rng.exponential(700, size=n), 2), 0.0
            ),
        }
    )


def benefit_claims(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Housing-related benefit claims by adults, about one household in four."""
    adults = _household_heads(pop)
    rows = pop.people.loc[adults[rng.random(len(adults)) < 0.25]].reset_index(drop=True)
    n = len(rows)
    kind = rng.choice(len(BENEFITS), size=n, p=[0.55, 0.35, 0.1])
    claim_start = pd.Timestamp(pop.reference_date) - _days_back(
        rng, 1, 6 * 365, _days_alive(pop, rows["date_of_birth"]) - 1
    )
    return pd.DataFrame(
        {
            "claim_id": _ids("HB", 400000, n),
            "ni_number": rows["ni_number"],
            "claimant_name": rows["name"],
            "uprn": rows["uprn"],
            "date_of_birth": rows["date_of_birth"],
            "benefit_type": _text(np.asarray(list(BENEFITS))[kind]),
            "weekly_amount_gbp": np.round(
                np.asarray(list(BENEFITS.values()))[kind] * rng.uniform(0.5, 1.8, size=n), 2
            ),
            "claim_start": claim_start,
        }
    )


def national_data_opt_out(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """About one person in twenty has opted out of research and planning use (never before birth)."""
    rows = pop.people.loc[rng.random(len(pop.people)) < OPT_OUT_SHARE].reset_index(drop=True)
    n = len(rows)
    return pd.DataFrame(
        {
            "opt_out_id": _ids("OO", 500000, n),
            "nhs_number": rows["nhs_number"],
            "recorded_on": pd.Timestamp(pop.reference_date)
            - _days_back(rng, 1, 5 * 365, _days_alive(pop, rows["date_of_birth"])),
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
