"""Plain-text views of the lineage store for the command line: traces, tags and audit records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineage.store.records import AuditRecord, ColumnRecord, DatasetRecord, Hop, TagRecord

AUDIT_COLUMNS = (
    "time (UTC)",
    "kind",
    "dataset",
    "department",
    "agreement",
    "purpose",
    "launched by",
    "what",
)


def _where(dataset: str, column: str | None, department: str | None) -> str:
    name = f"{dataset}.{column}" if column else dataset
    return f"{department}/{name}" if department else name


def _names(tags: Sequence[TagRecord]) -> list[str]:
    return sorted(dict.fromkeys(t.tag for t in tags))


def _rules(tags: Sequence[TagRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for t in tags:
        for a in t.attributions:
            if a.rules:
                seen[a.rules[-1]] = None
    return list(seen)


def tag_change(hop: Hop) -> str:
    """``person.id.direct -> person.id.pseudonymous (keyed_hash_pseudonymises)`` or ``unchanged``."""
    before, after = _names(hop.from_tags), _names(hop.tags)
    if hop.to_column is None and hop.from_column is not None:
        what = ", ".join(before) or "untagged"
        return (
            f"{what} decides which rows {hop.to_dataset} holds; no column of it copies the "
            f"values, but the selection itself discloses {what}"
            if before
            else f"untagged; decides which rows {hop.to_dataset} holds (no column copies it)"
        )
    if before == after:
        return f"{', '.join(after) or 'untagged'} (unchanged)"
    rules = [r for r in _rules(hop.tags) if r not in ("declared", "carry")]
    why = f" by rule {', '.join(rules)}" if rules else ""
    return f"{', '.join(before) or 'untagged'} -> {', '.join(after) or 'untagged'}{why}"


def render_trace(start: str, direction: str, hops: Sequence[Hop]) -> str:
    """Hop by hop: where the data went (or came from), under what terms, and its tags at each step."""
    if not hops:
        return f"{start}: no {direction} lineage recorded (has the demo run? `tagtrail demo`)"
    lines = [f"{direction} lineage of {start}: {len(hops)} hop(s)", ""]
    for hop in hops:
        t = hop.transformation
        how = (
            f"{t.type or '?'} {t.subtype or ''}".strip()
            + (" (masking)" if t.masking else "")
            + (f": {t.description}" if t.description else "")
            if t
            else "not recorded"
        )
        lines += [
            f"hop {hop.depth}: {_where(hop.from_dataset, hop.from_column, hop.from_department)}"
            f" -> {_where(hop.to_dataset, hop.to_column, hop.department)}",
            f"    job {hop.job}; agreement {hop.agreement_id or 'none'}; purpose {hop.purpose or 'none'}",
            f"    legal basis: {hop.legal_basis or 'none declared (held by its owner)'}",
            f"    transformation: {how}",
            f"    tags: {tag_change(hop)}",
        ]
    return "\n".join(lines)


def render_tags(dataset: DatasetRecord, columns: Sequence[ColumnRecord]) -> str:
    """Each column's tags and why it has them (origin, path and rules)."""
    agreement = dataset.agreement.id if dataset.agreement else "none (held by its owner)"
    lines = [
        f"{dataset.name} ({dataset.department}; {dataset.identifiability or 'unknown'})",
        f"  agreement {agreement}; purpose {dataset.purpose or 'n/a'}; retention {dataset.retention or 'n/a'}",
        f"  legal basis: {dataset.legal_basis or 'none declared (held by its owner)'}",
        "",
    ]
    for col in columns:
        if not col.tags:
            lines.append(f"  {col.name}: untagged")
            continue
        for tag in col.tags:
            lines.append(f"  {col.name}: {tag.tag}")
            for a in tag.attributions:
                origin = f"{a.origin_dataset}.{a.origin_column} ({a.origin_tag})"
                lines.append(
                    f"      from {origin} via {' -> '.join(a.path)}; rules {' -> '.join(a.rules)}"
                )
    return "\n".join(lines)


def render_audit(records: Sequence[AuditRecord]) -> str:
    """Audit records as a plain-text table, one line each, with a one-line summary of details."""
    if not records:
        return "no audit records match"
    rows = [
        (
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.dataset,
            r.department,
            r.agreement or "-",
            r.purpose or "-",
            _launcher(r),
            audit_summary(r),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [AUDIT_COLUMNS, *rows]) for i in range(len(AUDIT_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [AUDIT_COLUMNS, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _launcher(record: AuditRecord) -> str:
    """``alice`` when observed as claimed, else ``alice (observed svc-etl)``."""
    claimed = record.launched_by or "-"
    if record.observed_by and record.observed_by != record.launched_by:
        return f"{claimed} (observed {record.observed_by})"
    return claimed


def _short(value: Any, length: int = 8) -> str:
    text = str(value) if value is not None else "?"
    return text if len(text) <= length else text[:length] + "\u2026"


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"


def audit_summary(record: AuditRecord) -> str:
    """What an audit record says, in one line (``purged 12 rows (keys sha256 ab12cd34…)``)."""
    d = record.details
    if record.kind == "run_started":
        via = f" via {d['launchedVia']}" if d.get("launchedVia") else ""
        return f"started{via} (dagster run {_short(record.dagster_run_id)})"
    if record.kind in ("run_completed", "run_failed"):
        text = "completed" if record.kind == "run_completed" else "failed"
        if d.get("outputRows") is not None:
            text += f", {_number(d['outputRows'])} rows"
        if d.get("errorMessage"):
            text += f": {' '.join(str(d['errorMessage']).split())}"
        notes = [
            f"{label}: {', '.join(map(str, d[key]))}"
            for key, label in (("failedControls", "controls failed"), ("notEvaluated", "not run"))
            if d.get(key)
        ]
        return text + (f" ({'; '.join(notes)})" if notes else "")
    if record.kind in ("control_failed", "control_warning"):
        severity = (
            "" if d.get("severity") == "error" else f" ({d.get('severity') or 'no severity'})"
        )
        summary = f": {d['summary']}" if d.get("summary") else ""
        verb = "failed" if record.kind == "control_failed" else "warned"
        return f"{d.get('control', '?')} {verb}{severity}{summary}"
    if record.kind in ("gate_halted", "gate_warning"):
        found = [e for e in d.get("expectations") or [] if isinstance(e, dict)]
        verb = "halted by" if record.kind == "gate_halted" else "warned on"
        return f"quality gate {verb} {len(found)} expectation(s): " + "; ".join(
            f"{e.get('description') or e.get('assertion')} ({e.get('actual', '?')})" for e in found
        )
    if record.kind == "flow_skipped":
        upstream = [u for u in d.get("skippedBecause") or [] if isinstance(u, dict)]
        return "not run: upstream " + ", ".join(
            f"{u.get('dataset', '?')} ({u.get('status', '?')})" for u in upstream
        )
    if record.kind == "retention_purge":
        cutoff = f" dated before {d['cutoff']}" if d.get("cutoff") else ""
        return (
            f"purged {_number(d.get('purged'))} rows{cutoff} "
            f"(keys sha256 {_short(d.get('purgedKeysSha256'))})"
        )
    if record.kind == "opt_out_exclusion":
        return (
            f"excluded {_number(d.get('excluded'))} of register {d.get('register', '?')} "
            f"v{_short(d.get('registerVersion'))} ({_number(d.get('registerSize'))} people)"
        )
    if record.kind in ("dataset_destroyed", "dataset_archived"):
        where = f" to {d['archivedTo']}" if d.get("archivedTo") else ""
        return (
            f"{record.kind.removeprefix('dataset_')} {_number(d.get('rows'))} rows{where} "
            f"(keys sha256 {_short(d.get('keysSha256'))}): {d.get('reason', '?')}"
        )
    if record.kind == "grant_changed":
        return f"{d.get('statement', '?')} ({d.get('reason', '?')}; as of {d.get('asOf', '?')})"
    return ", ".join(f"{key}={value}" for key, value in d.items())
