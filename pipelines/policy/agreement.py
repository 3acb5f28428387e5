"""Is the flow's data-sharing agreement in force for this flow, on the reference date?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from pipelines.estate import Estate
from pipelines.model import Flow, _close
from pipelines.policy.result import AGREEMENT_IN_FORCE, ControlResult, Severity
from pipelines.taxonomy import is_criminal, is_personal, is_special_category


def check_agreement(
    estate: Estate,
    flow: Flow,
    as_of: dt.date,
    output_tags: Mapping[str, Iterable[str]],
) -> ControlResult:
    """Check that ``flow``'s agreement exists and covers it on ``as_of``.

    The agreement must name both departments, have started and not ended, permit the flow's
    purpose and, when the output carries special-category or criminal data, give the Art. 9 or
    Art. 10 condition. A passed review date halts only if the agreement says ``review_overdue:
    halt``; otherwise it is reported as a warning.
    """
    agr = estate.agreements.get(flow.agreement)
    if agr is None:
        known = ", ".join(sorted(estate.agreements)) or "none"
        return ControlResult(
            control=AGREEMENT_IN_FORCE,
            passed=False,
            rule=f"flow '{flow.name}' must run under a declared agreement",
            summary=f"agreement '{flow.agreement}' is not declared{_close(flow.agreement, estate.agreements)}; "
            f"declared agreements: {known}",
            findings=(f"agreement '{flow.agreement}' is not declared",),
        )
    halting: list[str] = []
    warnings: list[str] = []
    counts: dict[str, int | str] = {}
    missing = [d for d in (flow.owner, flow.recipient) if d not in agr.parties]
    if missing:
        halting.append(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not a party "
            f"(parties: {', '.join(agr.parties)})"
        )
    if as_of < agr.start:
        counts["days_before_start"] = (agr.start - as_of).days
        halting.append(f"the agreement starts on {agr.start}")
    if as_of > agr.end:
        counts["days_past_end"] = (as_of - agr.end).days
        halting.append(f"the agreement ended on {agr.end}")
    if as_of > agr.review and as_of <= agr.end:
        counts["days_past_review"] = (as_of - agr.review).days
        text = f"the agreement was due for review on {agr.review}"
        (halting if agr.review_overdue == "halt" else warnings).append(text)
    if flow.purpose not in agr.purposes:
        halting.append(
            f"purpose '{flow.purpose}' is not permitted (permitted: {', '.join(agr.purposes)})"
        )
    tags = {t for ts in output_tags.values() for t in ts if is_personal(t)}
    special = sorted(t for t in tags if is_special_category(t))
    if special and agr.legal_basis.article_9 is None:
        halting.append(
            f"the output holds special-category data ({', '.join(special)}) but the agreement "
            "gives no Art. 9 condition (legal_basis.article_9)"
        )
    criminal = sorted(t for t in tags if is_criminal(t))
    if criminal and not agr.legal_basis.article_10:
        halting.append(
            "the output holds criminal-offence data but the agreement gives no Art. 10 "
            "authority (legal_basis.article_10)"
        )
    rule = (
        f"{agr.id}: between {', '.join(agr.parties)}, in force {agr.start} to {agr.end} "
        f"(review {agr.review}), purposes {', '.join(agr.purposes)}"
    )
    findings = (*halting, *warnings)
    severity: Severity = "error" if halting else "warn"
    summary = "; ".join(findings) if findings else f"in force on {as_of} for '{flow.purpose}'"
    counts["as_of"] = as_of.isoformat()
    return ControlResult(
        control=AGREEMENT_IN_FORCE,
        passed=not findings,
        rule=rule,
        summary=summary,
        severity=severity,
        findings=findings,
        counts=counts,
    )
