"""The lineage commands: ``tagtrail trace``, ``tags``, ``events`` and ``audit`` over the lineage store."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from dagster_project.cli_errors import UsageError
from pipelines.home import tagtrail_home


def lineage_store_url(args: argparse.Namespace) -> str:
    """The URL of the store named by ``--store-url``, else by the home (``--home``); a clear
    error if the home has none."""
    from lineage.store import configured_url

    home = (args.home or tagtrail_home()).resolve()
    url: str = args.store_url or configured_url(home)
    if url.startswith("sqlite:") and not (home / "lineage.db").exists() and not args.store_url:
        raise UsageError(
            f"no lineage store at {home / 'lineage.db'}; run `tagtrail demo` first or set TAGTRAIL_LINEAGE_URL"
        )
    return url


def open_lineage_store(args: argparse.Namespace) -> Any:
    """The store :func:`lineage_store_url` names, opened."""
    from lineage.store import open_store

    return open_store(lineage_store_url(args))


def trace(args: argparse.Namespace) -> int:
    from lineage.render import render_trace

    dataset, _, column = args.target.partition(".")
    direction = args.direction or "downstream"
    with open_lineage_store(args) as store:
        hops = store.trace(dataset, column or None, direction, args.depth)
    print(render_trace(args.target, direction, hops))
    return 0


def tags(args: argparse.Namespace) -> int:
    from lineage.render import render_tags

    with open_lineage_store(args) as store:
        columns = store.columns(args.dataset)  # an unknown name raises, with close matches
        record = store.dataset(args.dataset)
        assert record is not None
        print(render_tags(record, columns))
    return 0


def events(args: argparse.Namespace) -> int:
    """Print stored events (all, a run's, or those waiting for delivery), or deliver them."""
    from lineage.delivery import deliver, transport_of
    from lineage.emit import configured_client

    if args.action == "import":
        return _import(args)
    if args.file is not None:
        raise UsageError(f"'{args.file}' is only for `tagtrail events import FILE`")
    with open_lineage_store(args) as store:
        if args.action == "send":
            report = deliver(store, timeout_s=args.timeout)
            if report is None:
                raise UsageError(_NO_TRANSPORT)
            print(report.summary())
            return 0 if report.pending == 0 else 1
        if args.pending:
            found = transport_of(configured_client())
            if found is None:
                raise UsageError(_NO_TRANSPORT)
            raws = [e.raw for e in store.undelivered(found[1])]
        else:
            raws = store.events(args.run)
        for raw in raws:
            sys.stdout.write(raw.rstrip("\n") + "\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    """Store the events of an NDJSON file, all or none of them: every line is checked first."""
    from lineage.store import InvalidEventError, configured_url, open_store
    from lineage.store.parse import parse_event

    if args.file is None:
        raise UsageError(
            "`tagtrail events import` needs FILE: NDJSON, one OpenLineage run event a line "
            "(- for standard input)"
        )
    name = "standard input" if str(args.file) == "-" else str(args.file)
    try:
        text = sys.stdin.read() if name == "standard input" else args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {name}: {exc}") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    problems = []
    for n, line in lines:
        try:
            parse_event(line)
        except InvalidEventError as exc:
            problems.append(f"{name}, line {n}: {exc}")
    if problems:
        shown = "\n".join(problems[:20]) + (
            f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        raise UsageError(
            f"{len(problems)} line(s) are not OpenLineage run events; nothing was imported:\n{shown}"
        )
    home = (args.home or tagtrail_home()).resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)  # a first import may make the home
    with open_store(args.store_url or configured_url(home)) as store:
        new = store.ingest_many(line for _, line in lines)
    print(f"{name}: {len(lines)} event(s) read, {new} new, {len(lines) - new} already stored")
    return 0


_NO_TRANSPORT = (
    "no OpenLineage transport is configured, so nothing is waiting to be sent; set "
    "OPENLINEAGE_URL (or OPENLINEAGE_CONFIG, ./openlineage.yml, OPENLINEAGE__TRANSPORT__*)"
)


def moment(option: str, text: str | None) -> dt.datetime | None:
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


def audit(args: argparse.Namespace) -> int:
    import json

    from lineage.render import render_audit

    since, until = moment("--since", args.since), moment("--until", args.until)
    if since is not None and until is not None and since >= until:
        raise UsageError(f"--since {args.since} must be before --until {args.until}")
    with open_lineage_store(args) as store:
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
