"""Validate OpenLineage events offline against the official JSON schemas and tagtrail's own.

The core event is validated against ``OpenLineage.json`` (one of RunEvent, DatasetEvent, JobEvent;
when that fails, against the definition its ``schemaURL`` names, for precise messages); then
every facet against the ``$defs`` entry its ``_schemaURL`` names, in the file whose ``$id`` is
that URL without its fragment. A facet whose key is not the one its schema file declares, or whose
schema is unknown, is an error too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lineage.facets import SCHEMAS_DIR

CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
_FACET_MAPS: tuple[tuple[str, str], ...] = (
    ("inputs", "facets"),
    ("inputs", "inputFacets"),
    ("outputs", "facets"),
    ("outputs", "outputFacets"),
)


def validate_event(
    event: Mapping[str, Any],
    spec_dir: Path,
    *,
    extra_schema_dirs: tuple[Path, ...] = (SCHEMAS_DIR,),
) -> list[str]:
    """Every schema error in ``event`` (a serialised event dict); empty when it is valid.

    ``spec_dir`` holds ``OpenLineage.json`` and ``facets/*.json``; ``extra_schema_dirs`` hold
    custom facet schemas (tagtrail's by default).
    """
    registry, documents = _load(Path(spec_dir), tuple(Path(d) for d in extra_schema_dirs))
    errors = _check(registry, CORE_ID, event, "event")
    own = event.get("schemaURL")
    if errors and isinstance(own, str) and own.startswith(CORE_ID + "#"):
        errors = _check(registry, own, event, "event") or errors
    for where, key, facet in _facets(event):
        url = facet.get("_schemaURL") if isinstance(facet, Mapping) else None
        if not isinstance(url, str):
            errors.append(f"{where}.{key}: facet has no _schemaURL")
            continue
        file_id, _, fragment = url.partition("#")
        document = documents.get(file_id)
        if document is None:
            errors.append(f"{where}.{key}: no schema file has $id {file_id}")
            continue
        declared = sorted(document.get("properties", {}))
        if key not in declared:
            errors.append(f"{where}.{key}: {file_id} declares facet key(s) {declared}, not '{key}'")
        if fragment:
            errors += _check(registry, url, facet, f"{where}.{key}")
        else:
            errors += _check(registry, file_id, {key: facet}, where)
    return errors


def _check(registry: Registry[Any], url: str, instance: Any, where: str) -> list[str]:
    validator = Draft202012Validator(
        {"$ref": url}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    found = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{where}{_path(e.absolute_path)}: {_short(e.message)}" for e in found]


def _path(parts: Iterable[Any]) -> str:
    return "".join(f"[{p!r}]" for p in parts)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _facets(event: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for part in ("run", "job"):
        for key, facet in _mapping(_mapping(event.get(part)).get("facets")).items():
            yield f"{part}.facets", key, facet
    for side, field in _FACET_MAPS:
        datasets = event.get(side)
        for i, ds in enumerate(datasets if isinstance(datasets, list) else []):
            for key, facet in _mapping(_mapping(ds).get(field)).items():
                yield f"{side}[{i}].{field}", key, facet


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@functools.cache
def _load(
    spec_dir: Path, extra: tuple[Path, ...]
) -> tuple[Registry[Any], dict[str, dict[str, Any]]]:
    core = spec_dir / "OpenLineage.json"
    if not core.is_file():
        raise FileNotFoundError(f"OpenLineage spec not found: {core} is missing")
    files = [core, *sorted((spec_dir / "facets").glob("*.json"))]
    files += [f for d in extra for f in sorted(d.glob("*.json"))]
    documents: dict[str, dict[str, Any]] = {}
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        documents[document["$id"]] = document
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT202012))
        for uri, doc in documents.items()
    )
    return registry, documents
