"""P1: a governed 1M-row flow asset beside its bare transform and Parquet write.

Publishes a synthetic ``care_packages`` extract of N rows and an opt-out register (see
``controls.py``) into a temporary home, then, interleaved:

- governed: Dagster materialises the demo's ``care_research_extract`` asset — inputs read, opt-outs
  applied, the transform, conforming, the quality gate, every privacy control, the write and the
  lineage events — timed from the step's start to its success in Dagster's event log;
- bare: the same inputs read from Parquet, the transform, and a Parquet write.

    python benchmarks/flow.py [--rows N] [--repeat R]

The last line prints the median governed ÷ bare ratio (goal <= 1.25) and each median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from controls import AS_OF, FLOW, KEY, care_packages, context
from dagster import DagsterEventType, DagsterInstance

from dagster_project.run import run_estate
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.manifest import copy_estate
from pipelines.store import dataset_path

SOURCES = {"care_packages": "social_care", "national_data_opt_out": "health"}


def prepare(root: Path, rows: int) -> Estate:
    """The demo estate reading Parquet extracts of ``rows`` rows, its sources published."""
    estate_dir = copy_estate(DEMO_ESTATE, root / "estate")
    manifest = estate_dir / "estate.yaml"
    text = manifest.read_text()
    for name, dept in SOURCES.items():
        text = text.replace(f"{dept}/{name}.csv", f"{dept}/{name}.parquet")
    manifest.write_text(text)
    care, register = care_packages(rows, np.random.default_rng(2026))
    for (name, dept), frame in zip(SOURCES.items(), (care, register), strict=True):
        path = root / "extracts" / dept / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
    estate = load_estate(estate_dir)
    report = run_estate(
        estate, root / "home", select=list(SOURCES), as_of=AS_OF, extracts=root / "extracts"
    )
    if not report.success or report.halted:
        raise SystemExit(f"publishing the sources failed: {report.outcomes}")
    return estate


def governed(estate: Estate, root: Path) -> float:
    """Materialise the flow asset; the seconds from its step's start to its success."""
    report = run_estate(estate, root / "home", select=[FLOW], as_of=AS_OF)
    if not report.success or report.halted:
        raise SystemExit(f"the governed flow did not publish: {report.outcomes}")
    with DagsterInstance.from_config(str(report.dagster_home)) as instance:
        times = {
            e.dagster_event_type: e.timestamp
            for e in instance.all_logs(report.run_id)
            if e.step_key == f"{estate.dataset_owner[FLOW]}__{FLOW}"
            and e.dagster_event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS)
        }
    return times[DagsterEventType.STEP_SUCCESS] - times[DagsterEventType.STEP_START]


def bare(estate: Estate, root: Path) -> float:
    """Read the published inputs, run the transform, write Parquet; seconds taken."""
    flow = estate.flows[FLOW]
    started = time.perf_counter()
    inputs = {
        d: pd.read_parquet(dataset_path(root / "home", estate.dataset_owner[d], d))
        for d in flow.transform_inputs
    }
    estate.transforms[FLOW](context(estate), **inputs).to_parquet(root / "bare.parquet")
    return time.perf_counter() - started


def main() -> None:
    """Time both ways, interleaved, and print the ratio of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"bare": [], "governed": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["TAGTRAIL_PSEUDONYM_KEY"] = KEY
        estate = prepare(root, args.rows)
        for _ in range(args.repeat):
            times["bare"].append(bare(estate, root))
            times["governed"].append(governed(estate, root))
    b, g = (statistics.median(times[k]) for k in ("bare", "governed"))
    print(
        f"P1 flow asset at {args.rows:,} rows on {dt.date.today()}: governed {g:.2f} s, "
        f"bare {b:.2f} s, ratio {g / b:.2f} (goal <= 1.25)"
    )


if __name__ == "__main__":
    main()
