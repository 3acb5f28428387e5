"""The parsed events of runs, for rebuilding datasets: a batch's new events come from memory,
older events of the same runs are read from the ``events`` table once and parsed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lineage.store import jsontext
from lineage.store.models import Event
from lineage.store.parse import DatasetRef, DatasetView, ParsedEvent, Role, merge_datasets
from lineage.store.sql import chunks

_Entry = tuple[datetime, int, dict[str, Any]]


class RunDocuments:
    """Every event of the runs asked for, in ``(event_time, id)`` order, parsed at most once."""

    def __init__(self, session: Session, new: Sequence[tuple[int, ParsedEvent]] = ()) -> None:
        self._session = session
        self._new: dict[str, dict[int, _Entry]] = {}
        for event_id, event in new:
            runs = self._new.setdefault(event.run_id, {})
            runs[event_id] = (event.event_time, event_id, event.document)
        self._runs: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[tuple[str, Role], dict[DatasetRef, DatasetView]] = {}

    def prefetch(self, run_ids: Iterable[str]) -> None:
        """Load the runs not loaded yet: ids and times in one query, raw text only for events
        this batch does not hold already."""
        wanted = sorted({r for r in run_ids if r not in self._runs})
        entries: dict[str, list[_Entry]] = {r: [] for r in wanted}
        missing: dict[int, tuple[str, datetime]] = {}
        for part in chunks(wanted):
            query = select(Event.id, Event.run_id, Event.event_time).where(Event.run_id.in_(part))
            for event_id, run_id, at in self._session.execute(query):
                known = self._new.get(run_id, {}).get(event_id)
                if known is not None:
                    entries[run_id].append(known)
                else:
                    missing[event_id] = (run_id, at)
        for ids in chunks(sorted(missing)):
            raws = select(Event.id, Event.raw).where(Event.id.in_(ids))
            for event_id, raw in self._session.execute(raws):
                run_id, at = missing[event_id]
                entries[run_id].append((at, event_id, jsontext.loads(raw)))
        for run_id, found in entries.items():
            found.sort(key=lambda entry: (entry[0], entry[1]))
            self._runs[run_id] = [document for _, _, document in found]

    def view(self, run_id: str, ref: DatasetRef, role: Role) -> DatasetView | None:
        """The dataset as the run's events describe it in ``role``, facets merged in order."""
        key = (run_id, role)
        if key not in self._views:
            self.prefetch([run_id])
            self._views[key] = merge_datasets(self._runs[run_id], role)
        return self._views[key].get(ref)
