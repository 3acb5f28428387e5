"""The ``tagtrail`` command. User mistakes exit 2 with one paragraph; a halted run exits 1."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dagster_project import cli_grants, cli_report, cli_serve
from dagster_project.cli_errors import EXIT_HALTED, EXIT_USAGE, UsageError
from lineage.audit_kinds import AUDIT_KINDS
from pipelines.yamlfile import DeclarationError

_HOME_HELP = "TAGTRAIL_HOME (default: TAGTRAIL_HOME, else ./.tagtrail)"
_EXTRACTS_HELP = (
    "folder file sources are read from (default: TAGTRAIL_EXTRACTS, else the manifest's "
    "extracts, else TAGTRAIL_HOME/extracts)"
)


def _positive(text: str, most: int | None = None) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    if most is not None and value > most:
        raise argparse.ArgumentTypeError(f"must be at most {most:,}")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tagtrail", description="Privacy-tagged inter-departmental data flows."
    )
    sub = p.add_subparsers(dest="command", required=True)
    _estate_commands(sub)
    for name, text in (
        ("trace", "follow a dataset or column hop by hop through the recorded lineage"),
        ("tags", "show each column's privacy tags and why it has them"),
        (
            "events",
            "print the stored OpenLineage events as NDJSON; `events send` delivers those "
            "waiting; `events import FILE` stores events from any producer",
        ),
        ("audit", "list audit records: launches, outcomes, failed controls, purges, opt-outs"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--home", type=Path, default=None, help=_HOME_HELP)
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
            _events_options(cmd)
    cli_report.add_parser(sub, _HOME_HELP)
    cli_serve.add_parser(sub, _HOME_HELP)
    cli_grants.add_parser(sub, _HOME_HELP)
    return p


def _events_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "action",
        nargs="?",
        choices=["send", "import"],
        help="send: deliver every event waiting for the configured OpenLineage transport; "
        "import: store the events of FILE",
    )
    cmd.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="import: NDJSON, one OpenLineage run event a line (- for standard input)",
    )
    cmd.add_argument("--run", default=None, help="an OpenLineage run id or a Dagster run id")
    cmd.add_argument(
        "--pending",
        action="store_true",
        help="only the events not yet delivered to the configured OpenLineage transport",
    )
    cmd.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="send: seconds to wait for the backend to answer each event (default 10)",
    )


def _estate_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipelines.demo.defects import DEFECTS
    from pipelines.demo.policy_defects import POLICY_DEFECTS

    estate_help = "estate folder (default: TAGTRAIL_ESTATE, else the demo estate)"
    init = sub.add_parser("init", help="scaffold a new estate that validates and runs as generated")
    init.add_argument("directory", type=Path, metavar="DIR", help="a new or empty folder")
    init.add_argument("--name", default=None, help="estate name (default: from the folder name)")
    init.add_argument("--git", action="store_true", help="make the folder a git repository")
    val = sub.add_parser(
        "validate", help="check the declarations of an estate without running anything"
    )
    val.add_argument("estate", nargs="?", default=None, help=estate_help)
    val.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="judge agreements' dates on this day, YYYY-MM-DD (default today)",
    )
    val.add_argument(
        "--against",
        default="HEAD",
        metavar="REVISION",
        help="in a git checkout, warn about protection weakened since this revision (default HEAD)",
    )
    run = sub.add_parser("run", help="run an estate's flows (or some datasets) and summarise")
    run.add_argument("--estate", default=None, help=estate_help)
    run.add_argument(
        "--select",
        nargs="+",
        metavar="DATASET",
        default=None,
        help="only these datasets (their other inputs must already be published)",
    )
    run.add_argument("--extracts", type=Path, default=None, help=_EXTRACTS_HELP)
    run.add_argument(
        "--acknowledge",
        nargs="+",
        metavar="DATASET",
        default=None,
        help="accept an expected large drop in these datasets' rows for this run (recorded in "
        "the audit trail with who launched it)",
    )
    periods = run.add_mutually_exclusive_group()
    periods.add_argument(
        "--partition",
        nargs="+",
        metavar="KEY",
        default=None,
        help="run (or rerun) only these periods of the partitioned flows: 2026-10 (monthly) or "
        "2026-10-14 (daily); default every period their inputs have rows in",
    )
    periods.add_argument(
        "--partitions",
        metavar="FROM:TO",
        default=None,
        help="backfill every period from FROM to TO, both included (one Dagster run a period)",
    )
    demo = sub.add_parser("demo", help="generate the synthetic estate and run every flow")
    from pipelines.demo.generate import MAX_PEOPLE

    demo.add_argument(
        "--people",
        type=lambda text: _positive(text, MAX_PEOPLE),
        default=10_000,
        help=f"size of the synthetic population (default 10,000; at most {MAX_PEOPLE:,})",
    )
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo.add_argument(
        "--team",
        action="store_true",
        help="run distributed: Dagster and the lineage store on PostgreSQL, steps on Celery "
        "workers (2 started unless --workers says otherwise); see 'Running tagtrail for a team'",
    )
    kinds = "; ".join(
        [f"{d.name}: {d.description} in {d.dataset}" for d in DEFECTS.values()]
        + [f"{d.name}: {d.description} (halted by {d.check})" for d in POLICY_DEFECTS.values()]
    )
    demo.add_argument(
        "--defect",
        choices=sorted([*DEFECTS, *POLICY_DEFECTS]),
        metavar="KIND",
        help="inject a data defect or a policy breach. Kinds: " + kinds.replace("%", "%%"),
    )
    for cmd in (run, demo):
        cmd.add_argument(
            "--as-of", type=_date, default=None, help="reference date, YYYY-MM-DD (default today)"
        )
        cmd.add_argument(
            "--workers",
            type=lambda text: _positive(text, 32),
            default=0,
            metavar="N",
            help="with TAGTRAIL_EXECUTOR=celery: start Celery workers for this run until N "
            "listen on the queue (stopped after); default: use the workers already running",
        )
        cmd.add_argument("--home", type=Path, default=None, help=_HOME_HELP)
    worker = sub.add_parser(
        "worker",
        help="run one Celery worker that executes steps of runs launched with "
        "TAGTRAIL_EXECUTOR=celery (until stopped)",
    )
    worker.add_argument("--home", type=Path, default=None, help=_HOME_HELP)
    worker.add_argument("--name", default=None, help="worker name (default: tagtrail-<pid>)")
    worker.add_argument(
        "--concurrency", type=lambda text: _positive(text, 64), default=1, help="steps at once"
    )
    rec = sub.add_parser(
        "recover",
        help="close runs, publications and files that a stopped process left behind in a home",
    )
    rec.add_argument("--home", type=Path, default=None, help=_HOME_HELP)
    rec.add_argument("--store-url", default=None, help="lineage store URL (default: the home's)")


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
    from dagster_project import cli_estate, cli_lineage
    from lineage.store.errors import StoreError, UnknownNameError

    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "init": cli_estate.init,
        "validate": cli_estate.validate,
        "run": cli_estate.run,
        "demo": cli_estate.demo,
        "recover": cli_estate.recover,
        "worker": cli_estate.worker,
        "trace": cli_lineage.trace,
        "tags": cli_lineage.tags,
        "events": cli_lineage.events,
        "audit": cli_lineage.audit,
        "report": cli_report.report,
        "serve": cli_serve.serve,
        "grants": cli_grants.grants,
    }
    try:
        return commands[args.command](args)
    except BrokenPipeError:  # the reader (`| head`) stopped early: nothing to report
        sys.stderr.close()
        return 0
    except (DeclarationError, UsageError, UnknownNameError) as exc:
        print(f"tagtrail: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"tagtrail: {exc}", file=sys.stderr)
        return EXIT_HALTED if exc.transient else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
