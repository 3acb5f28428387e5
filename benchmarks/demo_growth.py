"""Demo growth: the time and peak memory to generate the demo's synthetic extracts, by population.

For each ``--people N`` a fresh Python process imports the generator and calls
``pipelines.demo.generate.generate`` into a temporary home (seed 2026, reference date 2026-11-01).
Reported for each size: the time ``generate()`` took inside that process, the process's wall time
(interpreter start and imports included) and its peak RSS. The peak RSS is the child's
``ru_maxrss`` as ``os.wait4`` returns it: the figure ``resource.getrusage(RUSAGE_CHILDREN)``
gives, taken for that one child, so a large size measured earlier cannot inflate a smaller one.

With ``--run`` the whole demo is timed as well, the same way: ``python -m dagster_project.cli demo
--people N`` with ``TAGTRAIL_HOME`` in a temporary directory.

    python benchmarks/demo_growth.py [--people N [N ...]] [--run] [--timeout S]

The last line prints, for each size, the generation time and peak RSS (and the run's with ``--run``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 2026
AS_OF = "2026-11-01"
SIZES = (10_000, 100_000, 400_000, 1_000_000)

GENERATE = """
import datetime as dt, sys, time
from pathlib import Path
from pipelines.demo.generate import generate
start = time.perf_counter()
frames = generate(Path(sys.argv[1]), people=int(sys.argv[2]), seed=int(sys.argv[3]),
                  reference_date=dt.date.fromisoformat(sys.argv[4]))
print(time.perf_counter() - start, sum(len(f) for f in frames.values()))
"""


@dataclass(frozen=True)
class Measured:
    """One child process: its wall time, peak RSS, exit code, output and error output."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


def measure(args: list[str], env: dict[str, str], timeout: float) -> Measured:
    """Run ``args`` in a fresh process; its wall time and peak RSS (killed after ``timeout`` s)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return Measured(
            seconds,
            usage.ru_maxrss * scale / 2**20,
            proc.returncode,
            out.read().decode(),
            err.read().decode(),
        )


def generation(people: int, timeout: float) -> tuple[float, Measured, int]:
    """``generate()``'s own time, the process measured, and the rows written, for ``people``."""
    with tempfile.TemporaryDirectory() as home:
        m = measure(
            [sys.executable, "-c", GENERATE, home, str(people), str(SEED), AS_OF],
            dict(os.environ),
            timeout,
        )
    _check(m, f"generating {people:,} people")
    seconds, rows = m.stdout.split()
    return float(seconds), m, int(rows)


def demo_run(people: int, timeout: float) -> Measured:
    """The whole ``tagtrail demo --people N`` in a fresh process, in a temporary home."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TAGTRAIL_HOME": home}
        args = [sys.executable, "-m", "dagster_project.cli", "demo", "--people", str(people)]
        m = measure([*args, "--as-of", AS_OF, "--home", home], env, timeout)
    _check(m, f"the demo at {people:,} people")
    return m


def _check(m: Measured, what: str) -> None:
    if m.returncode != 0:
        tail = "\n".join(m.stderr.strip().splitlines()[-20:])
        raise SystemExit(f"{what} failed (exit {m.returncode}, {m.seconds:.0f} s):\n{tail}")


def label(people: int) -> str:
    """10k, 400k, 1M: a population size as the README writes it."""
    if people >= 1_000_000 and people % 1_000_000 == 0:
        return f"{people // 1_000_000}M"
    return f"{people // 1000}k" if people % 1000 == 0 else f"{people:,}"


def main() -> None:
    """Measure each size and print the figures, the summary on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--run", action="store_true", help="also time the whole demo run")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a child may take")
    args = parser.parse_args()
    summary = []
    for people in args.people:
        seconds, m, rows = generation(people, args.timeout)
        print(
            f"generate {label(people):>5}: generate() {seconds:6.1f} s, process {m.seconds:6.1f} s, "
            f"peak RSS {m.peak_mb:6.0f} MB, {rows:,} rows",
            flush=True,
        )
        part = f"{label(people)} {seconds:.1f} s {m.peak_mb:.0f} MB"
        if args.run:
            r = demo_run(people, args.timeout)
            print(f"demo run {label(people):>5}: {r.seconds:6.1f} s, peak RSS {r.peak_mb:6.0f} MB")
            part += f" (run {r.seconds:.1f} s {r.peak_mb:.0f} MB)"
        summary.append(part)
    print("demo growth, generation time and peak RSS: " + " · ".join(summary))


if __name__ == "__main__":
    main()
