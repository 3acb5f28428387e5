"""The ``tagtrail`` command. User mistakes exit 2 with one paragraph; a halted run exits 1."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lineage.audit_kinds import AUDIT_KINDS

if TYPE_CHECKING:
    from dagster_project.demo import DemoReport
from typing import Any

from pipelines.home import tagtrail_home
from pipelines.yamlfile import DeclarationError

EXIT_HALTED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake in how tagtrail was called or configured: reported without a traceback."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def _failed_checks(report: DemoReport) -> str:
    names = sorted({c for o in report.outcomes for c, v in o.checks.items() if v == "failed"})
    return " and ".join(names) if names else "its checks"


def _parser() -> argparse.ArgumentParser:
    from pipelines.demo.defects import DEFECTS
    from pipelines.demo.policy_defects import POLICY_DEFECTS

    p = argparse.ArgumentParser(
        prog="tagtrail", description="Privacy-tagged inter-departmental data flows."
    )
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate the synthetic estate and run every flow")
    demo.add_argument(
        "--people",
        type=_positive,
        default=10_000,
        help="size of the synthetic population (default 10,000)",
    )
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo.add_argument(
        "--as-of", type=_date, default=None, help="reference date, YYYY-MM-DD (default today)"
    )
    demo.add_argument("--home", type=Path, default=None, help="TAGTRAIL_HOME (default ./.tagtrail)")
    kinds = "; ".join(
        [f"{d.name}: {d.description} in {d.dataset}" for d in DEFECTS.values()]
        + [f"{d.name}: {d.description} (halted by {d.check})" for d in POLICY_DEFECTS.values()]
    )
    demo.add_argument(
        "--defect",
        choices=sorted([*DEFECTS, *POLICY_DEFECTS]),
        metavar="KIND",
        help=f"inject a data defect or a policy breach. Kinds: {kinds}",
    )
    val = sub.add_parser(
        "validate", help="check the declarations of an estate without running anything"
    )
    val.add_argument(
        "estate",
        nargs="?",
        type=Path,
        default=None,
        help="estate folder (default: the demo estate)",
    )
    val.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="judge agreements' dates on this day, YYYY-MM-DD (default today)",
    )
    for name, text in (
        ("trace", "follow a dataset or column hop by hop through the recorded lineage"),
        ("tags", "show each column's privacy tags and why it has them"),
        ("events", "print the stored OpenLineage events as NDJSON, exactly as emitted"),
        ("audit", "list audit records: launches, outcomes, failed controls, purges, opt-outs"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument(
            "--home", type=Path, default=None, help="TAGTRAIL_HOME (default ./.tagtrail)"
        )
        cmd.add_argument(
            "--store-url",
            default=None,
            help="lineage store URL (default TAGTRAIL_LINEAGE_URL or the home's SQLite file)",
        )
        if name == "trace":
            cmd.add_argument("target", metavar="DATASET[.COLUMN]")
            way = cmd.add_mutually_exclusive_group()
            way.add_argument("--upstream", dest="direction", action="store_const", const="upstream")
            way.add_argument(
                "--downstream", dest="direction", action="store_const", const="downstream"
            )
            cmd.add_argument("--depth", type=_positive, default=None, help="at most N hops")
        elif name == "tags":
            cmd.add_argument("dataset", metavar="DATASET")
        elif name == "audit":
            _audit_options(cmd)
        else:
            cmd.add_argument(
                "--run", default=None, help="an OpenLineage run id or a Dagster run id"
            )
    return p


def _audit_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--dataset", default=None, help="only this dataset (bare or namespace/name)")
    cmd.add_argument("--department", default=None, help="only datasets this department owns")
    cmd.add_argument("--agreement", default=None, help="only runs under this agreement id")
    cmd.add_argument("--kind", choices=AUDIT_KINDS, default=None, help="only this kind of record")
    when = "YYYY-MM-DD (midnight UTC) or an ISO date-time (UTC unless it has an offset)"
    cmd.add_argument("--since", default=None, help=f"from this time, inclusive: {when}")
    cmd.add_argument("--until", default=None, help=f"before this time, exclusive: {when}")
    cmd.add_argument("--json", action="store_true", help="one JSON object per record (NDJSON)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tagtrail`` console script."""
    args = _parser().parse_args(argv)
    from lineage.store.errors import StoreError, UnknownNameError

    commands = {
        "demo": _demo,
        "validate": _validate,
        "trace": _trace,
        "tags": _tags,
        "events": _events,
        "audit": _audit,
    }
    try:
        return commands[args.command](args)
    except (DeclarationError, UsageError, UnknownNameError) as exc:
        print(f"tagtrail: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"tagtrail: {exc}", file=sys.stderr)
        return EXIT_HALTED if exc.transient else EXIT_USAGE


def _open_store(args: argparse.Namespace) -> Any:
    from lineage.store import configured_url, open_store

    home = (args.home or tagtrail_home()).resolve()
    url = args.store_url or configured_url(home)
    if url.startswith("sqlite:") and not (home / "lineage.db").exists() and not args.store_url:
        raise UsageError(
            f"no lineage store at {home / 'lineage.db'}; run `tagtrail demo` first or set TAGTRAIL_LINEAGE_URL"
        )
    return open_store(url)


def _trace(args: argparse.Namespace) -> int:
    from lineage.render import render_trace

    dataset, _, column = args.target.partition(".")
    direction = args.direction or "downstream"
    with _open_store(args) as store:
        hops = store.trace(dataset, column or None, direction, args.depth)
    print(render_trace(args.target, direction, hops))
    return 0


def _tags(args: argparse.Namespace) -> int:
    from lineage.render import render_tags

    with _open_store(args) as store:
        columns = store.columns(args.dataset)  # an unknown name raises, with close matches
        record = store.dataset(args.dataset)
        assert record is not None
        print(render_tags(record, columns))
    return 0


def _events(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        for raw in store.events(args.run):
            sys.stdout.write(raw.rstrip("\n") + "\n")
    return 0


def _moment(option: str, text: str | None) -> dt.datetime | None:
    """``--since``/``--until``: a date is midnight UTC, a date-time without offset is UTC."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} '{text}' is not a date (YYYY-MM-DD) or an ISO date-time "
            "(YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _audit(args: argparse.Namespace) -> int:
    import json

    from lineage.render import render_audit

    since, until = _moment("--since", args.since), _moment("--until", args.until)
    if since is not None and until is not None and since >= until:
        raise UsageError(f"--since {args.since} must be before --until {args.until}")
    with _open_store(args) as store:
        records = store.audit(
            dataset=args.dataset,
            department=args.department,
            agreement=args.agreement,
            kind=args.kind,
            since=since,
            until=until,
        )
    if args.json:
        for record in records:
            print(json.dumps(record.as_json(), ensure_ascii=False))
    else:
        print(render_audit(records))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pipelines.demo import DEMO_ESTATE
    from pipelines.estate import load_estate

    started = time.perf_counter()
    estate = load_estate(args.estate or DEMO_ESTATE)
    from dagster_project.factory import build_definitions
    from lineage.propagation import propagate
    from pipelines.policy.preview import preview

    defs = build_definitions(estate)
    defs.resolve_all_asset_specs()
    print(
        f"{len(estate.departments)} departments, {len(estate.agreements)} agreements, "
        f"{len(estate.datasets)} datasets, {len(estate.flows)} flows: declarations valid; "
        f"definitions built in {time.perf_counter() - started:.2f} s"
    )
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
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    home = (args.home or tagtrail_home()).resolve()
    os.environ["TAGTRAIL_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_HOME", str(home / "dagster"))
    logging.getLogger("dagster").setLevel(logging.WARNING)
    from dagster_project.demo import render, run_demo

    print(
        f"Generating {args.people:,} synthetic people under {home} and running every flow ...",
        flush=True,
    )
    report = run_demo(
        home, people=args.people, seed=args.seed, defect=args.defect, as_of=args.as_of
    )
    print(render(report))
    if not report.success:
        held = [o.dataset for o in report.outcomes if o.status == "held back"]
        errors = [o.dataset for o in report.outcomes if o.status == "error"]
        why = (
            f"{', '.join(held)} failed {_failed_checks(report)}"
            if held
            else f"{', '.join(errors)} raised an error"
        )
        print(
            "\n"
            + textwrap.fill(
                f"The run halted: {why}, so nothing downstream ran and no bad data was written. "
                "Open the run in the Dagster UI (make ui) to see which checks failed, with their rules, "
                "counts and the keys of the rows concerned.",
                width=100,
            ),
            file=sys.stderr,
        )
        return EXIT_HALTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
