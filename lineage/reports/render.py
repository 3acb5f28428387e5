"""The reports as JSON, CSV (one row a flow, lists joined by ``; ``) or a self-contained HTML page.

Every value is escaped for HTML; the page loads nothing from elsewhere.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from lineage.reports.ropa import RopaEntry
from lineage.reports.transparency import TransparencyReport

Format = Literal["csv", "json", "html"]
FORMATS: tuple[Format, ...] = ("csv", "json", "html")

_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1b1b}"
    "table{border-collapse:collapse;margin:0 0 2rem;width:100%}"
    "th,td{border:1px solid #c8c8c8;padding:.35rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0;width:16rem}h2{margin-top:2.5rem}"
)


def ropa_rows(entries: Sequence[RopaEntry]) -> list[dict[str, str]]:
    """One flat row a flow: the CSV and HTML form of the record."""
    return [
        {
            "flow": e.flow,
            "description": e.description,
            "controller": f"{e.controller.title} ({e.controller.department})",
            "controller contact": f"{e.controller.contact} <{e.controller.contact_email}>",
            "recipient": f"{e.recipient.title} ({e.recipient.department})",
            "recipient contact": f"{e.recipient.contact} <{e.recipient.contact_email}>",
            "purpose": e.purpose,
            "legal basis (Art. 6)": e.article_6,
            "Art. 9 condition": e.article_9 or "",
            "Art. 10 condition": e.article_10 or "",
            "statute": e.statute,
            "categories of data": "; ".join(
                f"{c.tag} ({', '.join((*c.gdpr, *(f'fideslang {f}' for f in c.fideslang)))})"
                for c in e.categories
            ),
            "columns by category": "; ".join(
                f"{c.tag}: {', '.join((*c.columns, *(f'selected by {s}' for s in c.selected_by)))}"
                for c in e.categories
            ),
            "identifiability": e.identifiability,
            "identified sharing": "yes" if e.identified_sharing else "no",
            "inputs": "; ".join(e.inputs),
            "output": e.output,
            "retention": f"{e.retention_period}, then {e.retention_disposal}",
            "safeguards": "; ".join(f"{s.control}: {s.description}" for s in e.safeguards),
            "agreement": f"{e.agreement_id}: {e.agreement_title}",
            "agreement parties": "; ".join(e.agreement_parties),
            "agreement dates": (
                f"from {e.agreement_start} to {e.agreement_end}, review by {e.agreement_review}"
            ),
        }
        for e in entries
    ]


def transparency_rows(report: TransparencyReport) -> list[dict[str, str]]:
    """One flat row a flow: the CSV and HTML form of the transparency report."""
    return [
        {
            "flow": f.flow,
            "from": f.sender,
            "to": f.recipient,
            "purpose": f.purpose,
            "agreement": f"{f.agreement_id}: {f.agreement_title}",
            "agreement in force": (
                f"{'yes' if f.agreement_in_force else 'no'} "
                f"({f.agreement_start} to {f.agreement_end})"
            ),
            "runs published": str(f.published),
            "runs held back": str(f.held_back),
            "halted by": "; ".join(f"{name} ({n})" for name, n in f.halted_by.items()),
            "opted-out rows excluded": str(f.opted_out_rows),
            "opted-out people excluded": str(f.opted_out_people),
        }
        for f in report.flows
    ]


def render_ropa(entries: Sequence[RopaEntry], fmt: Format) -> str:
    """The record of processing in ``fmt``."""
    if fmt == "json":
        return _json({"record_of_processing": [e.as_json() for e in entries]})
    rows = ropa_rows(entries)
    if fmt == "csv":
        return _csv(rows)
    return _page("Record of processing activities (GDPR Art. 30)", rows, "flow")


def render_transparency(report: TransparencyReport, fmt: Format) -> str:
    """The transparency report in ``fmt``."""
    if fmt == "json":
        return _json(report.as_json())
    rows = transparency_rows(report)
    if fmt == "csv":
        return _csv(rows)
    title = (
        f"Data sharing between departments of {report.estate}: "
        f"{report.since.isoformat()} to {report.until.isoformat()}"
    )
    return _page(title, rows, "flow")


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def _page(title: str, rows: list[dict[str, str]], heading: str) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for row in rows:
        parts.append(f'<h2 id="{html.escape(row[heading])}">{html.escape(row[heading])}</h2>')
        parts.append("<table>")
        parts.extend(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in row.items()
        )
        parts.append("</table>")
    if not rows:
        parts.append("<p>No flows are declared.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
