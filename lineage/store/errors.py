"""Errors the lineage store raises, each carrying what a command line needs to explain it."""

from __future__ import annotations

URL_VARIABLE = "TAGTRAIL_LINEAGE_URL"


class StoreError(Exception):
    """The database behind the store could not be opened or used.

    ``transient`` is True when retrying later may succeed (connection refused, timeout, lock or
    deadlock) and False when the configuration must change (bad URL, unknown driver, no such
    database, authentication failure, a schema from a newer tagtrail).
    """

    def __init__(self, message: str, *, url: str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.transient = transient


class InvalidEventError(ValueError):
    """The input is not an OpenLineage RunEvent the store can index (not JSON, fields missing)."""


class UnknownNameError(LookupError):
    """A dataset or column name the store has never seen, with the closest names it knows."""

    def __init__(self, kind: str, name: str, close_matches: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.close_matches = list(close_matches)
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"unknown {self.kind} {self.name!r}"
        if self.close_matches:
            text += "; did you mean " + ", ".join(repr(m) for m in self.close_matches) + "?"
        return text

    def __str__(self) -> str:
        return self._message()


class AmbiguousNameError(UnknownNameError):
    """A bare dataset name that exists in several namespaces; ``close_matches`` are the qualified
    names (``namespace/name``) to choose from."""

    def _message(self) -> str:
        choices = ", ".join(repr(m) for m in self.close_matches)
        return f"{self.kind} {self.name!r} exists in several namespaces; use one of {choices}"
