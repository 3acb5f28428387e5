"""HTML pages: the record of processing and the transparency report for the served estate, and
an index of the datasets by department."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from lineage.serve.api import JSON, BadRequest, guard, query_moment
from lineage.serve.app import settings_of, store_of
from pipelines.estate import Estate


def _estate(request: Request) -> Estate:
    from pipelines.estate import load_estate

    folder = settings_of(request).estate_dir
    if folder is None:
        raise BadRequest("no estate is served: start tagtrail serve with --estate DIR")
    return load_estate(folder)


def ropa(request: Request) -> Response:
    """The Art. 30 record of processing as a page."""
    from lineage.reports.render import render_ropa
    from lineage.reports.ropa import record_of_processing

    try:
        estate = _estate(request)
    except BadRequest as exc:
        return JSON({"error": str(exc)}, 404)
    return HTMLResponse(render_ropa(record_of_processing(estate), "html"))


def transparency(request: Request) -> Response:
    """The transparency report of ``since`` to ``until`` (default: the last year) as a page."""
    from lineage.reports.render import render_transparency
    from lineage.reports.transparency import transparency_report

    try:
        estate = _estate(request)
        until = query_moment(request, "until") or dt.datetime.now(dt.UTC)
        since = query_moment(request, "since") or until - dt.timedelta(days=365)
    except BadRequest as exc:
        return JSON({"error": str(exc)}, 400)
    if since >= until:
        return JSON({"error": "since must be before until"}, 400)
    records = store_of(request).audit(since=since, until=until)
    report = transparency_report(estate, records, since, until)
    return HTMLResponse(render_transparency(report, "html"))


STATIC = Path(__file__).with_name("static")
VENDOR = ("cytoscape.min.js", "dagre.min.js", "cytoscape-dagre.js")


def explorer(request: Request) -> Response:
    """The explorer page, when its browser libraries are built; else the plain index."""
    if all((STATIC / "vendor" / name).is_file() for name in VENDOR):
        return FileResponse(STATIC / "explorer.html", media_type="text/html")
    return index(request)


def index(request: Request) -> Response:
    """Datasets by department, with links to their JSON pages and the reports."""
    by_department: dict[str, list[str]] = {}
    for record in store_of(request).datasets():
        by_department.setdefault(record.department or "(none)", []).append(record.name)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>tagtrail</title></head><body><h1>tagtrail: datasets by department</h1>",
        "<p>The graph explorer needs its browser libraries: run <code>make assets</code> "
        "(npm installs them into lineage/serve/static/vendor).</p>",
        "<p><a href='/reports/ropa'>Record of processing</a> · "
        "<a href='/reports/transparency'>Transparency report</a></p>",
    ]
    for department, names in sorted(by_department.items()):
        parts.append(f"<h2>{html.escape(department)}</h2><ul>")
        parts += [
            f"<li><a href='/api/v1/datasets/{html.escape(n)}'>{html.escape(n)}</a></li>"
            for n in sorted(names)
        ]
        parts.append("</ul>")
    parts.append("</body></html>")
    return HTMLResponse("\n".join(parts))


ROUTES: list[BaseRoute] = [
    Route("/", guard(explorer)),
    Route("/index", guard(index)),
    Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    Route("/reports/ropa", guard(ropa)),
    Route("/reports/transparency", guard(transparency)),
]
