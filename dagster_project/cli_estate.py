"""The estate commands: ``tagtrail init``, ``validate``, ``run`` and ``demo``."""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import gc
import logging
import os
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_project.cli_errors import EXIT_HALTED, EXIT_OK, EXIT_USAGE, UsageError
from pipelines.home import estate_dir, tagtrail_home

if TYPE_CHECKING:
    from dagster_project.run import RunReport
    from pipelines.estate import Estate


def init(args: argparse.Namespace) -> int:
    """Scaffold a new estate that validates and runs as generated."""
    from pipelines.scaffold import InitError, init_estate

    try:
        written = init_estate(args.directory, name=args.name, git=args.git)
    except InitError as exc:
        raise UsageError(str(exc)) from None
    dest = args.directory
    print(f"Created the estate in {dest.resolve()} ({len(written)} files).")
    print(
        textwrap.dedent(
            f"""
            Next:
              tagtrail validate {dest}
              tagtrail run --estate {dest}
              (cd {dest} && pytest tests)
            Then edit estate.yaml, the declarations and flows/ to describe your own flows."""
        ).strip("\n")
    )
    return EXIT_OK


def validate(args: argparse.Namespace) -> int:
    """Check every declaration and build the definitions; preview policy halts on a date."""
    from pipelines.estate import load_estate

    # What a large estate builds lives until the command exits: spare the interpreter's final
    # collections a scan of it (they would take longer than building it).
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    started = time.perf_counter()
    estate = load_estate(estate_dir(args.estate))
    from dagster_project.factory import build_definitions
    from lineage.propagation import propagate
    from pipelines.heap import young_collections_only
    from pipelines.policy.preview import preview

    with young_collections_only():
        defs = build_definitions(estate)
        defs.resolve_all_asset_specs()
    print(
        f"{estate.name}: {len(estate.departments)} departments, {len(estate.agreements)} "
        f"agreements, {len(estate.datasets)} datasets, {len(estate.flows)} flows: declarations "
        f"valid; definitions built in {time.perf_counter() - started:.2f} s"
    )
    _warn_weakenings(estate, args.against)
    as_of = args.as_of or dt.date.today()
    computed = propagate(estate)
    findings = preview(estate, as_of, {k: v.tags for k, v in computed.items()})
    for flow, result in findings:
        level = "HALTS" if result.halts else "warns"
        print(f"{flow}: {result.control} {level} on {as_of}: {result.summary}")
    halting = sorted({flow for flow, result in findings if result.halts})
    if halting:
        print(
            f"{len(halting)} flow(s) would be halted by their privacy controls on {as_of}: "
            f"{', '.join(halting)}",
            file=sys.stderr,
        )
        return EXIT_HALTED
    return EXIT_OK


def _warn_weakenings(estate: Estate, revision: str) -> None:
    from pipelines.weakening import weakenings

    found = weakenings(estate, revision)
    for weaker in found or ():
        print(f"warning: {weaker}")
    if found:
        print(
            f"{len(found)} change(s) give less protection than {revision}; make sure each is "
            "intended and agreed before committing",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    """Run an estate, or the selected datasets of it, and summarise."""
    from pipelines.estate import load_estate

    home = _home(args)
    estate = load_estate(estate_dir(args.estate))
    from dagster_project.run import run_estate

    print(f"Running estate '{estate.name}' into {home} ...", flush=True)
    report = _refusable(
        lambda: run_estate(
            estate,
            home,
            select=args.select,
            as_of=args.as_of,
            extracts=args.extracts,
            acknowledge=args.acknowledge or (),
            workers=args.workers,
            partitions=args.partition or (),
            partition_range=_span(args.partitions),
        )
    )
    return _finish(report, "tagtrail run")


def _span(text: str | None) -> tuple[str, str] | None:
    """``--partitions FROM:TO`` as its two keys (a usage error if malformed)."""
    if text is None:
        return None
    first, sep, last = text.partition(":")
    if not sep or not first or not last:
        raise UsageError(f"--partitions takes FROM:TO, such as 2026-01:2026-06; got '{text}'")
    return first, last


def demo(args: argparse.Namespace) -> int:
    """Generate the demo's synthetic sources, then run the demo estate."""
    home = _home(args)
    from dagster_project.demo import run_demo

    workers = args.workers
    if args.team:
        from dagster_project.team_demo import ensure_database, team_environment

        team = team_environment()
        ensure_database(team["TAGTRAIL_DAGSTER_URL"])
        os.environ.update(team)
        workers = workers or 2

    print(
        f"Generating {args.people:,} synthetic people under {home} and running every flow ...",
        flush=True,
    )
    report = _refusable(
        lambda: run_demo(
            home,
            people=args.people,
            seed=args.seed,
            defect=args.defect,
            as_of=args.as_of,
            workers=workers,
        )
    )
    return _finish(report, "tagtrail demo run")


def worker(args: argparse.Namespace) -> int:
    """One Celery worker on the deployment's broker and queue, in the foreground."""
    from dagster_project.deployment import Deployment
    from dagster_project.workers import worker_command

    deployment = Deployment.from_env()
    deployment.export()
    _home(args)
    command = worker_command(deployment, args.name or f"tagtrail-{os.getpid()}")
    command[command.index("--concurrency") + 1] = str(args.concurrency)
    print(f"Celery worker on queue {deployment.queue!r}; stop it with Ctrl-C", flush=True)
    os.execv(command[0], command)
    return EXIT_OK  # not reached: the worker replaces this process


def recover(args: argparse.Namespace) -> int:
    """Close what dead processes left open in a home; safe to run at any time."""
    home = _home(args)
    from dagster_project.instance import prepare

    done = prepare(home, args.store_url)
    for line in done.lines():
        print(line)
    print(f"{home}: {'recovered' if done.lines() else 'nothing to recover'}")
    return EXIT_OK


def _home(args: argparse.Namespace) -> Path:
    """The home for this command; Dagster's instance lives in it unless DAGSTER_HOME says otherwise."""
    home = (args.home or tagtrail_home()).resolve()
    os.umask(0o077)  # everything written for a run is for the home's owner only
    os.environ["TAGTRAIL_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_HOME", str(home / "dagster"))
    logging.getLogger("dagster").setLevel(logging.WARNING)
    return home


def _refusable(start: Callable[[], RunReport]) -> RunReport:
    from dagster_project.run import RunRefused

    try:
        return start()
    except RunRefused as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        print(f"tagtrail: nothing was run:\n{problems}", file=sys.stderr)
        raise SystemExit(EXIT_HALTED if exc.transient else EXIT_USAGE) from None


def _finish(report: RunReport, title: str) -> int:
    from dagster_project.summary import render

    print(render(report, title))
    if report.success:
        return EXIT_OK
    held = [o.dataset for o in report.halted]
    errors = [o.dataset for o in report.outcomes if o.status == "error"]
    failed = sorted({c for o in report.outcomes for c, v in o.checks.items() if v == "failed"})
    why = (
        f"{', '.join(held)} failed {' and '.join(failed) or 'its checks'}"
        if held
        else f"{', '.join(errors)} raised an error"
    )
    print(
        "\n"
        + textwrap.fill(
            f"The run halted: {why}, so nothing downstream ran and no bad data was written. "
            "Open the run in the Dagster UI (make ui) to see which checks failed, with their "
            "rules, counts and the keys of the rows concerned.",
            width=100,
        ),
        file=sys.stderr,
    )
    return EXIT_HALTED
