"""``POST /api/v1/lineage``: store events from any OpenLineage producer, after checking them.

An event must be a RunEvent the store can index (run id, job, event type and time). With the
OpenLineage spec available (``OPENLINEAGE_SPEC_DIR``), it must also pass the official JSON
schema, and every facet whose schema is known (the spec's, tagtrail's) must pass its own; a
producer's own custom facets, whose schemas are not here, are stored unchecked. 201 when stored
(``stored`` false for a duplicate), 400 with every error when not, 503 when the store is down.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lineage.facets import SCHEMAS_DIR
from lineage.serve.api import JSON
from lineage.serve.app import settings_of, store_of
from lineage.store.errors import InvalidEventError, StoreError
from lineage.store.parse import parse_event

_DATASET_FACETS = ("facets", "inputFacets", "outputFacets")


async def receive(request: Request) -> Response:
    """Check and store one posted event."""
    settings = settings_of(request)
    body = await request.body()
    if len(body) > settings.max_event_bytes:
        return JSON({"error": f"an event may be at most {settings.max_event_bytes} bytes"}, 413)
    try:
        text = body.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return JSON({"error": f"the body is not JSON text: {exc}"}, 400)
    if not isinstance(document, dict):
        return JSON({"error": "the body must be one OpenLineage RunEvent (a JSON object)"}, 400)
    errors = schema_errors(document, settings.spec_dir)
    if errors:
        return JSON(
            {"error": "the event does not pass the OpenLineage schema", "errors": errors}, 400
        )
    try:
        parse_event(text)
        stored = store_of(request).ingest(text)
    except InvalidEventError as exc:
        return JSON({"error": str(exc), "errors": [str(exc)]}, 400)
    except StoreError as exc:
        headers = {"Retry-After": "30"} if exc.transient else None
        return JSON({"error": str(exc), "transient": exc.transient}, 503, headers=headers)
    return JSON({"stored": stored}, 201)


def schema_errors(event: dict[str, Any], spec_dir: Path | None) -> list[str]:
    """The schema errors of ``event`` (none when no spec is configured)."""
    if spec_dir is None:
        return []
    from lineage.validation import validate_event

    known = _known_ids(spec_dir)
    checked = _without_unknown_facets(event, known)
    return validate_event(checked, spec_dir)


@functools.cache
def _known_ids(spec_dir: Path) -> frozenset[str]:
    files = [*sorted((spec_dir / "facets").glob("*.json")), *sorted(SCHEMAS_DIR.glob("*.json"))]
    ids = set()
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document.get("$id"), str):
            ids.add(document["$id"])
    return frozenset(ids)


def _without_unknown_facets(event: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    def keep(facets: Any) -> Any:
        if not isinstance(facets, Mapping):
            return facets
        return {
            key: facet
            for key, facet in facets.items()
            if not isinstance(facet, Mapping)
            or not isinstance(facet.get("_schemaURL"), str)
            or facet["_schemaURL"].partition("#")[0] in known
        }

    copy = dict(event)
    for part in ("run", "job"):
        if isinstance(copy.get(part), Mapping):
            copy[part] = {**copy[part], "facets": keep(copy[part].get("facets"))}
            if copy[part]["facets"] is None:
                del copy[part]["facets"]
    for side in ("inputs", "outputs"):
        if isinstance(copy.get(side), list):
            copy[side] = [
                {
                    **ds,
                    **{f: keep(ds[f]) for f in _DATASET_FACETS if f in ds},
                }
                if isinstance(ds, Mapping)
                else ds
                for ds in copy[side]
            ]
    return copy


ROUTES = [Route("/api/v1/lineage", receive, methods=["POST"])]
