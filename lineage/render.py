"""Plain-text views of the lineage store for the command line: traces and tag explanations."""

from __future__ import annotations

from collections.abc import Sequence

from lineage.store.records import ColumnRecord, DatasetRecord, Hop, TagRecord


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
        return f"{', '.join(before) or 'untagged'} (shapes every row; not copied into a column)"
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
