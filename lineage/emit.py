"""Send events where OpenLineage is configured to send them, and always keep them in the store.

Configuration is OpenLineage's own (``OPENLINEAGE_CONFIG``, ``./openlineage.yml``,
``~/.openlineage/openlineage.yml``, ``OPENLINEAGE__*`` and ``OPENLINEAGE_URL``), so pointing tagtrail
at Marquez over HTTP or at Kafka needs no code. Without any such configuration events are only
stored; the client's fallback of printing every event to the console is not used.

The store keeps each event as tagtrail built it. What the client sends may carry more: the client
adds its own run and job ``tags`` facets (client version, configured tags) and any environment
facets its configuration asks for.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Protocol

log = logging.getLogger(__name__)


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
    """Stores every event, then hands it to the configured OpenLineage transport (if any).

    The store write is the record of what happened and must succeed: its errors propagate. A
    transport failure (a lineage backend that is down) is logged and does not stop the data;
    the stored copy remains the source for re-sending it.
    """

    def __init__(self, store: EventSink, client: Any | None = None) -> None:
        self.store = store
        self.client = client

    def emit(self, event: Any) -> str:
        """Store and send ``event`` (an openlineage-python RunEvent); return its JSON."""
        from lineage.events import to_json

        raw = to_json(event)
        self.store.ingest(raw)
        self._send(event)
        return raw

    def record_publication(self, event: Any, *, path: str, staged: str, sha256: str) -> int:
        """Store the COMPLETE ``event`` of a publication with its pending record; its id."""
        from lineage.events import to_json

        publication = self.store.record_publication(
            to_json(event), path=path, staged=staged, sha256=sha256
        )
        self._send(event)
        return publication

    def finish_publication(self, publication_id: int) -> None:
        """The published file is in place."""
        self.store.finish_publication(publication_id, "published")

    def _send(self, event: Any) -> None:
        if self.client is not None:
            try:
                self.client.emit(event)
            except Exception as exc:  # any transport error: the event is already stored
                log.warning(
                    "OpenLineage transport failed (%s); the event is kept in the store",
                    type(exc).__name__,
                )
