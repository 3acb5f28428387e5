"""Exit codes and the one error every command may raise for a user's mistake."""

from __future__ import annotations

EXIT_OK = 0
EXIT_HALTED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake in how tagtrail was called or configured: reported without a traceback."""
