"""The demo's synthetic data: deterministic across processes, valid-looking fake identifiers,
nothing dated before the person it is about was born."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stdnum.gb import nhs

from expectations.nhs import is_valid_nhs_number
from pipelines.demo import identifiers as ids
from pipelines.demo.generate import MAX_PEOPLE, SOURCES, Population, population
from pipelines.policy.recognise import SCHEMES

ROOT = Path(__file__).resolve().parents[3]
AS_OF = dt.date(2026, 11, 1)
NI_GATE = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")  # benefit_claims suite
GENERATE = """
import datetime as dt, sys
from pathlib import Path
from pipelines.demo.generate import generate
generate(Path(sys.argv[1]), people=2000, seed=5, reference_date=dt.date(2026, 11, 1))
"""


def _generate_in_a_process(home: Path, hash_seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-c", GENERATE, str(home)], cwd=ROOT, env=env, check=True)
    return {
        str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()
    }


def test_the_same_seed_gives_byte_identical_extracts_in_two_processes(tmp_path: Path) -> None:
    first = _generate_in_a_process(tmp_path / "one", "1")
    second = _generate_in_a_process(tmp_path / "two", "2")
    assert len(first) == len(SOURCES)
    assert first.keys() == second.keys()
    for name, data in first.items():
        assert data == second[name], f"{name} differs between processes"


def test_the_test_range_holds_909091_valid_nhs_numbers() -> None:
    block = ids.valid_nhs_block(999)
    assert len(block) == 909_091
    assert np.all(np.diff(block) > 0)
    sample = np.random.default_rng(3).choice(block, size=2000, replace=False).astype(str)
    assert all(is_valid_nhs_number(v) and nhs.is_valid(v) for v in sample)
    everything_of_a_range = {f"999123{i:04d}" for i in range(10_000)}
    valid_there = {str(v) for v in block if 9991230000 <= v <= 9991239999}
    assert valid_there == {v for v in everything_of_a_range if nhs.is_valid(v)}


def test_nhs_numbers_exhaust_the_test_range_before_the_next_block() -> None:
    numbers = ids.nhs_numbers(np.random.default_rng(1), 909_091 + 500)
    assert len(set(numbers)) == len(numbers)
    beyond = [v for v in numbers if not v.startswith("999")]
    assert len(beyond) == 500
    assert all(v.startswith("998") and is_valid_nhs_number(v) and nhs.is_valid(v) for v in beyond)
    assert sum(v.startswith("998") for v in numbers[:5000]) > 0, "the next block is shuffled in"


def test_small_draws_stay_in_the_test_range_and_are_valid() -> None:
    numbers = ids.nhs_numbers(np.random.default_rng(2), 3000)
    assert len(set(numbers)) == 3000
    assert all(v.startswith("999") and is_valid_nhs_number(v) and nhs.is_valid(v) for v in numbers)


def test_ni_numbers_are_distinct_recognised_and_on_never_issued_prefixes() -> None:
    numbers = ids.ni_numbers(np.random.default_rng(4), 20_000)
    assert len(set(numbers)) == len(numbers)
    assert {v[:2] for v in numbers} == set(ids.NI_PREFIXES)
    assert all(NI_GATE.match(v) for v in numbers)
    scheme = SCHEMES["ni_number"]
    assert scheme.recognised(scheme.normalise(pd.Series(numbers))).all()


def test_too_many_people_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="8,000,000"):
        population(MAX_PEOPLE + 1, 1, AS_OF)
    with pytest.raises(ValueError, match="between 1 and"):
        population(0, 1, AS_OF)
    with pytest.raises(ValueError, match="NI numbers"):
        ids.ni_numbers(np.random.default_rng(0), ids.NI_CAPACITY + 1)


def test_population_identifiers_and_households() -> None:
    people = population(5000, 8, AS_OF).people
    assert people["nhs_number"].is_unique and people["ni_number"].is_unique
    by_household = people.groupby("household")[["uprn", "postcode"]].nunique()
    assert (by_household == 1).all().all(), "a household has one address"
    assert people["postcode"].str.fullmatch(r"TT[1-8] [1-9][A-Z]{2}").all()
    assert people["uprn"].str.fullmatch(r"1000\d{8}").all()
    assert set(people["sex"]) <= {"F", "M", "U"}
    born = pd.Timestamp(AS_OF) - people["date_of_birth"]
    assert (born.dt.days // 365.25).sub(people["age"]).abs().max() <= 1


def _newborns_and_young_adults(people: int) -> Population:
    """A population whose people were all born days ago or turned 18 recently."""
    pop = population(people, 21, AS_OF)
    rng = np.random.default_rng(22)
    frame = pop.people.copy()
    young = rng.random(len(frame)) < 0.5
    days = np.where(young, rng.integers(0, 40, len(frame)), rng.integers(6575, 7300, len(frame)))
    frame["date_of_birth"] = pd.Timestamp(AS_OF) - pd.to_timedelta(days, unit="D")
    frame["age"] = (days // 365.25).astype(int)
    return dataclasses.replace(pop, people=frame)


def test_nothing_is_dated_before_birth() -> None:
    pop = _newborns_and_young_adults(20_000)
    frames = {
        name: make(pop, np.random.default_rng(i))
        for i, ((_, name), make) in enumerate(SOURCES.items())
    }
    born = pop.people.set_index("nhs_number")["date_of_birth"]

    spells = frames["inpatient_episodes"]
    assert (spells["date_of_birth"] < pd.Timestamp(AS_OF) - pd.Timedelta(days=400)).any()
    assert (spells["date_of_birth"] > pd.Timestamp(AS_OF) - pd.Timedelta(days=40)).sum() > 500
    assert (spells["admission_date"] >= spells["date_of_birth"]).all()
    assert (spells["discharge_date"] >= spells["admission_date"]).all()

    care = frames["care_packages"]
    assert (care["start_date"] >= care["date_of_birth"]).all()
    claims = frames["benefit_claims"]
    assert len(claims) and (claims["claim_start"] > claims["date_of_birth"]).all()
    opt_outs = frames["national_data_opt_out"]
    assert (opt_outs["recorded_on"] >= born.loc[opt_outs["nhs_number"]].to_numpy()).all()
    tenancies = frames["tenancies"]
    heads = pop.people.loc[pop.people["age"] >= 18].drop_duplicates("household")
    tenant_born = heads.set_index("uprn")["date_of_birth"]
    sixteenth = tenant_born.loc[tenancies["uprn"]].to_numpy() + pd.Timedelta(days=int(16 * 365.25))
    assert len(tenancies) and (tenancies["tenancy_start"].to_numpy() >= sixteenth).all()
