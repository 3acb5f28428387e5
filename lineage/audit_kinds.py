"""The kinds of audit record the lineage store derives from tagtrail's events.

``grant_changed`` records a privilege ``tagtrail grants --apply`` changed in the dataset warehouse.

A module of its own so that the command line can offer them without importing the store.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

AuditKind = Literal[
    "run_started",
    "run_completed",
    "run_failed",
    "control_failed",
    "control_warning",
    "gate_halted",
    "gate_warning",
    "flow_skipped",
    "retention_purge",
    "opt_out_exclusion",
    "dataset_destroyed",
    "dataset_archived",
    "grant_changed",
]
AUDIT_KINDS: Final[tuple[AuditKind, ...]] = get_args(AuditKind)
