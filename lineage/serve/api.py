"""The read API (JSON): datasets, the estate graph, traces, audit records, and a lineage graph in
the shape of Marquez's ``GET /api/v1/lineage?nodeId=…&depth=…``.

Names are bare (``care_packages``) where unique, else ``namespace/name``. A user mistake (an
unknown name, a bad direction or date) is a 400 or 404 whose ``error`` says what is allowed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lineage.render import tag_change
from lineage.serve.app import settings_of, store_of
from lineage.serve.marquez import dataset_summary
from lineage.store.errors import StoreError, UnknownNameError
from lineage.store.records import DatasetRecord, Hop

DEFAULT_DEPTH = 20
MAX_DEPTH = 100


class JSON(Response):
    """A JSON response written by orjson (dataclasses and dates included)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class BadRequest(Exception):
    """A request the caller can correct: 400 with this message."""


def _error(status: int, message: str, **extra: Any) -> JSON:
    return JSON({"error": message, **extra}, status_code=status)


def guard(handler: Any) -> Any:
    """``handler`` with user mistakes as 400/404 and store failures as 503 (500 if lasting)."""

    def wrapped(request: Request) -> Response:
        try:
            result: Response = handler(request)
        except (BadRequest, ValueError) as exc:
            return _error(400, str(exc))
        except UnknownNameError as exc:
            return _error(404, str(exc))
        except StoreError as exc:
            status = 503 if exc.transient else 500
            return _error(status, str(exc), transient=exc.transient)
        return result

    return wrapped


def _depth(request: Request) -> int:
    text = request.query_params.get("depth")
    if text is None:
        return DEFAULT_DEPTH
    if not text.isdigit() or not 0 <= int(text) <= MAX_DEPTH:
        raise BadRequest(f"depth must be a whole number from 0 to {MAX_DEPTH}, not {text!r}")
    return int(text)


def query_moment(request: Request, name: str) -> dt.datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, not {text!r}"
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def health(request: Request) -> Response:
    """Liveness, and whether posted events are checked against the official schema."""
    spec = settings_of(request).spec_dir
    return JSON({"status": "ok", "schemaValidation": spec is not None})


def datasets(request: Request) -> Response:
    """Every dataset with its department, agreement, purpose, legal basis and tags."""
    return JSON({"datasets": store_of(request).datasets()})


def dataset(request: Request) -> Response:
    """One dataset: its record, columns with tags and attributions, runs and audit records."""
    store = store_of(request)
    name = request.path_params["name"]
    store.columns(name)  # an unknown name raises here, with the closest names
    record = store.dataset(name)
    assert record is not None
    qualified = f"{record.namespace}/{record.name}"
    runs = store.runs(qualified)[-20:]
    audit = store.audit(dataset=qualified)[-50:]
    return JSON(
        {
            "dataset": record,
            "columns": store.columns(qualified),
            "controls": _latest_controls(store, record),
            "runs": runs,
            "audit": audit,
        }
    )


def _latest_controls(store: Any, record: DatasetRecord) -> list[dict[str, Any]]:
    """The privacy controls of the dataset's current version, as its run recorded them (names,
    outcomes, rules and summaries: counts, never values)."""
    if record.last_run_id is None:
        return []
    found: list[dict[str, Any]] = []
    for text in store.events(record.last_run_id):
        for output in orjson.loads(text).get("outputs") or []:
            if not isinstance(output, dict) or output.get("name") != record.name:
                continue
            facet = (output.get("facets") or {}).get("tagtrail_controls") or {}
            controls = facet.get("controls") if isinstance(facet, dict) else None
            if isinstance(controls, list):
                found = [
                    {k: c.get(k) for k in ("control", "passed", "evaluated", "severity", "summary")}
                    for c in controls
                    if isinstance(c, dict)
                ]
    return found


def graph(request: Request) -> Response:
    """The estate graph: datasets (with departments) and edges labelled with agreement and
    purpose; ``tag``, ``department`` and ``agreement`` filter it."""
    store = store_of(request)
    records = {f"{r.namespace}/{r.name}": r for r in store.datasets()}
    tags = store.column_tags()
    edges = store.graph()
    tag = request.query_params.get("tag")
    department = request.query_params.get("department")
    agreement = request.query_params.get("agreement")
    if agreement:
        edges = [e for e in edges if e.agreement_id == agreement]
    keep = {
        name
        for name, record in records.items()
        if (not department or record.department == department)
        and (not tag or any(t == tag or t.startswith(tag + ".") for t in tags.get(name, ())))
    }
    if agreement:
        keep &= {e.from_dataset for e in edges} | {e.to_dataset for e in edges}
    nodes = [
        {**dataset_summary(records[name]), "id": name, "columnTags": sorted(tags.get(name, ()))}
        for name in sorted(keep)
    ]
    return JSON(
        {
            "datasets": nodes,
            "edges": [e for e in edges if e.from_dataset in keep and e.to_dataset in keep],
        }
    )


def trace(request: Request) -> Response:
    """Hop by hop up- or downstream of a dataset or column, with tags before and after each
    hop, the rule that changed them, and the agreement, purpose and legal basis."""
    store = store_of(request)
    target = request.query_params.get("dataset")
    if not target:
        raise BadRequest("dataset is required (a dataset name, optionally with column=NAME)")
    column = request.query_params.get("column") or None
    direction = request.query_params.get("direction", "downstream")
    if direction not in ("upstream", "downstream"):
        raise BadRequest(f"direction must be upstream or downstream, not {direction!r}")
    hops = store.trace(target, column, direction, _depth(request))  # type: ignore[arg-type]
    return JSON({"start": target, "column": column, "direction": direction, **_hops(hops)})


def _hops(hops: list[Hop]) -> dict[str, Any]:
    return {
        "hops": [
            {
                "depth": h.depth,
                "from": {"dataset": h.from_dataset, "column": h.from_column},
                "to": {"dataset": h.to_dataset, "column": h.to_column},
                "job": h.job,
                "fromDepartment": h.from_department,
                "department": h.department,
                "agreement": h.agreement_id,
                "purpose": h.purpose,
                "legalBasis": h.legal_basis,
                "transformations": h.transformations,
                "tagsBefore": sorted({t.tag for t in h.from_tags}),
                "tagsAfter": sorted({t.tag for t in h.tags}),
                "tagChange": tag_change(h),
                "rules": sorted({r for t in h.tags for a in t.attributions for r in a.rules[-1:]}),
            }
            for h in hops
        ]
    }


def audit(request: Request) -> Response:
    """Audit records with the filters of ``tagtrail audit``."""
    params = request.query_params
    records = store_of(request).audit(
        dataset=params.get("dataset") or None,
        department=params.get("department") or None,
        agreement=params.get("agreement") or None,
        kind=params.get("kind") or None,
        since=query_moment(request, "since"),
        until=query_moment(request, "until"),
    )
    return JSON({"records": [r.as_json() for r in records]})


def lineage(request: Request) -> Response:
    """Marquez's lineage shape for ``nodeId=dataset:<namespace>:<name>`` (datasets and jobs) or
    ``nodeId=datasetField:<namespace>:<name>:<field>`` (columns), both directions."""
    from lineage.serve.marquez import lineage_graph

    node = request.query_params.get("nodeId", "")
    return JSON({"graph": lineage_graph(store_of(request), node, _depth(request))})


def audit_kinds(request: Request) -> Response:
    """The kinds of audit record there are."""
    from lineage.audit_kinds import AUDIT_KINDS

    return JSON({"kinds": list(AUDIT_KINDS)})


ROUTES = [
    Route("/api/v1/health", guard(health)),
    Route("/api/v1/audit-kinds", guard(audit_kinds)),
    Route("/api/v1/datasets", guard(datasets)),
    Route("/api/v1/datasets/{name:path}", guard(dataset)),
    Route("/api/v1/graph", guard(graph)),
    Route("/api/v1/trace", guard(trace)),
    Route("/api/v1/audit", guard(audit)),
    Route("/api/v1/lineage", guard(lineage), methods=["GET"]),
    Route("/api/v1/column-lineage", guard(lineage), methods=["GET"]),
]
