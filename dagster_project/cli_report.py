"""``tagtrail report ropa`` and ``tagtrail report transparency``: governance records to hand over."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from dagster_project.cli_errors import UsageError

_WHEN = "YYYY-MM-DD (midnight UTC) or an ISO date-time (UTC unless it has an offset)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], home_help: str) -> None:
    """The ``report`` command and its two reports."""
    from lineage.reports.render import FORMATS

    report = sub.add_parser(
        "report",
        help="governance reports: `report ropa` (the Art. 30 record of processing) and "
        "`report transparency` (a public summary of a period, counts only)",
    )
    kinds = report.add_subparsers(dest="report", required=True, metavar="{ropa,transparency}")
    ropa = kinds.add_parser("ropa", help="the Art. 30 record of processing, one entry a flow")
    open_ = kinds.add_parser(
        "transparency",
        help="flows, purposes and agreements in force, runs published and held back, controls "
        "that halted, opt-outs applied: counts only, no personal data",
    )
    for cmd in (ropa, open_):
        cmd.add_argument(
            "--estate", default=None, help="estate folder (default: TAGTRAIL_ESTATE, else demo)"
        )
        cmd.add_argument("--format", choices=FORMATS, default="html", help="default html")
        cmd.add_argument(
            "--output", type=Path, default=None, help="write to this file (default: print)"
        )
    open_.add_argument("--since", required=True, help=f"from this time, inclusive: {_WHEN}")
    open_.add_argument("--until", default=None, help=f"before this time (default now): {_WHEN}")
    open_.add_argument("--home", type=Path, default=None, help=home_help)
    open_.add_argument(
        "--store-url",
        default=None,
        help="lineage store URL (default TAGTRAIL_LINEAGE_URL or the home's SQLite file)",
    )


def report(args: argparse.Namespace) -> int:
    """Build the report asked for and print it or write it (whole, or not at all)."""
    from lineage.reports.render import render_ropa, render_transparency
    from lineage.reports.ropa import record_of_processing
    from lineage.reports.transparency import transparency_report
    from pipelines.estate import load_estate
    from pipelines.home import estate_dir

    if args.report == "transparency":
        from dagster_project.cli_lineage import moment, open_lineage_store

        since = moment("--since", args.since)
        until = moment("--until", args.until) or dt.datetime.now(dt.UTC)
        assert since is not None
        if since >= until:
            raise UsageError(f"--since {args.since} must be before --until {args.until or 'now'}")
        estate = load_estate(estate_dir(args.estate))
        with open_lineage_store(args) as store:
            records = store.audit(since=since, until=until)
        text = render_transparency(transparency_report(estate, records, since, until), args.format)
    else:
        text = render_ropa(record_of_processing(load_estate(estate_dir(args.estate))), args.format)
    if args.output is None:
        print(text, end="")
        return 0
    from pipelines.store import atomic_write

    target = args.output.expanduser().resolve()
    if not target.parent.is_dir():
        raise UsageError(f"--output {args.output}: the folder {target.parent} does not exist")

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    atomic_write(target, write)
    print(f"wrote {target}")
    return 0
