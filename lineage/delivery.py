"""Loss-free delivery: the lineage store is the outbox, sending happens off the data path.

A run only *stores* its events. Sending them to the transport OpenLineage's own configuration
names (``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG``, ``openlineage.yml``, ``OPENLINEAGE__*``)
happens afterwards, within a time budget: each send runs on a worker thread that is abandoned
when the budget is spent, so a backend that refuses, fails or never answers cannot hold the data
up. Events go out as stored (the same run id and event time every time, so a consumer can
recognise a repeat), oldest first; the first failure stops the pass so that a run's events stay
in order, and whatever was not delivered waits for the next pass (``tagtrail events send``, the
delivery sensor, or the end of the next run). A backend that rejects an event as malformed (HTTP
4xx other than 408 and 429) marks it ``rejected`` instead of blocking those behind it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

from lineage.emit import configured_client
from lineage.store import LineageStore, mask_url

DEFAULT_TIMEOUT_S: Final = 10.0


@dataclass
class DeliveryReport:
    """What one delivery pass did for one transport."""

    transport: str
    delivered: int = 0
    rejected: int = 0
    pending: int = 0
    error: str | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a terminal or a sensor's skip reason."""
        text = f"{self.delivered} event(s) delivered to {self.transport}"
        if self.rejected:
            text += f", {self.rejected} rejected"
        if self.pending:
            text += f"; {self.pending} waiting ({self.error or 'out of time'})"
        return text


def transport_of(client: Any) -> tuple[Any, str] | None:
    """The configured transport and a stable name for it (None when nothing is configured)."""
    if client is None:
        return None
    transport = client.transport
    config = getattr(transport, "config", None)
    target = next(
        (
            str(getattr(config, name))
            for name in ("url", "topic", "log_file_path")
            if getattr(config, name, None)
        ),
        "",
    )
    if target.startswith(("http://", "https://")):
        endpoint = getattr(config, "endpoint", "") or ""
        url = mask_url(target.rstrip("/")) + ("/" + endpoint.lstrip("/") if endpoint else "")
        return transport, url
    return transport, f"{transport.kind}:{target}" if target else str(transport.kind)


def deliver(
    store: LineageStore,
    *,
    budget_s: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    client: Any | None = None,
) -> DeliveryReport | None:
    """Send what is waiting for the configured transport, for at most ``budget_s`` seconds.

    Each send may take ``timeout_s`` at most. Returns None when no transport is configured.
    """
    found = transport_of(client if client is not None else configured_client())
    if found is None:
        return None
    transport, name = found
    report = DeliveryReport(name)
    deadline = None if budget_s is None else time.monotonic() + budget_s
    waiting = store.undelivered(name)
    for position, event in enumerate(waiting):
        left = timeout_s if deadline is None else min(timeout_s, deadline - time.monotonic())
        if left <= 0:
            report.pending = len(waiting) - position
            break
        earlier = _finish_earlier((store.url, name, event.id), left)
        if earlier is None:
            report.pending = len(waiting) - position
            report.error = "an earlier send of this event has not finished"
            break
        if earlier == "delivered":  # an abandoned send got through after all: not sent twice
            store.mark_delivery(event.id, name, delivered=True, error=None)
            report.delivered += 1
            continue
        outcome, error = _send(transport, json.loads(event.raw), left, (store.url, name, event.id))
        if outcome == "rejected":
            store.mark_delivery(event.id, name, delivered=False, error=error, rejected=True)
            report.rejected += 1
            continue
        store.mark_delivery(event.id, name, delivered=outcome == "delivered", error=error)
        if outcome != "delivered":
            report.pending, report.error = len(waiting) - position, error
            break
        report.delivered += 1
    return report


Outcome = tuple[str, str | None]
# Sends abandoned at their time limit may still be running (the transport's own retries): an
# event is never sent again while its earlier send might yet get through.
_IN_FLIGHT: dict[tuple[str, str, int], tuple[threading.Thread, list[Outcome]]] = {}


def _finish_earlier(key: tuple[str, str, int], timeout_s: float) -> str | None:
    """Wait up to ``timeout_s`` for an abandoned send of the event: ``delivered`` if it got
    through, ``send`` if there is none or it failed, None if it is still running."""
    earlier = _IN_FLIGHT.get(key)
    if earlier is None:
        return "send"
    worker, outcome = earlier
    worker.join(timeout_s)
    if worker.is_alive():
        return None
    del _IN_FLIGHT[key]
    return "delivered" if outcome and outcome[0][0] == "delivered" else "send"


def _send(
    transport: Any, event: dict[str, Any], timeout_s: float, key: tuple[str, str, int]
) -> Outcome:
    """``delivered``, ``rejected`` or ``failed`` (with why), waiting at most ``timeout_s``."""
    outcome: list[Outcome] = []

    def attempt() -> None:
        try:
            transport.emit(event)
            outcome.append(("delivered", None))
        except Exception as exc:  # any transport error: the event stays waiting
            status = getattr(getattr(exc, "response", None), "status_code", None)
            permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
            outcome.append(("rejected" if permanent else "failed", _why(exc)))

    worker = threading.Thread(target=attempt, name="openlineage-delivery", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        _IN_FLIGHT[key] = (worker, outcome)
        return "failed", f"no answer within {timeout_s:.1f} s"
    return outcome[0]


def _why(exc: Exception) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
