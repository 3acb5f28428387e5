"""``tagtrail serve``: the governance explorer and OpenLineage endpoint, with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
from pathlib import Path

from dagster_project.cli_errors import UsageError

TOKEN_ENV = "TAGTRAIL_SERVE_TOKEN"
SPEC_ENV = "OPENLINEAGE_SPEC_DIR"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], home_help: str) -> None:
    """The ``serve`` command."""
    cmd = sub.add_parser(
        "serve",
        help="the lineage store in a browser and over HTTP: estate graph, column lineage with "
        "tags, datasets, audit, reports, and POST /api/v1/lineage for any OpenLineage producer",
    )
    cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    cmd.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    cmd.add_argument("--home", type=Path, default=None, help=home_help)
    cmd.add_argument(
        "--store-url",
        default=None,
        help="lineage store URL (default TAGTRAIL_LINEAGE_URL or the home's SQLite file)",
    )
    cmd.add_argument(
        "--estate",
        default=None,
        help="estate for the report pages (default: TAGTRAIL_ESTATE, else demo)",
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    """Check the settings, then serve until interrupted."""
    import uvicorn

    from dagster_project.cli_lineage import lineage_store_url
    from lineage.serve import ServeSettings, create_app
    from lineage.store import open_store
    from pipelines.home import estate_dir

    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and token is None:
        raise UsageError(
            f"--host {args.host} accepts connections from other machines: set {TOKEN_ENV} to a "
            "secret token (clients then send Authorization: Bearer <token>), or bind 127.0.0.1"
        )
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be from 1 to 65535, not {args.port}")
    spec = os.environ.get(SPEC_ENV)
    spec_dir = Path(spec).expanduser().resolve() if spec else None
    if spec_dir is not None and not (spec_dir / "OpenLineage.json").is_file():
        raise UsageError(f"{SPEC_ENV}={spec}: no OpenLineage.json there (the spec folder has it)")
    url = lineage_store_url(args)
    with open_store(url):  # a missing or unreachable store is reported here, not at startup
        pass
    settings = ServeSettings(
        store_url=url, estate_dir=estate_dir(args.estate), token=token, spec_dir=spec_dir
    )
    checking = (
        "checked against the OpenLineage schema"
        if spec_dir
        else (f"checked for the fields the store needs (set {SPEC_ENV} for the full schema check)")
    )
    print(f"tagtrail serve on http://{args.host}:{args.port}/ — posted events are {checking}")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
