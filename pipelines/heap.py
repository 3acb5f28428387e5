"""Building many long-lived objects without CPython's full collections scanning them again and
again (an estate's declarations, a batch of parsed lineage events)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_lock = threading.Lock()
_gc_users = 0
_gc_oldest = 10


@contextmanager
def young_collections_only() -> Iterator[None]:
    """Leave out CPython's automatic full collections while many long-lived objects are built.

    A full collection scans the whole heap each time a quarter more objects have survived:
    loading 1,000 flows and building their definitions would scan a million objects two or
    three times, and so would parsing a batch of 500 lineage events. Young garbage is still
    collected; the next full collection runs when due after.
    """
    global _gc_users, _gc_oldest
    with _gc_lock:
        if _gc_users == 0:
            young, middle, _gc_oldest = gc.get_threshold()
            gc.set_threshold(young, middle, max(_gc_oldest, 1_000_000))
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                young, middle, _ = gc.get_threshold()
                gc.set_threshold(young, middle, _gc_oldest)
