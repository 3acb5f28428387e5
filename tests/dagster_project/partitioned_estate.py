"""A small estate with one flow partitioned by month, written into a test's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FLOW = """\
name: visit_extract
description: Clinic visits for the research unit, one month at a time.
owner: health
recipient: research
agreement: DSA-VISITS-01
purpose: service_evaluation
inputs: [visits]
output: visit_extract
transform: flows.visit_extract:transform
columns:
  visit_id: {from: [visits.visit_id], derivation: identity}
  visit_date: {from: [visits.visit_date], derivation: identity}
  clinic: {from: [visits.clinic], derivation: identity}
  score: {from: [visits.score], derivation: identity}
partitions: {period: monthly, column: visit_date, start: 2026-01-01}
"""

TRANSFORM = """\
import pandas as pd


def transform(ctx, visits: pd.DataFrame) -> pd.DataFrame:
    return visits[["visit_id", "visit_date", "clinic", "score"]]
"""

MANIFEST = """\
name: visits
title: Partitioned visits
suites: expectations
extracts: sample_data
sources:
  visits: {file: clinic/visits.csv}
policy:
  floors: {k_anonymity: 5, min_cell_count: 10, retention_longest: P10Y}
"""

DEPARTMENTS = """\
departments:
  - name: health
    title: Clinic
    steward: {name: Clinic Steward, email: clinic.steward@example.org}
  - name: research
    title: Research unit
    steward: {name: Research Steward, email: unit.steward@example.org}
"""

AGREEMENT = """\
agreements:
  - id: DSA-VISITS-01
    title: Visits for research
    parties: [health, research]
    purposes: [service_evaluation]
    legal_basis: {article_6: 6(1)(e)}
    data_items:
      visit_extract: [visit_id, visit_date, clinic, score]
    retention: {period: P6M}
    start: 2025-01-01
    end: 2029-12-31
    review: 2028-01-01
"""

COLUMNS = """\
    columns:
      - {name: visit_id, type: string}
      - {name: visit_date, type: date}
      - {name: clinic, type: string}
      - {name: score, type: integer}
"""

HEALTH = (
    """\
department: health
datasets:
  - name: visits
    description: Clinic visits.
    source_system: Clinic system
    primary_key: [visit_id]
"""
    + COLUMNS
)

RESEARCH = (
    """\
department: research
datasets:
  - name: visit_extract
    description: Visits for research.
    primary_key: [visit_id]
    volume: {max_drop: 1.0}
"""
    + COLUMNS
)


def _suite(name: str) -> str:
    rules = [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "score", "min_value": 0, "max_value": 10},
            "severity": "critical",
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "visit_id"},
            "severity": "critical",
        },
    ]
    if name == "visits":  # the source lets a bad score through: the extract's gate stops it
        rules = rules[1:]
    return json.dumps({"name": name, "expectations": rules})


def write_estate(
    root: Path, flow: str = FLOW, health: str = "health", research: str = "research"
) -> Path:
    """The estate's declarations under ``root``, its departments named ``health`` and
    ``research`` (random names keep warehouse schemas apart); returns ``root``."""
    files = {
        "estate.yaml": MANIFEST,
        "departments.yaml": DEPARTMENTS,
        "agreements.yaml": AGREEMENT,
        "datasets/health.yaml": HEALTH,
        "datasets/research.yaml": RESEARCH,
        "flows/visit_extract.yaml": flow,
        "flows/visit_extract.py": TRANSFORM,
        "flows/__init__.py": "",
        "expectations/visits.json": _suite("visits"),
        "expectations/visit_extract.json": _suite("visit_extract"),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = text.replace("health", health).replace("research", research)
        path.write_text(text)
    return root


def write_visits(root: Path, months: dict[str, int], bad: str | None = None) -> pd.DataFrame:
    """``months[key]`` visits dated in each month; the month ``bad`` gets a score out of range."""
    rows = []
    for key, n in months.items():
        for i in range(n):
            day = f"{key}-{i % 28 + 1:02d}"
            score = 99 if key == bad and i == 0 else i % 10
            rows.append(
                {"visit_id": f"{key}-{i}", "visit_date": day, "clinic": "A", "score": score}
            )
    frame = pd.DataFrame(rows)
    path = root / "sample_data" / "clinic" / "visits.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame
