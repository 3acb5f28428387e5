"""``tagtrail grants --plan|--apply``: least privilege in the dataset warehouse, from the declarations.

``--plan`` prints the SQL that would bring the warehouse's privileges to what the estate's
agreements allow on a date, with the reason for each statement; ``--apply`` runs it in one
transaction and records every change in the lineage store's audit trail (``grant_changed``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Final

from dagster_project.cli_errors import EXIT_HALTED, EXIT_OK, EXIT_USAGE, UsageError

URL_ENV: Final = "TAGTRAIL_DATASETS_URL"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], home_help: str) -> None:
    """The ``grants`` command."""
    cmd = sub.add_parser(
        "grants",
        help="least privilege in the PostgreSQL dataset warehouse: one role a department, reading "
        "its own schema and what agreements in force share with it (--plan shows, --apply does)",
    )
    mode = cmd.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--plan", action="store_true", help="print the SQL that would change, with reasons"
    )
    mode.add_argument(
        "--apply",
        action="store_true",
        help="run it in one transaction and record each change in the audit trail",
    )
    cmd.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="judge agreements' dates on this day, YYYY-MM-DD (default today)",
    )
    cmd.add_argument(
        "--url", default=None, help=f"the warehouse's SQLAlchemy URL (default: {URL_ENV})"
    )
    cmd.add_argument(
        "--estate", default=None, help="estate folder (default: TAGTRAIL_ESTATE, else the demo)"
    )
    cmd.add_argument(
        "--role-prefix",
        default=None,
        metavar="PREFIX",
        help="departments' roles are PREFIX<department> (default tagtrail_)",
    )
    cmd.add_argument("--home", type=Path, default=None, help=home_help)
    cmd.add_argument(
        "--store-url",
        default=None,
        help="lineage store URL for the audit trail (default TAGTRAIL_LINEAGE_URL or the home's "
        "SQLite file)",
    )


def grants(args: argparse.Namespace) -> int:
    """Plan or apply the warehouse's grants; exit 1 when the warehouse did not answer."""
    from pipelines.estate import load_estate
    from pipelines.home import estate_dir
    from pipelines.warehouse.grants import ROLE_PREFIX, GrantsError, check_prefix
    from pipelines.warehouse.grants_apply import WarehouseError, WarehouseUrlError, server_of

    args.role_prefix = ROLE_PREFIX if args.role_prefix is None else args.role_prefix

    source = "--url" if args.url else URL_ENV
    url = (args.url or os.environ.get(URL_ENV, "")).strip()
    if not url:
        raise UsageError(
            f"no warehouse to grant in: set {URL_ENV} to the SQLAlchemy URL of the PostgreSQL "
            "database holding the departments' schemas (postgresql+psycopg://user@host:5432/db), "
            "or give --url"
        )
    as_of = args.as_of or dt.date.today()
    try:
        check_prefix(args.role_prefix)
        server = server_of(url)
    except WarehouseUrlError as exc:
        raise UsageError(f"{exc} (from {source})") from None
    except GrantsError as exc:
        raise UsageError(f"--role-prefix: {exc}") from None
    estate = load_estate(estate_dir(args.estate))
    try:
        if args.apply:
            return _apply(args, url, estate, as_of, server)
        return _plan(url, estate, as_of, args.role_prefix, server)
    except GrantsError as exc:
        raise UsageError(str(exc)) from None
    except WarehouseError as exc:
        print(f"tagtrail: {exc} (from {source})", file=sys.stderr)
        return EXIT_HALTED if exc.transient else EXIT_USAGE


def _plan(url: str, estate: Any, as_of: dt.date, prefix: str, server: str) -> int:
    from pipelines.warehouse.grants_apply import connect, plan_database

    with connect(url) as conn:
        plan = plan_database(conn, estate, as_of, prefix)
    if plan.up_to_date:
        print(f"nothing to do: {server} grants what the declarations allow on {as_of}")
    else:
        print(f"-- {len(plan.changes)} change(s) for {server}, agreements judged on {as_of}")
        for change in plan.changes:
            print(f"-- {change.reason}")
            print(f"{change.sql};")
    _remarks(plan)
    return EXIT_OK


def _apply(args: argparse.Namespace, url: str, estate: Any, as_of: dt.date, server: str) -> int:
    import getpass

    from dagster_project.cli_lineage import open_lineage_store
    from lineage.events import to_json
    from lineage.grant_audit import grant_events
    from pipelines.warehouse.grants_apply import apply_grants, connect
    from pipelines.warehouse.grants_plan import Plan

    at = dt.datetime.now(dt.UTC)
    with open_lineage_store(args) as store, connect(url) as conn:

        def record(plan: Plan, user: str) -> None:
            events = grant_events(
                plan.changes,
                as_of=as_of,
                database=server,
                executed_as=user,
                applied_by=getpass.getuser(),
                at=at,
            )
            # one batch, one store transaction: all the records or none
            store.ingest_many([to_json(e) for e in events], batch_size=len(events))

        plan = apply_grants(conn, estate, as_of, args.role_prefix, record)
    if plan.up_to_date:
        print(f"nothing to do: {server} grants what the declarations allow on {as_of}")
    else:
        print(
            f"changed {len(plan.changes)} privilege(s) in {server} (agreements judged on "
            f"{as_of}; recorded in the audit trail as grant_changed):"
        )
        for change in plan.changes:
            print(f"  {change.sql}  -- {change.reason}")
    _remarks(plan)
    return EXIT_OK


def _remarks(plan: Any) -> None:
    for line in plan.pending:
        print(f"pending: {line}")
    for line in plan.notes:
        print(f"note: {line}")
