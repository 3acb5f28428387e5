"""Where events go: always into the store; to a lineage backend where OpenLineage is configured.

Configuration is OpenLineage's own (``OPENLINEAGE_CONFIG``, ``./openlineage.yml``,
``~/.openlineage/openlineage.yml``, ``OPENLINEAGE__*`` and ``OPENLINEAGE_URL``), so pointing tagtrail
at Marquez over HTTP or at Kafka needs no code. Without any such configuration events are only
stored; the client's fallback of printing every event to the console is not used. Events are sent
exactly as stored, through the configured transport, by :mod:`lineage.delivery`.
"""

from __future__ import annotations

import os
from typing import Any, Protocol


class EventSink(Protocol):
    """Where stored events go (the lineage store)."""

    def ingest(self, event: dict[str, Any] | str) -> bool: ...

    def record_publication(
        self, event: dict[str, Any] | str, *, path: str, staged: str, sha256: str
    ) -> int: ...

    def finish_publication(self, publication_id: int, state: Any) -> None: ...


def configured_client() -> Any | None:
    """An OpenLineage client if the user configured a transport, else None."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.noop import NoopConfig, NoopTransport

    probe = OpenLineageClient(transport=NoopTransport(NoopConfig()))
    configured = bool((probe.config.transport or {}).get("type")) or bool(
        os.environ.get("OPENLINEAGE_URL")
    )
    if not configured or os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return None
    return OpenLineageClient()


class Emitter:
    """Stores every event: the store is the record of what happened, and the outbox.

    A store write must succeed: its errors propagate, and the step fails with nothing published.
    Sending to the configured OpenLineage transport happens afterwards, off the data path (see
    :mod:`lineage.delivery`).
    """

    def __init__(self, store: EventSink) -> None:
        self.store = store

    def emit(self, event: Any) -> str:
        """Store ``event`` (an openlineage-python RunEvent); return its JSON."""
        from lineage.events import to_json

        raw = to_json(event)
        self.store.ingest(raw)
        return raw

    def record_publication(self, event: Any, *, path: str, staged: str, sha256: str) -> int:
        """Store the COMPLETE ``event`` of a publication with its pending record; its id."""
        from lineage.events import to_json

        return self.store.record_publication(
            to_json(event), path=path, staged=staged, sha256=sha256
        )

    def finish_publication(self, publication_id: int) -> None:
        """The published file is in place."""
        self.store.finish_publication(publication_id, "published")
