"""What the privacy controls cost on a 1M-row flow, beside the bare transform.

Builds a synthetic ``care_packages`` extract of N rows (people with valid-looking NHS numbers of
the 999 test range, several packages a person) and an opt-out register, then times the demo's
``care_research_extract`` flow two ways, interleaved:

- bare: the transform and a Parquet write;
- governed: opt-outs applied to every input, the transform, conforming to the declared types,
  the pseudonymisation, disclosure and opt-out checks, and the same Parquet write.

    python benchmarks/controls.py [--rows N] [--repeat R]

The last line prints the median governed ÷ bare ratio and each median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from lineage.propagation import propagate
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.generate import ETHNICITY, SERVICES, SUPPORT_REASONS
from pipelines.estate import Estate, load_estate
from pipelines.extracts import conform
from pipelines.policy.disclosure_check import check_disclosure
from pipelines.policy.identifiers import check_pseudonymisation
from pipelines.policy.optout import check_opt_outs, exclude
from pipelines.transform import TransformContext

FLOW = "care_research_extract"
AS_OF = dt.date(2026, 6, 1)


def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid NHS numbers of the 999 test range (n ≤ 909,091)."""
    nine = 999_000_000 + rng.permutation(1_000_000)
    digits = (nine[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = (11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11) % 11
    valid = check != 10
    numbers = nine[valid] * 10 + check[valid]
    chosen: np.ndarray = numbers[:n].astype(str)
    return chosen


def care_packages(rows: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A care-packages extract of ``rows`` rows and a register of 5% of its people."""
    people = nhs_numbers(rng, min(rows * 2 // 3, 900_000))
    who = rng.integers(0, len(people), size=rows)
    start = pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 3 * 365, size=rows), unit="D")
    frame = pd.DataFrame(
        {
            "package_id": np.char.add("CP", np.arange(rows).astype(str)),
            "nhs_number": people[who],
            "person_name": np.char.add("Person ", who.astype(str)),
            "date_of_birth": pd.Timestamp("1930-01-01")
            + pd.to_timedelta(rng.integers(0, 70 * 365, size=rows), unit="D"),
            "sex": rng.choice(["F", "M", "U"], size=rows, p=[0.505, 0.49, 0.005]),
            "postcode": rng.choice(["TT1 1AB", "TT2 3BD", "TT3 5DE", "TT4 7EF"], size=rows),
            "ethnicity": rng.choice(ETHNICITY[0], size=rows, p=ETHNICITY[1]),
            "primary_support_reason": rng.choice(SUPPORT_REASONS, size=rows),
            "service_type": rng.choice(list(SERVICES), size=rows),
            "weekly_cost_gbp": np.round(rng.uniform(50, 1500, size=rows), 2),
            "start_date": start,
            "end_date": pd.NaT,
        }
    )
    opted = people[rng.random(len(people)) < 0.05]
    register = pd.DataFrame(
        {
            "opt_out_id": np.char.add("OO", np.arange(len(opted)).astype(str)),
            "nhs_number": opted,
            "recorded_on": pd.Timestamp("2025-01-01"),
        }
    )
    return frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}), register


KEY = "benchmark-key-not-secret-0123456789"


def context(estate: Estate) -> TransformContext:
    """What the flow's transform is given: the agreement's k, the flow's rule, a fixed key."""
    flow = estate.flows[FLOW]
    return TransformContext(
        flow=FLOW,
        as_of=AS_OF,
        k_anonymity=estate.agreements[flow.agreement].disclosure.k_anonymity,
        k_rule=flow.disclosure.k_anonymity if flow.disclosure else None,
        _key=KEY.encode(),
    )


class Flow:
    """The demo flow, its transform and what the controls need, on a given extract."""

    def __init__(self, estate: Estate, care: pd.DataFrame, register: pd.DataFrame) -> None:
        self.estate = estate
        self.flow = estate.flows[FLOW]
        self.dataset = estate.datasets[self.flow.output]
        self.transform = estate.transforms[FLOW]
        self.inputs = {"care_packages": care, "national_data_opt_out": register}
        computed = propagate(estate)
        self.tags = {c: computed[(self.flow.output, c)].tags for c in self.dataset.column_names}
        self.agreement = estate.agreements[self.flow.agreement]
        self.ctx = context(estate)

    def bare(self, out: Path) -> None:
        """The transform and the write, nothing else."""
        given = {d: self.inputs[d] for d in self.flow.transform_inputs}
        self.transform(self.ctx, **given).to_parquet(out)

    def governed(self, out: Path) -> None:
        """Opt-outs applied, the transform, conforming, the privacy checks, the write."""
        ctx = context(self.estate)  # a run's own context: what it issued is this run's
        kept, exclusion, opted = exclude(
            self.estate, self.flow, self.inputs, ("opt_out_id",), ctx.pseudonymise
        )
        given = {d: kept[d] for d in self.flow.transform_inputs}
        frame, _ = conform(self.transform(ctx, **given), self.dataset)
        pk = self.dataset.primary_key
        results = [
            check_pseudonymisation(
                self.estate, self.flow, frame, given, self.tags, issued=ctx.issued
            ),
            check_disclosure(self.flow, self.agreement, frame),
            check_opt_outs(self.flow, frame, opted, exclusion, pk, issued=ctx.issued),
        ]
        failed = [r.control for r in results if not r.passed]
        if failed:
            raise SystemExit(f"the synthetic flow should pass every control; failed: {failed}")
        frame.to_parquet(out)


def _time(run: Callable[[Path], None], out: Path) -> float:
    started = time.perf_counter()
    run(out)
    return time.perf_counter() - started


def main() -> None:
    """Time both ways, interleaved, and print the ratio of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    care, register = care_packages(args.rows, np.random.default_rng(2026))
    flow = Flow(load_estate(DEMO_ESTATE), care, register)
    times: dict[str, list[float]] = {"bare": [], "governed": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.parquet"
        flow.governed(out)  # warm-up, and proof the synthetic flow passes
        for _ in range(args.repeat):
            times["bare"].append(_time(flow.bare, out))
            times["governed"].append(_time(flow.governed, out))
    bare, governed = (statistics.median(times[k]) for k in ("bare", "governed"))
    print(
        f"controls at {args.rows:,} rows: governed {governed:.2f} s, bare {bare:.2f} s, "
        f"ratio {governed / bare:.2f} (issue 11's goal for the whole flow: <= 1.25)"
    )


if __name__ == "__main__":
    main()
