"""Documented defects ``tagtrail demo --defect`` can inject into one source extract.

Each defect names the dataset it corrupts, the check that catches it and what a steward should see.
The values it injects are returned so tests can prove none of them leaks into any record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.demo.identifiers import nhs_check_digit
from pipelines.extracts import extract_path, write_extract

Apply = Callable[[pd.DataFrame, np.random.Generator], list[str]]


@dataclass(frozen=True)
class Defect:
    """A defect kind: where it goes, what it does and which check should catch it."""

    name: str
    department: str
    dataset: str
    description: str
    check: str
    expectation: str
    apply: Apply


def _rows(frame: pd.DataFrame, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.sort(rng.choice(len(frame), size=min(n, len(frame)), replace=False))


def _invalid_nhs_numbers(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    injected = []
    for i in _rows(frame, rng, 25):
        nine = str(frame.at[i, "nhs_number"])[:9]
        valid = nhs_check_digit(nine)
        frame.at[i, "nhs_number"] = f"{nine}{((valid or 0) + 1) % 10}"
        injected.append(str(frame.at[i, "nhs_number"]))
    return injected


def _missing_primary_keys(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    frame.loc[_rows(frame, rng, 12), "package_id"] = pd.NA
    return []


def _duplicate_primary_keys(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    rows = _rows(frame, rng, 20)
    frame.loc[rows[1::2], "tenancy_id"] = frame.loc[rows[0::2], "tenancy_id"].to_numpy()[
        : len(rows[1::2])
    ]
    return []


def _births_after_claims(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    injected = []
    for i in _rows(frame, rng, 15):
        born = pd.Timestamp(frame.at[i, "claim_start"]) + pd.Timedelta(
            days=int(rng.integers(400, 9000))
        )
        frame.at[i, "date_of_birth"] = born.strftime("%Y-%m-%d")
        injected.append(frame.at[i, "date_of_birth"])
    return injected


def _unreadable_dates(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    injected = []
    for i in _rows(frame, rng, 10):
        frame.at[i, "admission_date"] = (
            f"{int(rng.integers(32, 99))}/{int(rng.integers(13, 99))}/2026"
        )
        injected.append(frame.at[i, "admission_date"])
    return injected


def _keep(share: float) -> Apply:
    """A delivery cut short: only ``share`` of its rows arrive."""

    def cut(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
        lost = rng.choice(len(frame), size=len(frame) - int(len(frame) * share), replace=False)
        frame.drop(index=frame.index[lost], inplace=True)
        return []

    return cut


def _negative_arrears(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    injected = []
    for i in _rows(frame, rng, 20):
        frame.at[i, "rent_arrears_gbp"] = (
            f"-{int(rng.integers(100, 999))}.{int(rng.integers(10, 99))}"
        )
        injected.append(frame.at[i, "rent_arrears_gbp"])
    return injected


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect(
            "invalid-nhs-numbers",
            "health",
            "inpatient_episodes",
            "25 NHS numbers get a wrong check digit",
            "quality_gate",
            "expect_column_values_to_be_valid_nhs_numbers",
            _invalid_nhs_numbers,
        ),
        Defect(
            "missing-primary-keys",
            "social_care",
            "care_packages",
            "12 care packages lose their package_id",
            "quality_gate",
            "expect_column_values_to_not_be_null",
            _missing_primary_keys,
        ),
        Defect(
            "duplicate-primary-keys",
            "housing",
            "tenancies",
            "10 tenancies reuse another tenancy's id",
            "quality_gate",
            "expect_column_values_to_be_unique",
            _duplicate_primary_keys,
        ),
        Defect(
            "out-of-range-dates",
            "benefits",
            "benefit_claims",
            "15 claimants are born after their claim started",
            "quality_gate",
            "expect_column_pair_values_a_to_be_greater_than_b",
            _births_after_claims,
        ),
        Defect(
            "unreadable-dates",
            "health",
            "inpatient_episodes",
            "10 admission dates are not dates at all",
            "quality_gate",
            "tagtrail_declared_type",
            _unreadable_dates,
        ),
        Defect(
            "truncated-extract",
            "social_care",
            "care_packages",
            "the care extract arrives with 5% of its rows",
            "volume",
            "volume",
            _keep(0.05),
        ),
        Defect(
            "empty-opt-out-register",
            "health",
            "national_data_opt_out",
            "the opt-out register arrives with its header row only",
            "volume",
            "volume",
            _keep(0.0),
        ),
        Defect(
            "short-opt-out-register",
            "health",
            "national_data_opt_out",
            "the opt-out register arrives with 10% of its entries",
            "volume",
            "volume",
            _keep(0.10),
        ),
        Defect(
            "negative-arrears",
            "housing",
            "tenancies",
            "20 rent accounts show negative arrears (warning only: the run goes on)",
            "quality_warnings",
            "expect_column_values_to_be_between",
            _negative_arrears,
        ),
    )
}


def inject(home: Path, name: str, seed: int = 2026) -> list[str]:
    """Corrupt one extract under ``home`` with defect ``name``; return the raw values injected."""
    defect = DEFECTS[name]
    path = extract_path(home, defect.department, defect.dataset)
    frame = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    injected = defect.apply(frame, np.random.default_rng([seed, 99]))
    write_extract(home, defect.department, defect.dataset, frame)
    return injected
