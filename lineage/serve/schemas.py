"""tagtrail's facet schemas, served at the path of their ``$id`` (so a ``_schemaURL`` on this
server's host resolves), and listed at ``/spec/facets/``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from lineage.facets import SCHEMAS_DIR
from lineage.serve.api import JSON


@functools.cache
def schema_paths() -> dict[str, Path]:
    """URL path -> schema file, from each file's ``$id``."""
    found: dict[str, Path] = {}
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        schema_id = json.loads(path.read_text(encoding="utf-8")).get("$id")
        if isinstance(schema_id, str):
            found[urlparse(schema_id).path] = path
    return found


def schema(request: Request) -> Response:
    """One schema file, or 404 naming those there are."""
    path = schema_paths().get(request.url.path)
    if path is None:
        return JSON({"error": "no such schema", "schemas": sorted(schema_paths())}, 404)
    return FileResponse(path, media_type="application/schema+json")


def listing(request: Request) -> Response:
    """Every schema path served."""
    return JSON({"schemas": sorted(schema_paths())})


ROUTES = [Route("/spec/facets/", listing), Route("/spec/{rest:path}", schema)]
