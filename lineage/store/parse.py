"""Reading OpenLineage RunEvents: the identity fields of one event, and the merged facets of a run.

Pure functions, no database. Facets are read tolerantly: a facet of the wrong shape is ignored
rather than failing the ingest, because the raw event is kept whatever happens.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lineage.store import jsontext
from lineage.store.errors import InvalidEventError

Role = Literal["input", "output"]
EVENT_TYPES = frozenset({"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"})


@dataclass(frozen=True, order=True)
class DatasetRef:
    """A dataset's identity in OpenLineage: namespace and name."""

    namespace: str
    name: str


@dataclass(frozen=True)
class ParsedEvent:
    """The fields of one event the store indexes, next to its raw text and content hash."""

    raw: str
    content_hash: str
    document: dict[str, Any]
    event_type: str
    event_time: datetime
    run_id: str
    job: DatasetRef
    parent_run_id: str | None
    parent_job_name: str | None
    producer: str | None
    error_message: str | None
    inputs: tuple[DatasetRef, ...]
    outputs: tuple[DatasetRef, ...]


@dataclass
class DatasetView:
    """One input or output dataset of a run, facets merged over the run's events (later wins).

    ``inputs`` (for an output) are every input the run declared.
    """

    ref: DatasetRef
    facets: dict[str, Any] = field(default_factory=dict)
    inputs: list[DatasetRef] = field(default_factory=list)


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def canonical_hash(document: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON: the same event in any formatting hashes the same."""
    return hashlib.sha256(jsontext.canonical(document)).hexdigest()


def parse_time(value: Any) -> datetime:
    """An ISO 8601 ``eventTime`` as an aware UTC datetime (naive times are taken as UTC)."""
    if not isinstance(value, str):
        raise InvalidEventError("eventTime is missing or not a string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidEventError(f"eventTime {value!r} is not an ISO 8601 date-time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_event(event: dict[str, Any] | str) -> ParsedEvent:
    """Parse one RunEvent given as JSON text (kept byte for byte) or as a dict (serialised once)."""
    canonical: bytes | None = None
    if isinstance(event, str):
        raw = event
        try:
            document, canonical = jsontext.loads_canonical(raw)
        except ValueError as exc:
            raise InvalidEventError(f"event is not valid JSON: {exc}") from exc
    elif isinstance(event, dict):
        document = event
        raw = json.dumps(event, ensure_ascii=False)
    else:
        raise InvalidEventError(f"event must be a dict or JSON text, not {type(event).__name__}")
    if not isinstance(document, dict):
        raise InvalidEventError("event is not a JSON object")
    run, job = as_dict(document.get("run")), as_dict(document.get("job"))
    run_id, job_ns, job_name = as_str(run.get("runId")), job.get("namespace"), job.get("name")
    if run_id is None or not isinstance(job_ns, str) or not isinstance(job_name, str):
        raise InvalidEventError("event needs run.runId, job.namespace and job.name")
    event_type = document.get("eventType") or "OTHER"
    if event_type not in EVENT_TYPES:
        raise InvalidEventError(f"unknown eventType {event_type!r}")
    run_facets = as_dict(run.get("facets"))
    parent = as_dict(run_facets.get("parent"))
    return ParsedEvent(
        raw=raw,
        content_hash=(
            hashlib.sha256(canonical).hexdigest()
            if canonical is not None
            else canonical_hash(document)
        ),
        document=document,
        event_type=event_type,
        event_time=parse_time(document.get("eventTime")),
        run_id=run_id,
        job=DatasetRef(job_ns, job_name),
        parent_run_id=as_str(as_dict(parent.get("run")).get("runId")),
        parent_job_name=as_str(as_dict(parent.get("job")).get("name")),
        producer=as_str(document.get("producer")),
        error_message=as_str(as_dict(run_facets.get("errorMessage")).get("message")),
        inputs=_refs(document.get("inputs")),
        outputs=_refs(document.get("outputs")),
    )


def _refs(items: Any) -> tuple[DatasetRef, ...]:
    refs: dict[DatasetRef, None] = {}
    for item in as_list(items):
        entry = as_dict(item)
        namespace, name = entry.get("namespace"), entry.get("name")
        if isinstance(namespace, str) and isinstance(name, str) and name:
            refs[DatasetRef(namespace, name)] = None
    return tuple(refs)


def merge_datasets(documents: list[dict[str, Any]], role: Role) -> dict[DatasetRef, DatasetView]:
    """Each input or output of a run with facets merged across its events in order."""
    views: dict[DatasetRef, DatasetView] = {}
    inputs: dict[DatasetRef, None] = {}
    for document in documents:
        inputs.update(dict.fromkeys(_refs(document.get("inputs"))))
        for item in as_list(document.get(f"{role}s")):
            entry = as_dict(item)
            refs = _refs([entry])
            if not refs:
                continue
            view = views.setdefault(refs[0], DatasetView(refs[0]))
            for key in ("facets", "outputFacets", "inputFacets"):
                view.facets.update(as_dict(entry.get(key)))
    for view in views.values():
        view.inputs = [ref for ref in inputs if ref != view.ref]
    return views


def department_of(namespace: str) -> str | None:
    """``tagtrail.<department>`` -> department; other namespaces carry none."""
    prefix, _, rest = namespace.partition(".")
    if prefix != "tagtrail" or not rest:
        return None
    return rest
