"""Peak memory of the quality gate on a large extract (issue 11's goal: 10M rows in < 500 MB).

For each size, a fresh process builds a synthetic ``care_packages`` extract of N rows (see
``controls.py``), writes it as Parquet, then, in a second fresh process, reads it and runs the
dataset's quality gate exactly as a source asset does (conforming to the declared types, then the
Great Expectations suite). The second process's peak RSS is the figure; the same process with
only the imports and the read shows what the gate itself adds.

    python benchmarks/gate_memory.py [--rows N [N ...]]

The last line prints, for each size, the gate's time and its process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from demo_growth import measure

HERE = Path(__file__).resolve().parent
WRITE = """
import sys, numpy as np
sys.path.insert(0, {here!r})
from controls import care_packages
care, _ = care_packages({rows}, np.random.default_rng(2026))
care.to_parquet({path!r})
"""
GATE = """
import sys, time, pandas as pd
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.extracts import conform
from expectations.gate import run_gate
estate = load_estate(DEMO_ESTATE)
ds = estate.datasets["care_packages"]
frame = pd.read_parquet({path!r})
if {gate}:
    started = time.perf_counter()
    typed, _ = conform(frame, ds)
    tagged = [c.name for c in ds.columns if c.tags]
    result = run_gate(typed, estate.suites[ds.name], primary_key=ds.primary_key, tagged_columns=tagged)
    print(f"{{time.perf_counter() - started:.1f}}", result.passed)
"""


def main() -> None:
    """Measure each size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    figures = []
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = str(Path(tmp) / f"care_{rows}.parquet")
            code = WRITE.format(here=str(HERE), rows=rows, path=path)
            made = measure([sys.executable, "-c", code], env, 3600)
            if made.returncode != 0:
                raise SystemExit(f"building {rows:,} rows failed: {made.stderr[-2000:]}")
            base = measure([sys.executable, "-c", GATE.format(path=path, gate=False)], env, 3600)
            gate = measure([sys.executable, "-c", GATE.format(path=path, gate=True)], env, 3600)
            if gate.returncode != 0:
                raise SystemExit(f"the gate at {rows:,} rows failed: {gate.stderr[-2000:]}")
            seconds, passed = gate.stdout.split()[:2]
            verdict = "passed" if passed == "True" else "halted"
            figures.append(
                f"{rows:,} rows: gate {seconds} s ({verdict}), peak RSS {gate.peak_mb:,.0f} MB "
                f"(read alone {base.peak_mb:,.0f} MB)"
            )
            print(figures[-1], flush=True)
    print("gate memory: " + "; ".join(figures) + " (goal at 10M rows: < 500 MB)")


if __name__ == "__main__":
    main()
